#ifndef SLUICE_CHUNK_DECODER_H
#define SLUICE_CHUNK_DECODER_H

#include <napi.h>

namespace sluice {
// Registers the JS class ChunkDecoder, a wrapper of ChunkParser (chunk_parser.h).
void InitChunkDecoder(Napi::Env env, Napi::Object exports);
}

#endif
