#ifndef SLUICE_CHUNK_ENCODER_H
#define SLUICE_CHUNK_ENCODER_H

#include <napi.h>

namespace sluice {
// Registers encodeChunks, a wrapper of WriteChunks (chunk_writer.h).
void InitChunkEncoder(Napi::Env env, Napi::Object exports);
}

#endif
