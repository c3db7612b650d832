// The JS face of the chunk writer: encodeChunks(csid, type, streamId, timestamp, payload,
// chunkSize) -> one Buffer holding the message's chunks, shared by every player.
#include "chunk_encoder.h"

#include "chunk_writer.h"
#include "napi_error.h"

namespace sluice {

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
