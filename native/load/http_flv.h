#ifndef SLUICE_LOAD_HTTP_FLV_H
#define SLUICE_LOAD_HTTP_FLV_H

// The HTTP-FLV side of the load generator: bytes of an HTTP/1.1 response, in pieces of any
// size, -> the response's status, the FLV header, and one event per FLV tag. Pure C++ and
// incremental (a state machine over the bytes, no socket), so that `sluice_load
// --parse-http-flv FILE` and the tests drive it on bytes alone.
//
// Three layers, each fed by the one before:
//   response head  status line and header fields (RFC 9112 4, 5), at most 16 KiB;
//   body framing   chunked (RFC 9112 7.1: hex size, extensions, trailers) or identity,
//                  up to Content-Length or until the connection closes (RFC 9112 6.3);
//   FLV            header, PreviousTagSize0, then tags (FLV spec E.2, E.3, E.4.1).
//
// Nothing from the network is trusted: every size is checked against a limit before it is
// used, and the parser never holds a tag: it keeps the first kHeadBytes bytes of each tag's
// data (enough to tell a frame from a sequence header) and counts the rest off, so that a
// player's memory does not depend on what the server sends.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sluice::load {

struct HttpFlvEvent {
  enum class Kind : uint8_t {
    kResponse,   // the final response head: status (and, when 2xx, how the body is framed)
    kFlvHeader,  // the FLV file header
    kTag,        // one whole FLV tag (its data has been read)
    kEnd,        // the body ended: last chunk, or Content-Length reached
  };
  static constexpr size_t kHeadBytes = 16;

  Kind kind = Kind::kTag;
  // kResponse
  uint16_t status = 0;
  bool chunked = false;
  int64_t content_length = -1;  // -1: none (or ignored because of Transfer-Encoding)
  // kFlvHeader
  uint8_t version = 0;
  uint8_t flags = 0;            // 0x04 audio, 0x01 video
  uint32_t header_size = 0;     // DataOffset
  // kTag
  uint8_t tag_type = 0;         // 8 audio, 9 video, 18 script data
  uint32_t timestamp = 0;       // ms: 24 bits plus the extended byte (E.4.1)
  uint32_t stream_id = 0;
  uint32_t size = 0;            // DataSize
  uint8_t head_len = 0;         // min(size, kHeadBytes)
  uint8_t head[kHeadBytes] = {};
};

class HttpFlvParser {
 public:
  static constexpr size_t kMaxHeadBytes = 16 * 1024;        // status line + fields (+ trailers, separately)
  static constexpr size_t kMaxChunkLine = 64;                // chunk-size line, without its CRLF
  static constexpr uint64_t kMaxChunkSize = 64ull << 20;     // 64 MiB
  static constexpr uint32_t kMaxFlvHeaderSize = 64 * 1024;   // DataOffset; FLV 1 uses 9
  static constexpr uint32_t kDefaultMaxTagSize = 8u << 20;   // DataSize; the field allows 16 MiB - 1

  explicit HttpFlvParser(uint32_t max_tag_size = kDefaultMaxTagSize) : max_tag_size_(max_tag_size) {}

  // Consumes `len` bytes and appends what they complete to `out`. Returns false on an
  // error, with error_code()/error_message() set; events before the error are in `out`,
  // and the parser is then unusable. After a non-2xx response, or after kEnd, it takes
  // no more bytes (they are ignored): the exchange is over.
  bool Feed(const uint8_t* data, size_t len, std::vector<HttpFlvEvent>& out);

  // The final response's reason phrase, printable ASCII only, at most 64 characters.
  const std::string& reason() const { return reason_; }
  // Body bytes seen so far (after de-chunking).
  uint64_t body_bytes() const { return body_bytes_; }
  const char* error_code() const { return error_code_; }
  const std::string& error_message() const { return error_message_; }

 private:
  enum class State : uint8_t {
    kStatusLine, kFields,               // response head, line by line
    kChunkLine, kChunkData, kChunkDataCr, kChunkDataLf, kTrailers,
    kIdentity,                          // body up to Content-Length, or until close
    kDone, kFailed,
  };
  enum class Flv : uint8_t { kHeader, kHeaderRest, kTagHeader, kTagData, kPrevTagSize };
  enum class Field : uint8_t { kOther, kTransferEncoding, kContentLength, kContentEncoding };

  bool Fail(const char* code, std::string message);
  // Head and trailer lines: appends bytes up to a LF to line_; returns how many of `len`
  // it used, and sets *complete when the line (LF excluded, a CR before it kept) is in.
  size_t TakeLine(const uint8_t* p, size_t len, size_t* budget, bool* complete);
  bool OnStatusLine();
  bool OnFieldLine();
  bool OnHeadEnd(std::vector<HttpFlvEvent>& out);
  bool OnChunkLine();
  bool ChunkLineTooLong();
  // The FLV layer: consumes body bytes.
  bool FeedFlv(const uint8_t* p, size_t len, std::vector<HttpFlvEvent>& out);
  bool OnTagHeader();

  uint32_t max_tag_size_;
  State state_ = State::kStatusLine;
  std::string line_;                 // the head line being read; empty (and freed) after the head
  size_t head_budget_ = kMaxHeadBytes;
  uint16_t status_ = 0;
  std::string reason_;
  Field last_field_ = Field::kOther; // for obs-fold continuation lines (RFC 9112 5.2)
  std::string transfer_encoding_;    // all Transfer-Encoding field values, joined by ","
  std::string content_length_;       // likewise
  std::string content_encoding_;
  bool saw_transfer_encoding_ = false;
  bool saw_content_length_ = false;
  bool until_close_ = false;         // identity body without Content-Length
  uint64_t remaining_ = 0;           // of the current chunk, or of Content-Length
  char chunk_line_[kMaxChunkLine + 1] = {};
  size_t chunk_line_len_ = 0;
  uint64_t body_bytes_ = 0;

  Flv flv_ = Flv::kHeader;
  uint8_t fixed_[11] = {};           // the FLV header's first 9 bytes, a tag header, or a PreviousTagSize
  size_t fixed_len_ = 0;
  uint32_t skip_ = 0;                // header bytes past the 9 (DataOffset > 9), then PreviousTagSize0
  bool first_tag_ = true;            // the next PreviousTagSize is PreviousTagSize0
  HttpFlvEvent tag_;                 // the tag being read
  uint32_t tag_left_ = 0;            // its data bytes still to come

  const char* error_code_ = nullptr;
  std::string error_message_;
};

}  // namespace sluice::load

#endif
