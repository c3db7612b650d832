// The JS face of the chunk parser: ChunkDecoder.push(Buffer) -> whole messages.
#include "chunk_decoder.h"

#include "chunk_parser.h"
#include "napi_error.h"

namespace sluice {

namespace {

class ChunkDecoder : public Napi::ObjectWrap<ChunkDecoder> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ChunkDecoder",
                       {InstanceMethod<&ChunkDecoder::Push>("push"),
                        InstanceAccessor<&ChunkDecoder::GetChunkSize>("chunkSize")});
  }

  explicit ChunkDecoder(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<ChunkDecoder>(info), parser_(Limit(info, 0, 8u << 20), Limit(info, 1, 64)) {}

 private:
  static uint32_t Limit(const Napi::CallbackInfo& info, size_t i, uint32_t fallback) {
    if (info.Length() > i && info[i].IsNumber()) {
      const int64_t v = info[i].As<Napi::Number>().Int64Value();
      if (v > 0 && v <= 0x7FFFFFFF) return uint32_t(v);
    }
    return fallback;
  }

  Napi::Value Push(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsBuffer()) {
      Napi::TypeError::New(env, "ChunkDecoder.push expects a Buffer").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    messages_.clear();
    if (!parser_.Feed(buf.Data(), buf.Length(), messages_)) {
      return ThrowCoded(env, parser_.error_code(), parser_.error_message());
    }
    const size_t n = messages_.size();
    if (n == 0) return env.Undefined();
    // One Buffer with every payload back to back and one Uint32Array of headers (csid,
    // type, stream id, timestamp, length per message): two allocations per read, not two
    // per message. The JS side (src/native/index.ts) cuts the payloads out as views.
    const std::vector<uint8_t>& arena = parser_.arena();
    Napi::Buffer<uint8_t> payloads = Napi::Buffer<uint8_t>::Copy(env, arena.data(), arena.size());
    Napi::Uint32Array meta = Napi::Uint32Array::New(env, n * 5);
    uint32_t* h = meta.Data();
    for (size_t i = 0; i < n; ++i) {
      const DecodedMessage& m = messages_[i];
      h[i * 5] = m.csid;
      h[i * 5 + 1] = m.type;
      h[i * 5 + 2] = m.stream_id;
      h[i * 5 + 3] = m.timestamp;
      h[i * 5 + 4] = m.size;
    }
    messages_.clear();
    Napi::Array result = Napi::Array::New(env, 2);
    result.Set(uint32_t(0), payloads);
    result.Set(uint32_t(1), meta);
    return result;
  }

  Napi::Value GetChunkSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), parser_.chunk_size());
  }

  ChunkParser parser_;
  std::vector<DecodedMessage> messages_;
};

}  // namespace

void InitChunkDecoder(Napi::Env env, Napi::Object exports) {
  exports.Set("ChunkDecoder", ChunkDecoder::Define(env));
}

}  // namespace sluice
