// HTTP/1.1 response -> FLV tags, incrementally (see http_flv.h).
#include "http_flv.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace sluice::load {

namespace {

constexpr char kErrResponse[] = "ERR_HTTP_RESPONSE";  // status line, header fields, framing headers
constexpr char kErrChunked[] = "ERR_HTTP_CHUNKED";    // chunked body framing
constexpr char kErrFlv[] = "ERR_FLV";                 // the body is not a well-formed FLV stream

inline uint32_t Be24(const uint8_t* p) { return (uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | p[2]; }
inline uint32_t Be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

inline char Lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

bool EqualsNoCase(const std::string& a, const char* b) {
  const size_t n = std::strlen(b);
  if (a.size() != n) return false;
  for (size_t i = 0; i < n; ++i) {
    if (Lower(a[i]) != b[i]) return false;
  }
  return true;
}

inline bool IsOws(char c) { return c == ' ' || c == '\t'; }

// RFC 9110 5.6.2: token characters.
bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

inline int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Trim(const std::string& s, size_t from = 0) {
  size_t b = from, e = s.size();
  while (b < e && IsOws(s[b])) ++b;
  while (e > b && IsOws(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Server bytes quoted in a message: printable ASCII as is, the rest as \xNN, at most `max`
// input bytes.
std::string Quote(const uint8_t* p, size_t len, size_t max = 32) {
  std::string out;
  for (size_t i = 0; i < len && i < max; ++i) {
    if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') {
      out += char(p[i]);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", p[i]);
      out += buf;
    }
  }
  if (len > max) out += "...";
  return out;
}
std::string Quote(const std::string& s, size_t max = 32) {
  return Quote(reinterpret_cast<const uint8_t*>(s.data()), s.size(), max);
}

// Splits a comma-separated field value (RFC 9110 5.6.1) into lower-cased, trimmed
// elements, empty ones dropped; parameters (";...") are cut off when `strip_params`.
std::vector<std::string> ListElements(const std::string& value, bool strip_params) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string::npos) comma = value.size();
    std::string item = value.substr(start, comma - start);
    if (strip_params) item = item.substr(0, item.find(';'));
    item = Trim(item);
    for (char& c : item) c = Lower(c);
    if (!item.empty()) out.push_back(std::move(item));
    start = comma + 1;
  }
  return out;
}

void AppendListValue(std::string* to, const std::string& value) {
  if (!to->empty()) *to += ',';
  *to += value;
}

}  // namespace

bool HttpFlvParser::Fail(const char* code, std::string message) {
  state_ = State::kFailed;
  error_code_ = code;
  error_message_ = std::move(message);
  std::string().swap(line_);
  return false;
}

size_t HttpFlvParser::TakeLine(const uint8_t* p, size_t len, size_t* budget, bool* complete) {
  *complete = false;
  const uint8_t* lf = static_cast<const uint8_t*>(std::memchr(p, '\n', len));
  const size_t take = lf != nullptr ? size_t(lf - p) + 1 : len;
  if (take > *budget) {
    *budget = 0;
    return take;  // the caller sees the empty budget and fails
  }
  *budget -= take;
  line_.append(reinterpret_cast<const char*>(p), lf != nullptr ? take - 1 : take);
  *complete = lf != nullptr;
  return take;
}

bool HttpFlvParser::Feed(const uint8_t* data, size_t len, std::vector<HttpFlvEvent>& out) {
  const uint8_t* p = data;
  const uint8_t* const end = data + len;
  while (p < end) {
    switch (state_) {
      case State::kStatusLine:
      case State::kFields: {
        bool complete = false;
        p += TakeLine(p, size_t(end - p), &head_budget_, &complete);
        if (head_budget_ == 0 && !complete) {
          return Fail(kErrResponse, "the response head is over " + std::to_string(kMaxHeadBytes) + " bytes");
        }
        // Not HTTP at all (an RTMP server, garbage): say so at once, not after 16 KiB. The
        // message quotes the same bytes however the data was split into reads.
        if (state_ == State::kStatusLine && (line_.size() >= 5 || complete) &&
            line_.compare(0, 5, "HTTP/") != 0) {
          return Fail(kErrResponse, "not an HTTP response: it starts with \"" + Quote(line_.substr(0, 5)) + "\"");
        }
        if (!complete) break;
        if (!line_.empty() && line_.back() == '\r') line_.pop_back();
        bool ok;
        if (state_ == State::kStatusLine) {
          ok = OnStatusLine();
        } else if (line_.empty()) {
          ok = OnHeadEnd(out);
        } else {
          ok = OnFieldLine();
        }
        if (!ok) return false;
        line_.clear();
        break;
      }
      case State::kChunkLine: {
        const uint8_t c = *p++;
        if (c == '\n') {
          if (chunk_line_len_ > 0 && chunk_line_[chunk_line_len_ - 1] == '\r') --chunk_line_len_;
          if (chunk_line_len_ > kMaxChunkLine) return ChunkLineTooLong();
          if (!OnChunkLine()) return false;
          chunk_line_len_ = 0;
          if (state_ == State::kTrailers) head_budget_ = kMaxHeadBytes;
          break;
        }
        // Room for the line and its CR: one byte more means the line is too long.
        if (chunk_line_len_ == kMaxChunkLine + 1) return ChunkLineTooLong();
        chunk_line_[chunk_line_len_++] = char(c);
        break;
      }
      case State::kChunkData: {
        const size_t n = size_t(std::min<uint64_t>(remaining_, uint64_t(end - p)));
        if (!FeedFlv(p, n, out)) return false;
        p += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kChunkDataCr;
        break;
      }
      case State::kChunkDataCr:
      case State::kChunkDataLf: {
        // chunk-data CRLF (RFC 9112 7.1); a bare LF is tolerated, as for every line here.
        const uint8_t c = *p++;
        if (c == '\n') {
          state_ = State::kChunkLine;
        } else if (c == '\r' && state_ == State::kChunkDataCr) {
          state_ = State::kChunkDataLf;
        } else {
          return Fail(kErrChunked, "chunk data is longer than its size (no CRLF after it)");
        }
        break;
      }
      case State::kTrailers: {
        bool complete = false;
        p += TakeLine(p, size_t(end - p), &head_budget_, &complete);
        if (head_budget_ == 0 && !complete) {
          return Fail(kErrChunked, "the trailer section is over " + std::to_string(kMaxHeadBytes) + " bytes");
        }
        if (!complete) break;
        const bool last = line_.empty() || line_ == "\r";  // trailer fields are read and ignored
        line_.clear();
        if (last) {
          std::string().swap(line_);
          state_ = State::kDone;
          HttpFlvEvent e;
          e.kind = HttpFlvEvent::Kind::kEnd;
          out.push_back(e);
        }
        break;
      }
      case State::kIdentity: {
        const size_t n = until_close_ ? size_t(end - p) : size_t(std::min<uint64_t>(remaining_, uint64_t(end - p)));
        if (!FeedFlv(p, n, out)) return false;
        p += n;
        if (!until_close_) {
          remaining_ -= n;
          if (remaining_ == 0) {
            state_ = State::kDone;
            HttpFlvEvent e;
            e.kind = HttpFlvEvent::Kind::kEnd;
            out.push_back(e);
          }
        }
        break;
      }
      case State::kDone:
        return true;  // the exchange is over; the rest is not ours to read
      case State::kFailed:
        return false;
    }
  }
  return true;
}

bool HttpFlvParser::ChunkLineTooLong() {
  return Fail(kErrChunked, "a chunk size line over " + std::to_string(kMaxChunkLine) + " bytes: \"" +
                               Quote(reinterpret_cast<const uint8_t*>(chunk_line_), chunk_line_len_, 16) + "\"");
}

// status-line = HTTP-version SP status-code SP [ reason-phrase ]   (RFC 9112 4)
bool HttpFlvParser::OnStatusLine() {
  const std::string& l = line_;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  // The status code is three digits, 100..599 (RFC 9110 15); the reason phrase may be empty.
  if (l.size() < 12 || l.compare(0, 7, "HTTP/1.") != 0 || !digit(l[7]) || l[8] != ' ' || l[9] < '1' ||
      l[9] > '5' || !digit(l[10]) || !digit(l[11]) || (l.size() > 12 && l[12] != ' ')) {
    return Fail(kErrResponse, "bad status line \"" + Quote(l, 64) + "\"");
  }
  status_ = uint16_t((l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0'));
  reason_.clear();
  for (size_t i = 13; i < l.size() && reason_.size() < 64; ++i) {
    const unsigned char c = static_cast<unsigned char>(l[i]);
    if (c >= 0x20 && c < 0x7f) reason_ += char(c);
    else if (c == '\t') reason_ += ' ';
  }
  state_ = State::kFields;
  last_field_ = Field::kOther;
  return true;
}

// field-line = field-name ":" OWS field-value OWS   (RFC 9112 5)
bool HttpFlvParser::OnFieldLine() {
  const std::string& l = line_;
  for (unsigned char c : l) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return Fail(kErrResponse, "a control character in a header field");
  }
  if (IsOws(l[0])) {
    // obs-fold: a continuation of the previous field's value (RFC 9112 5.2: replace by SP).
    const std::string more = Trim(l);
    if (last_field_ == Field::kTransferEncoding) transfer_encoding_ += " " + more;
    if (last_field_ == Field::kContentLength) content_length_ += " " + more;
    if (last_field_ == Field::kContentEncoding) content_encoding_ += " " + more;
    return true;
  }
  const size_t colon = l.find(':');
  if (colon == std::string::npos || colon == 0) return Fail(kErrResponse, "bad header field \"" + Quote(l) + "\"");
  for (size_t i = 0; i < colon; ++i) {
    if (!IsTokenChar(static_cast<unsigned char>(l[i]))) {
      return Fail(kErrResponse, "bad header field name \"" + Quote(l.substr(0, colon)) + "\"");
    }
  }
  const std::string name = l.substr(0, colon);
  const std::string value = Trim(l, colon + 1);
  last_field_ = Field::kOther;
  if (EqualsNoCase(name, "transfer-encoding")) {
    last_field_ = Field::kTransferEncoding;
    saw_transfer_encoding_ = true;
    AppendListValue(&transfer_encoding_, value);
  } else if (EqualsNoCase(name, "content-length")) {
    last_field_ = Field::kContentLength;
    saw_content_length_ = true;
    AppendListValue(&content_length_, value);
  } else if (EqualsNoCase(name, "content-encoding")) {
    last_field_ = Field::kContentEncoding;
    AppendListValue(&content_encoding_, value);
  }
  return true;
}

bool HttpFlvParser::OnHeadEnd(std::vector<HttpFlvEvent>& out) {
  // Interim 1xx responses come before the final one (RFC 9110 15.2); 101 would switch
  // protocols, which we did not ask for, so it counts as a final non-2xx answer.
  if (status_ >= 100 && status_ < 200 && status_ != 101) {
    state_ = State::kStatusLine;
    transfer_encoding_.clear();
    content_length_.clear();
    content_encoding_.clear();
    saw_transfer_encoding_ = saw_content_length_ = false;
    return true;
  }
  HttpFlvEvent e;
  e.kind = HttpFlvEvent::Kind::kResponse;
  e.status = status_;
  std::string().swap(line_);
  if (status_ < 200 || status_ > 299) {
    state_ = State::kDone;  // the caller reports the status; the body is not a stream
    out.push_back(e);
    return true;
  }
  for (const std::string& coding : ListElements(content_encoding_, false)) {
    if (coding != "identity") {
      return Fail(kErrResponse, "Content-Encoding \"" + Quote(coding) + "\" is not supported (the body must be FLV as is)");
    }
  }
  // Message body length (RFC 9112 6.3): Transfer-Encoding wins over Content-Length.
  if (saw_transfer_encoding_) {
    std::vector<std::string> codings;
    for (std::string& c : ListElements(transfer_encoding_, true)) {
      if (c != "identity") codings.push_back(std::move(c));  // "identity": obsolete, a no-op
    }
    if (codings.size() == 1 && codings[0] == "chunked") {
      e.chunked = true;
      state_ = State::kChunkLine;
    } else if (codings.empty()) {
      until_close_ = true;
      state_ = State::kIdentity;
    } else {
      return Fail(kErrResponse, "Transfer-Encoding \"" + Quote(transfer_encoding_) + "\" is not supported");
    }
  } else if (saw_content_length_) {
    // A list of equal values is one value (RFC 9110 8.6); anything else is an error.
    const std::vector<std::string> values = ListElements(content_length_, false);
    uint64_t length = 0;
    for (size_t i = 0; i < values.size(); ++i) {
      const std::string& v = values[i];
      if (v.empty() || v.size() > 15 || v.find_first_not_of("0123456789") != std::string::npos) {
        return Fail(kErrResponse, "bad Content-Length \"" + Quote(content_length_) + "\"");
      }
      const uint64_t n = std::stoull(v);
      if (i > 0 && n != length) return Fail(kErrResponse, "conflicting Content-Length \"" + Quote(content_length_) + "\"");
      length = n;
    }
    if (values.empty()) return Fail(kErrResponse, "an empty Content-Length");
    e.content_length = int64_t(length);
    remaining_ = length;
    state_ = State::kIdentity;
  } else {
    until_close_ = true;
    state_ = State::kIdentity;
  }
  if (status_ == 204 || status_ == 205) {  // no content, whatever the fields say
    e.chunked = false;
    e.content_length = 0;
    remaining_ = 0;
    until_close_ = false;
    state_ = State::kIdentity;
  }
  out.push_back(e);
  if (state_ == State::kIdentity && !until_close_ && remaining_ == 0) {
    state_ = State::kDone;
    HttpFlvEvent end;
    end.kind = HttpFlvEvent::Kind::kEnd;
    out.push_back(end);
  }
  return true;
}

// chunk-size [ chunk-ext ] CRLF, chunk-size = 1*HEXDIG, chunk-ext = *( BWS ";" ... )
// (RFC 9112 7.1, 7.1.1). The extensions are skipped, not interpreted.
bool HttpFlvParser::OnChunkLine() {
  const char* l = chunk_line_;
  const size_t n = chunk_line_len_;
  size_t i = 0;
  uint64_t size = 0;
  for (; i < n && HexValue(l[i]) >= 0; ++i) {
    size = size * 16 + uint64_t(HexValue(l[i]));
    if (size > kMaxChunkSize) {
      return Fail(kErrChunked, "a chunk of more than " + std::to_string(kMaxChunkSize >> 20) + " MiB (size \"" +
                                   Quote(reinterpret_cast<const uint8_t*>(l), n) + "\")");
    }
  }
  const size_t digits = i;
  while (i < n && IsOws(l[i])) ++i;
  bool ok = digits > 0 && (i == n || l[i] == ';');
  for (size_t k = i; ok && k < n; ++k) {
    const unsigned char c = static_cast<unsigned char>(l[k]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) ok = false;
  }
  if (!ok) {
    return Fail(kErrChunked, "bad chunk size line \"" + Quote(reinterpret_cast<const uint8_t*>(l), n) + "\"");
  }
  if (size == 0) {
    state_ = State::kTrailers;  // last-chunk, then trailer-section CRLF
  } else {
    remaining_ = size;
    state_ = State::kChunkData;
  }
  return true;
}

// ---- FLV (FLV spec v10.1, annex E) -----------------------------------------------------

bool HttpFlvParser::FeedFlv(const uint8_t* p, size_t len, std::vector<HttpFlvEvent>& out) {
  body_bytes_ += len;
  const uint8_t* const end = p + len;
  while (p < end) {
    switch (flv_) {
      case Flv::kHeader: {
        // Signature "FLV", Version, TypeFlags, DataOffset (E.2).
        const size_t n = std::min<size_t>(9 - fixed_len_, size_t(end - p));
        std::memcpy(fixed_ + fixed_len_, p, n);
        fixed_len_ += n;
        p += n;
        if (fixed_len_ >= 3 && std::memcmp(fixed_, "FLV", 3) != 0) {
          return Fail(kErrFlv, "the body is not FLV: it starts with \"" + Quote(fixed_, 3) + "\"");
        }
        if (fixed_len_ < 9) break;
        const uint32_t header_size = Be32(fixed_ + 5);
        if (header_size < 9 || header_size > kMaxFlvHeaderSize) {
          return Fail(kErrFlv, "FLV header size " + std::to_string(header_size) + " (DataOffset must be 9.." +
                                   std::to_string(kMaxFlvHeaderSize) + ")");
        }
        HttpFlvEvent e;
        e.kind = HttpFlvEvent::Kind::kFlvHeader;
        e.version = fixed_[3];
        e.flags = fixed_[4];
        e.header_size = header_size;
        out.push_back(e);
        // What a longer header holds past its 9 bytes, then PreviousTagSize0 (E.3: always
        // 0, and not checked: its value frames nothing).
        skip_ = header_size - 9 + 4;
        fixed_len_ = 0;
        flv_ = Flv::kHeaderRest;
        break;
      }
      case Flv::kHeaderRest: {
        const size_t n = std::min<size_t>(skip_, size_t(end - p));
        p += n;
        skip_ -= uint32_t(n);
        if (skip_ == 0) flv_ = Flv::kTagHeader;
        break;
      }
      case Flv::kTagHeader: {
        const size_t n = std::min<size_t>(11 - fixed_len_, size_t(end - p));
        std::memcpy(fixed_ + fixed_len_, p, n);
        fixed_len_ += n;
        p += n;
        if (fixed_len_ < 11) break;
        fixed_len_ = 0;
        if (!OnTagHeader()) return false;
        if (tag_left_ == 0) {
          out.push_back(tag_);
          flv_ = Flv::kPrevTagSize;
        }
        break;
      }
      case Flv::kTagData: {
        const size_t n = std::min<size_t>(tag_left_, size_t(end - p));
        const size_t keep = std::min<size_t>(n, HttpFlvEvent::kHeadBytes - tag_.head_len);
        std::memcpy(tag_.head + tag_.head_len, p, keep);
        tag_.head_len = uint8_t(tag_.head_len + keep);
        p += n;
        tag_left_ -= uint32_t(n);
        if (tag_left_ == 0) {
          out.push_back(tag_);
          flv_ = Flv::kPrevTagSize;
        }
        break;
      }
      case Flv::kPrevTagSize: {
        const size_t n = std::min<size_t>(4 - fixed_len_, size_t(end - p));
        std::memcpy(fixed_ + fixed_len_, p, n);
        fixed_len_ += n;
        p += n;
        if (fixed_len_ < 4) break;
        fixed_len_ = 0;
        // E.3: the size of the previous tag, header included. A mismatch means the stream
        // lost its framing (or the server miscounts): what follows cannot be trusted.
        const uint32_t prev = Be32(fixed_);
        if (prev != 11 + tag_.size) {
          return Fail(kErrFlv, "PreviousTagSize " + std::to_string(prev) + " after a tag of 11 + " +
                                   std::to_string(tag_.size) + " bytes");
        }
        flv_ = Flv::kTagHeader;
        break;
      }
    }
  }
  return true;
}

// TagType (with Filter and reserved bits), DataSize, Timestamp, TimestampExtended, StreamID
// (E.4.1).
bool HttpFlvParser::OnTagHeader() {
  const uint8_t* h = fixed_;
  if (h[0] & 0x20) return Fail(kErrFlv, "an encrypted FLV tag (Filter bit set) is not supported");
  const uint8_t type = h[0] & 0x1f;
  if ((h[0] & 0xc0) != 0 || (type != 8 && type != 9 && type != 18)) {
    return Fail(kErrFlv, "FLV tag type " + std::to_string(h[0]) + " is not audio (8), video (9) or script data (18)");
  }
  const uint32_t size = Be24(h + 1);
  if (size > max_tag_size_) {
    return Fail(kErrFlv, "an FLV tag of " + std::to_string(size) + " bytes, over the limit of " +
                             std::to_string(max_tag_size_));
  }
  tag_ = HttpFlvEvent();
  tag_.kind = HttpFlvEvent::Kind::kTag;
  tag_.tag_type = type;
  tag_.size = size;
  tag_.timestamp = Be24(h + 4) | (uint32_t(h[7]) << 24);
  tag_.stream_id = Be24(h + 8);
  tag_left_ = size;
  flv_ = Flv::kTagData;
  return true;
}

}  // namespace sluice::load
