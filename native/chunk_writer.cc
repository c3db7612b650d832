// RTMP chunk encoder (RTMP spec 5.3): one message into its chunks, made once and shared by
// every player of a stream. Media uses type-0 headers with absolute timestamps, so the
// bytes do not depend on what a player received before.
#include "chunk_writer.h"

#include <cstring>

namespace sluice {

namespace {

inline size_t BasicHeaderSize(uint32_t csid) { return csid < 64 ? 1 : csid < 320 ? 2 : 3; }

inline uint8_t* WriteBasicHeader(uint8_t* p, unsigned fmt, uint32_t csid) {
  if (csid < 64) {
    *p++ = uint8_t((fmt << 6) | csid);
  } else if (csid < 320) {
    *p++ = uint8_t(fmt << 6);
    *p++ = uint8_t(csid - 64);
  } else {
    *p++ = uint8_t((fmt << 6) | 1);
    *p++ = uint8_t((csid - 64) & 0xff);
    *p++ = uint8_t((csid - 64) >> 8);
  }
  return p;
}

inline uint8_t* WriteBe32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
  return p + 4;
}

}  // namespace

size_t ChunkedSize(uint32_t csid, uint32_t timestamp, size_t payload_len, uint32_t chunk_size) {
  const size_t basic = BasicHeaderSize(csid);
  const size_t ext = timestamp >= 0xFFFFFF ? 4 : 0;
  const size_t chunks = payload_len == 0 ? 1 : (payload_len + chunk_size - 1) / chunk_size;
  return basic + 11 + ext + payload_len + (chunks - 1) * (basic + ext);
}

void WriteChunks(uint8_t* out, uint32_t csid, uint8_t type, uint32_t stream_id, uint32_t timestamp,
                 const uint8_t* payload, size_t payload_len, uint32_t chunk_size) {
  const bool ext = timestamp >= 0xFFFFFF;
  uint8_t* p = WriteBasicHeader(out, 0, csid);
  const uint32_t ts_field = ext ? 0xFFFFFF : timestamp;
  *p++ = uint8_t(ts_field >> 16);
  *p++ = uint8_t(ts_field >> 8);
  *p++ = uint8_t(ts_field);
  *p++ = uint8_t(payload_len >> 16);
  *p++ = uint8_t(payload_len >> 8);
  *p++ = uint8_t(payload_len);
  *p++ = type;
  // Message stream id is little-endian (5.3.1.2.1).
  *p++ = uint8_t(stream_id);
  *p++ = uint8_t(stream_id >> 8);
  *p++ = uint8_t(stream_id >> 16);
  *p++ = uint8_t(stream_id >> 24);
  if (ext) p = WriteBe32(p, timestamp);
  size_t off = 0;
  for (;;) {
    const size_t n = payload_len - off < chunk_size ? payload_len - off : chunk_size;
    std::memcpy(p, payload + off, n);
    p += n;
    off += n;
    if (off >= payload_len) break;
    // Type-3 continuation; the extended timestamp is repeated (5.3.1.3), which ffmpeg,
    // librtmp and Flash expect.
    p = WriteBasicHeader(p, 3, csid);
    if (ext) p = WriteBe32(p, timestamp);
  }
}

}  // namespace sluice
