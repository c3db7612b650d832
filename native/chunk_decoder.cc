#include "chunk_decoder.h"

namespace sluice {
void InitChunkDecoder(Napi::Env env, Napi::Object exports) {}
}  // namespace sluice
