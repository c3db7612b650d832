#ifndef SLUICE_CHUNK_DECODER_H
#define SLUICE_CHUNK_DECODER_H

#include <napi.h>

namespace sluice {
void InitChunkDecoder(Napi::Env env, Napi::Object exports);
}

#endif
