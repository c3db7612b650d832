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
    Napi::Array result = Napi::Array::New(env, messages_.size());
    for (size_t i = 0; i < messages_.size(); ++i) {
      DecodedMessage& m = messages_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("csid", Napi::Number::New(env, m.csid));
      o.Set("type", Napi::Number::New(env, m.type));
      o.Set("streamId", Napi::Number::New(env, m.stream_id));
      o.Set("timestamp", Napi::Number::New(env, m.timestamp));
      o.Set("payload", Napi::Buffer<uint8_t>::Copy(env, m.payload.data(), m.payload.size()));
      result.Set(uint32_t(i), o);
    }
    messages_.clear();
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
