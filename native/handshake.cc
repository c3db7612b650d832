#include "handshake.h"

namespace sluice {
void InitHandshake(Napi::Env env, Napi::Object exports) {}
}  // namespace sluice
