#ifndef SLUICE_HANDSHAKE_H
#define SLUICE_HANDSHAKE_H

#include <napi.h>

namespace sluice {
void InitHandshake(Napi::Env env, Napi::Object exports);
}

#endif
