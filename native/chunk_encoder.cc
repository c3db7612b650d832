// RTMP chunk encoder (RTMP spec 5.3): one message into its chunks, made once and shared by
// every player of a stream. Media uses type-0 headers with absolute timestamps, so the
// bytes do not depend on what a player received before.
#include "chunk_encoder.h"

#include <cstring>

#include "napi_error.h"

namespace sluice {

namespace {

inline size_t BasicHeaderSize(uint32_t csid) { return csid < 64 ? 1 : csid < 320 ? 2 : 3; }

inline uint8_t* WriteBasicHeader(uint8_t* p, unsigned fmt, uint32_t csid) {
  if (csid < 64) {
    *p++ = uint8_t((fmt << 6) | csid);
  } else if (csid < 320) {
    *p++ = uint8_t(fmt << 6);
    *p++ = uint8_t(csid - 64);
  } else {
    *p++ = uint8_t((fmt << 6) | 1);
    *p++ = uint8_t((csid - 64) & 0xff);
    *p++ = uint8_t((csid - 64) >> 8);
  }
  return p;
}

inline uint8_t* WriteBe32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
  return p + 4;
}

}  // namespace

size_t ChunkedSize(uint32_t csid, uint32_t timestamp, size_t payload_len, uint32_t chunk_size) {
  const size_t basic = BasicHeaderSize(csid);
  const size_t ext = timestamp >= 0xFFFFFF ? 4 : 0;
  const size_t chunks = payload_len == 0 ? 1 : (payload_len + chunk_size - 1) / chunk_size;
  return basic + 11 + ext + payload_len + (chunks - 1) * (basic + ext);
}

void WriteChunks(uint8_t* out, uint32_t csid, uint8_t type, uint32_t stream_id, uint32_t timestamp,
                 const uint8_t* payload, size_t payload_len, uint32_t chunk_size) {
  const bool ext = timestamp >= 0xFFFFFF;
  uint8_t* p = WriteBasicHeader(out, 0, csid);
  const uint32_t ts_field = ext ? 0xFFFFFF : timestamp;
  *p++ = uint8_t(ts_field >> 16);
  *p++ = uint8_t(ts_field >> 8);
  *p++ = uint8_t(ts_field);
  *p++ = uint8_t(payload_len >> 16);
  *p++ = uint8_t(payload_len >> 8);
  *p++ = uint8_t(payload_len);
  *p++ = type;
  // Message stream id is little-endian (5.3.1.2.1).
  *p++ = uint8_t(stream_id);
  *p++ = uint8_t(stream_id >> 8);
  *p++ = uint8_t(stream_id >> 16);
  *p++ = uint8_t(stream_id >> 24);
  if (ext) p = WriteBe32(p, timestamp);
  size_t off = 0;
  for (;;) {
    const size_t n = payload_len - off < chunk_size ? payload_len - off : chunk_size;
    std::memcpy(p, payload + off, n);
    p += n;
    off += n;
    if (off >= payload_len) break;
    // Type-3 continuation; the extended timestamp is repeated (5.3.1.3), which ffmpeg,
    // librtmp and Flash expect.
    p = WriteBasicHeader(p, 3, csid);
    if (ext) p = WriteBe32(p, timestamp);
  }
}

namespace {

Napi::Value EncodeChunks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !info[3].IsNumber() || !info[4].IsBuffer() || !info[5].IsNumber()) {
    Napi::TypeError::New(env, "encodeChunks(csid, type, streamId, timestamp, payload, chunkSize)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t csid = info[0].As<Napi::Number>().Int64Value();
  const int64_t type = info[1].As<Napi::Number>().Int64Value();
  const uint32_t stream_id = info[2].As<Napi::Number>().Uint32Value();
  const uint32_t timestamp = info[3].As<Napi::Number>().Uint32Value();
  auto payload = info[4].As<Napi::Buffer<uint8_t>>();
  const int64_t chunk_size = info[5].As<Napi::Number>().Int64Value();
  if (csid < 2 || csid > 65599) return ThrowCoded(env, "ERR_RTMP_CHUNK_STREAM", "chunk stream id must be 2..65599");
  if (type < 0 || type > 255) return ThrowCoded(env, "ERR_RTMP_CHUNK_STREAM", "message type must be 0..255");
  if (chunk_size < 1 || chunk_size > 0x7FFFFFFF) {
    return ThrowCoded(env, "ERR_RTMP_CHUNK_SIZE", "chunk size must be 1..2147483647");
  }
  if (payload.Length() > 0xFFFFFF) {
    return ThrowCoded(env, "ERR_RTMP_MESSAGE_TOO_LARGE", "a message payload is at most 16777215 bytes");
  }
  const size_t size = ChunkedSize(uint32_t(csid), timestamp, payload.Length(), uint32_t(chunk_size));
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, size);
  WriteChunks(out.Data(), uint32_t(csid), uint8_t(type), stream_id, timestamp, payload.Data(), payload.Length(),
              uint32_t(chunk_size));
  return out;
}

}  // namespace

void InitChunkEncoder(Napi::Env env, Napi::Object exports) {
  exports.Set("encodeChunks", Napi::Function::New(env, EncodeChunks, "encodeChunks"));
}

}  // namespace sluice
