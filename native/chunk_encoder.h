#ifndef SLUICE_CHUNK_ENCODER_H
#define SLUICE_CHUNK_ENCODER_H

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace sluice {

void InitChunkEncoder(Napi::Env env, Napi::Object exports);

// Size of `payload_len` bytes as chunks of `chunk_size` with a type-0 first header.
size_t ChunkedSize(uint32_t csid, uint32_t timestamp, size_t payload_len, uint32_t chunk_size);

// Writes the chunks into `out` (ChunkedSize bytes). Pure, so the fuzzer and tests share it.
void WriteChunks(uint8_t* out, uint32_t csid, uint8_t type, uint32_t stream_id, uint32_t timestamp,
                 const uint8_t* payload, size_t payload_len, uint32_t chunk_size);

}  // namespace sluice

#endif
