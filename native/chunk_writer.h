#ifndef SLUICE_CHUNK_WRITER_H
#define SLUICE_CHUNK_WRITER_H

// Pure C++ (no Node-API): one RTMP message into its chunks. The addon's encodeChunks and the
// load generator share it.
#include <cstddef>
#include <cstdint>

namespace sluice {

// Size of `payload_len` bytes as chunks of `chunk_size` with a type-0 first header.
size_t ChunkedSize(uint32_t csid, uint32_t timestamp, size_t payload_len, uint32_t chunk_size);

// Writes the chunks into `out` (ChunkedSize bytes): a type-0 header with the absolute
// timestamp, then type-3 continuation headers (extended timestamp repeated on each).
void WriteChunks(uint8_t* out, uint32_t csid, uint8_t type, uint32_t stream_id, uint32_t timestamp,
                 const uint8_t* payload, size_t payload_len, uint32_t chunk_size);

}  // namespace sluice

#endif
