#ifndef SLUICE_FANOUT_H
#define SLUICE_FANOUT_H

#include <napi.h>

namespace sluice {
// Registers writevFd: one writev(2) of many shared Buffers to a player's socket.
void InitFanout(Napi::Env env, Napi::Object exports);
}

#endif
