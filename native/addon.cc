// Registration only: each component adds its functions and classes to `exports`.
#include <napi.h>

#include "chunk_decoder.h"
#include "chunk_encoder.h"
#include "fanout.h"
#include "handshake.h"
#include "ts_muxer.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  sluice::InitHandshake(env, exports);
  sluice::InitChunkDecoder(env, exports);
  sluice::InitChunkEncoder(env, exports);
  sluice::InitFanout(env, exports);
  sluice::InitTsMuxer(env, exports);
  return exports;
}

NODE_API_MODULE(sluice, Init)
