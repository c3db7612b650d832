// RTMP chunk stream decoder (RTMP spec 5.3): bytes from a publisher's socket, in pieces
// of any size, become whole messages. Runs on every byte a publisher sends.
#include "chunk_parser.h"

#include <algorithm>
#include <cstring>

namespace sluice {

namespace {

constexpr size_t kMaxHeader = 18;  // 3 basic + 11 message header + 4 extended timestamp
constexpr uint32_t kExtendedMarker = 0xFFFFFF;
constexpr int kMessageHeaderSize[4] = {11, 7, 3, 0};

inline uint32_t Be24(const uint8_t* p) { return (uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | p[2]; }
inline uint32_t Be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
inline uint32_t Le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

}  // namespace

bool ChunkParser::Fail(const char* code, std::string message) {
  error_code_ = code;
  error_message_ = std::move(message);
  return false;
}

long ChunkParser::ParseHeader(const uint8_t* p, size_t len) {
  // Basic header (5.3.1.1): 1, 2 or 3 bytes by the csid's size.
  if (len < 1) return 0;
  const unsigned fmt = p[0] >> 6;
  uint32_t csid = p[0] & 0x3f;
  size_t pos = 1;
  if (csid == 0) {
    if (len < 2) return 0;
    csid = 64 + p[1];
    pos = 2;
  } else if (csid == 1) {
    if (len < 3) return 0;
    csid = 64 + p[1] + (uint32_t(p[2]) << 8);
    pos = 3;
  }
  const size_t mh = kMessageHeaderSize[fmt];
  if (len < pos + mh) return 0;

  auto it = streams_.find(csid);
  ChunkStream* cs = it == streams_.end() ? nullptr : &it->second;
  const bool fresh = cs == nullptr || !cs->has_header;
  // 5.3.1.2.1: a chunk stream starts with type 0. Some encoders start with type 1 (as SRS
  // tolerates: the stream id is then 0); 2 and 3 have nothing to inherit from.
  if (fresh && fmt >= 2) {
    Fail("ERR_RTMP_CHUNK_STREAM", "chunk stream " + std::to_string(csid) + " starts with a fmt " +
                                      std::to_string(fmt) + " header, which has no previous header to inherit");
    return -1;
  }
  if (cs != nullptr && cs->received > 0 && fmt != 3) {
    Fail("ERR_RTMP_CHUNK_STREAM", "chunk stream " + std::to_string(csid) + " got a fmt " + std::to_string(fmt) +
                                      " header in the middle of a message (" + std::to_string(cs->received) + " of " +
                                      std::to_string(cs->length) + " bytes)");
    return -1;
  }

  const uint8_t* q = p + pos;
  uint32_t ts_field = 0;
  uint32_t length = cs ? cs->length : 0;
  uint8_t type = cs ? cs->type : 0;
  uint32_t stream_id = cs ? cs->stream_id : 0;
  if (fmt <= 2) ts_field = Be24(q);
  if (fmt <= 1) {
    length = Be24(q + 3);
    type = q[6];
  }
  if (fmt == 0) stream_id = Le32(q + 7);
  pos += mh;

  bool extended = false;
  uint32_t ext_value = 0;
  if (fmt <= 2) {
    extended = ts_field == kExtendedMarker;
    if (extended) {
      if (len < pos + 4) return 0;
      ext_value = Be32(p + pos);
      pos += 4;
    }
  } else if (cs->extended) {
    // 5.3.1.3: the extended timestamp follows type-3 chunks too when the last header had
    // one. ffmpeg and librtmp send it; some encoders (older FMLE, some hardware) do not.
    // As SRS and ffmpeg do, take the 4 bytes only when they repeat the value we have.
    if (len < pos + 4) return 0;
    if (Be32(p + pos) == cs->ext_value) {
      pos += 4;
    }
  }

  // The header is complete: commit it to the chunk stream.
  if (cs == nullptr) {
    if (streams_.size() >= max_chunk_streams_) {
      Fail("ERR_RTMP_CHUNK_LIMIT", "more than " + std::to_string(max_chunk_streams_) + " chunk streams in use");
      return -1;
    }
    cs = &streams_[csid];
  }
  if (fmt <= 2) {
    const uint32_t value = extended ? ext_value : ts_field;
    cs->extended = extended;
    cs->ext_value = ext_value;
    // A type-3 chunk that starts a message repeats this header's timestamp field as its
    // delta (5.3.1.2.4): the absolute value after type 0, the delta after type 1 or 2.
    cs->delta = value;
    cs->timestamp = fmt == 0 ? value : cs->timestamp + value;  // 32-bit wrap is intended
    cs->length = length;
    cs->type = type;
    cs->stream_id = stream_id;
    cs->has_header = true;
  } else if (cs->received == 0) {
    cs->timestamp += cs->delta;
  }

  if (cs->received == 0) {
    if (cs->length > max_message_size_) {
      Fail("ERR_RTMP_MESSAGE_TOO_LARGE", "message of " + std::to_string(cs->length) + " bytes (type " +
                                             std::to_string(cs->type) + ") exceeds the limit of " +
                                             std::to_string(max_message_size_));
      return -1;
    }
    // Grow with what arrives, not with what the header claims: a peer that announces a
    // large message and sends nothing costs nothing.
    cs->payload.clear();
    if (cs->payload.capacity() < cs->length) cs->payload.reserve(std::min<uint32_t>(cs->length, 65536));
  }
  current_ = cs;
  current_csid_ = csid;
  chunk_remaining_ = std::min(chunk_size_, cs->length - cs->received);
  return long(pos);
}

bool ChunkParser::CompleteMessage(ChunkStream& cs, uint32_t csid, std::vector<DecodedMessage>& out) {
  in_flight_ -= cs.received;
  cs.received = 0;
  DecodedMessage msg;
  msg.csid = csid;
  msg.type = cs.type;
  msg.stream_id = cs.stream_id;
  msg.timestamp = cs.timestamp;
  msg.size = uint32_t(cs.payload.size());
  msg.offset = uint32_t(arena_.size());
  msg.data = nullptr;  // set when the Feed ends and the arena no longer moves
  const uint8_t* p = cs.payload.data();

  // Protocol control messages that change how the following bytes parse are applied here,
  // before the next chunk (5.4.1 Set Chunk Size, 5.4.2 Abort), and still reported.
  if (msg.type == 1) {
    if (msg.size < 4) {
      return Fail("ERR_RTMP_CHUNK_SIZE", "Set Chunk Size with a payload of " + std::to_string(msg.size) + " bytes");
    }
    const uint32_t size = Be32(p);
    // 5.4.1: the top bit must be zero; valid sizes are 1..0x7FFFFFFF.
    if (size == 0 || size > 0x7FFFFFFF) {
      return Fail("ERR_RTMP_CHUNK_SIZE", "Set Chunk Size to " + std::to_string(size) + " (valid: 1..2147483647)");
    }
    chunk_size_ = size;
  } else if (msg.type == 2 && msg.size >= 4) {
    auto it = streams_.find(Be32(p));
    if (it != streams_.end() && it->second.received > 0 && &it->second != &cs) {
      in_flight_ -= it->second.received;
      it->second.received = 0;
      it->second.payload.clear();
      if (current_ == &it->second) current_ = nullptr;
    }
  }
  arena_.insert(arena_.end(), p, p + msg.size);
  // The chunk stream keeps its buffer for the next message, unless one large message made
  // it big: then it is given back, so idle streams hold little.
  if (cs.payload.capacity() > (1u << 20)) std::vector<uint8_t>().swap(cs.payload);
  else cs.payload.clear();
  out.push_back(msg);
  return true;
}

bool ChunkParser::Feed(const uint8_t* data, size_t len, std::vector<DecodedMessage>& out) {
  if (error_code_ != nullptr) return false;
  arena_.clear();
  const size_t first = out.size();
  const bool ok = FeedChunks(data, len, out);
  for (size_t i = first; i < out.size(); ++i) out[i].data = arena_.data() + out[i].offset;
  return ok;
}

bool ChunkParser::FeedChunks(const uint8_t* data, size_t len, std::vector<DecodedMessage>& out) {
  size_t pos = 0;
  for (;;) {
    if (current_ != nullptr && chunk_remaining_ > 0) {
      if (pos == len) break;
      const size_t n = std::min<size_t>(len - pos, chunk_remaining_);
      ChunkStream& cs = *current_;
      if (in_flight_ + n > uint64_t(max_message_size_) * 2) {
        return Fail("ERR_RTMP_MESSAGE_TOO_LARGE", "partial messages on interleaved chunk streams exceed " +
                                                      std::to_string(uint64_t(max_message_size_) * 2) + " bytes");
      }
      cs.payload.insert(cs.payload.end(), data + pos, data + pos + n);
      cs.received += uint32_t(n);
      in_flight_ += n;
      chunk_remaining_ -= uint32_t(n);
      pos += n;
      if (chunk_remaining_ > 0) break;  // the rest of this chunk comes with the next read
    }
    if (current_ != nullptr) {
      ChunkStream* cs = current_;
      current_ = nullptr;
      if (cs->received == cs->length && !CompleteMessage(*cs, current_csid_, out)) return false;
    }
    if (pos == len) break;

    long n;
    if (!header_buf_.empty()) {
      const size_t prev = header_buf_.size();
      const size_t take = std::min(kMaxHeader - prev, len - pos);
      header_buf_.insert(header_buf_.end(), data + pos, data + pos + take);
      n = ParseHeader(header_buf_.data(), header_buf_.size());
      if (n < 0) return false;
      if (n == 0) {
        pos += take;
        break;
      }
      pos += size_t(n) - prev;
      header_buf_.clear();
    } else {
      n = ParseHeader(data + pos, len - pos);
      if (n < 0) return false;
      if (n == 0) {
        header_buf_.assign(data + pos, data + len);
        pos = len;
        break;
      }
      pos += size_t(n);
    }
  }
  return true;
}

}  // namespace sluice
