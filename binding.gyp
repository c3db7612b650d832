{
  "targets": [
    {
      "target_name": "sluice",
      "sources": [
        "native/addon.cc",
        "native/sha256.cc",
        "native/handshake.cc",
        "native/chunk_parser.cc",
        "native/chunk_decoder.cc",
        "native/chunk_writer.cc",
        "native/chunk_encoder.cc",
        "native/fanout.cc",
        "native/ts_muxer.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti", "-std=gnu++1y", "-std=gnu++17"]
    },
    {
      "target_name": "sluice_load",
      "type": "executable",
      "sources": [
        "native/load/main.cc",
        "native/load/player.cc",
        "native/load/report.cc",
        "native/load/amf0.cc",
        "native/load/http_flv.cc",
        "native/chunk_writer.cc",
        "native/chunk_parser.cc"
      ],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti", "-std=gnu++1y", "-std=gnu++17"],
      "ldflags!": ["-rdynamic"]
    }
  ]
}
