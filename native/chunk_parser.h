#ifndef SLUICE_CHUNK_PARSER_H
#define SLUICE_CHUNK_PARSER_H

// Pure C++ (no Node-API): the server addon, the load generator and the fuzzer share it.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace sluice {

// The state of one chunk stream (RTMP spec 5.3.1): the last header seen on it, which
// later fmt 1/2/3 chunks inherit from, and the message being assembled.
struct ChunkStream {
  bool has_header = false;
  uint32_t timestamp = 0;    // absolute timestamp of the current (or last) message
  uint32_t delta = 0;        // delta a fmt-3 chunk starting a new message adds (5.3.1.2.4)
  bool extended = false;     // the last fmt 0/1/2 header used the extended timestamp field
  uint32_t ext_value = 0;    // the value of that extended field
  uint32_t length = 0;
  uint8_t type = 0;
  uint32_t stream_id = 0;
  uint32_t received = 0;     // bytes of the current message so far; 0 between messages
  std::vector<uint8_t> payload;
};

struct DecodedMessage {
  uint32_t csid;
  uint8_t type;
  uint32_t stream_id;
  uint32_t timestamp;
  // The payload, in the parser's output arena: valid until the next Feed (which empties
  // the arena), so callers clear their message vector before each Feed.
  const uint8_t* data;
  uint32_t size;
  uint32_t offset;  // of `data` in the arena
};

// Turns bytes from a socket, in pieces of any size, into whole messages. Pure C++ so the
// fuzzer and the JS wrapper share it.
class ChunkParser {
 public:
  ChunkParser(uint32_t max_message_size, uint32_t max_chunk_streams)
      : max_message_size_(max_message_size), max_chunk_streams_(max_chunk_streams) {}

  // Consumes `len` bytes; appends completed messages to `out` (their payloads live in the
  // arena until the next Feed). Returns false on a protocol error, with
  // error_code()/error_message() set; the parser is then unusable.
  bool Feed(const uint8_t* data, size_t len, std::vector<DecodedMessage>& out);

  // Every payload completed by the last Feed, back to back (DecodedMessage::offset).
  const std::vector<uint8_t>& arena() const { return arena_; }

  uint32_t chunk_size() const { return chunk_size_; }
  const char* error_code() const { return error_code_; }
  const std::string& error_message() const { return error_message_; }

 private:
  // Parses one chunk header from `p` (`len` bytes available). Returns the header's length,
  // 0 when more bytes are needed, or -1 on error.
  long ParseHeader(const uint8_t* p, size_t len);
  bool FeedChunks(const uint8_t* data, size_t len, std::vector<DecodedMessage>& out);
  bool CompleteMessage(ChunkStream& cs, uint32_t csid, std::vector<DecodedMessage>& out);
  bool Fail(const char* code, std::string message);

  uint32_t max_message_size_;
  uint32_t max_chunk_streams_;
  uint32_t chunk_size_ = 128;          // RTMP spec 5.4.1: 128 until Set Chunk Size
  std::unordered_map<uint32_t, ChunkStream> streams_;
  uint64_t in_flight_ = 0;             // bytes held in partial messages, all streams
  std::vector<uint8_t> header_buf_;    // a header split across reads (at most 18 bytes)
  std::vector<uint8_t> arena_;         // payloads completed by the current Feed
  ChunkStream* current_ = nullptr;     // the chunk whose payload is being read
  uint32_t current_csid_ = 0;
  uint32_t chunk_remaining_ = 0;       // payload bytes left in the current chunk
  const char* error_code_ = nullptr;
  std::string error_message_;
};

}  // namespace sluice

#endif
