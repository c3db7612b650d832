#include "chunk_encoder.h"

namespace sluice {
void InitChunkEncoder(Napi::Env env, Napi::Object exports) {}
}  // namespace sluice
