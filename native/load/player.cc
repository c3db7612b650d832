// One player: over RTMP handshake, connect, createStream, play; over HTTP-FLV one GET;
// then count what arrives.
#include "player.h"

#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "amf0.h"
#include "../chunk_writer.h"

namespace sluice::load {

namespace {

constexpr size_t kHandshakeSize = 1536;          // C1/S1/C2/S2 (RTMP spec 5.2.3)
constexpr uint32_t kBufferLengthMs = 3000;       // what we announce with SetBufferLength
// Our chunk size, announced first: commands then fit one chunk each.
constexpr uint32_t kOutChunkSize = 4096;

// Appends one message as chunks (WriteChunks, shared with the server's encoder).
void AppendMessage(std::vector<uint8_t>& out, uint8_t csid, uint8_t type, uint32_t stream_id, const uint8_t* payload,
                   size_t len) {
  const size_t at = out.size();
  out.resize(at + ChunkedSize(csid, 0, len, kOutChunkSize));
  WriteChunks(out.data() + at, csid, type, stream_id, 0, payload, len, kOutChunkSize);
}

constexpr uint8_t kCsidControl = 2;              // protocol control messages (5.4)
constexpr uint8_t kCsidCommand = 3;
constexpr uint8_t kCsidPlay = 8;                 // as librtmp sends play

enum MessageType : uint8_t {
  kSetChunkSize = 1,
  kAbort = 2,
  kAcknowledgement = 3,
  kUserControl = 4,
  kWindowAckSize = 5,
  kSetPeerBandwidth = 6,
  kAudio = 8,
  kVideo = 9,
  kCommandAmf3 = 17,
  kCommandAmf0 = 20,
  kAggregate = 22,
};

enum UserControlEvent : uint16_t { kSetBufferLength = 3, kPingRequest = 6, kPingResponse = 7 };

inline uint32_t Be24(const uint8_t* p) { return (uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | p[2]; }
inline uint32_t Be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
inline void PutBe32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

const char* StateStep(PlayerState s) {
  switch (s) {
    case PlayerState::kConnecting: return "TCP connect";
    case PlayerState::kHandshake: return "handshake";
    case PlayerState::kRequest: return "the HTTP request";
    case PlayerState::kConnect: return "connect";
    case PlayerState::kCreateStream: return "createStream";
    default: return "?";
  }
}

std::string ErrnoReason(const char* what, int err) {
  switch (err) {
    case ECONNREFUSED: return "connection refused";
    case ECONNRESET: return "connection reset by server";
    case ETIMEDOUT: return std::string(what) + " timed out";
    case EPIPE: return "connection closed by server (broken pipe)";
    default: return std::string(what) + " failed: " + std::strerror(err);
  }
}

}  // namespace

// A video message is a frame unless it is a sequence header, an end of sequence, or a
// video info/command message (FLV spec E.4.3.1; enhanced RTMP's ex-header packet types).
bool IsVideoFrame(const uint8_t* p, size_t len) {
  if (len == 0) return false;
  const uint8_t frame_type = (p[0] >> 4) & 0x07;
  if (frame_type == 5) return false;
  if (p[0] & 0x80) {  // enhanced RTMP: IsExHeader, then the packet type in the low bits
    const uint8_t packet_type = p[0] & 0x0f;
    return packet_type == 1 || packet_type == 3;  // CodedFrames, CodedFramesX
  }
  const uint8_t codec = p[0] & 0x0f;
  if (codec == 7 || codec == 12) return len >= 2 && p[1] == 1;  // AVC / HEVC: NALUs only
  return true;
}

// An audio message is a frame unless it is an AAC sequence header (or an enhanced-RTMP
// audio message other than coded frames).
bool IsAudioFrame(const uint8_t* p, size_t len) {
  if (len == 0) return false;
  const uint8_t format = p[0] >> 4;
  if (format == 10) return len >= 2 && p[1] == 1;  // AAC raw
  if (format == 9) return (p[0] & 0x0f) == 1;       // ex-header: CodedFrames
  return true;
}

int64_t MonotonicUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

// ---- StepCounts ------------------------------------------------------------------------

void StepCounts::Add(int32_t step) {
  ++total_;
  for (auto& c : counts_) {
    if (c.first == step) {
      ++c.second;
      return;
    }
  }
  counts_.emplace_back(step, 1);
}

int32_t StepCounts::Median() const {
  if (total_ == 0) return 0;
  std::vector<std::pair<int32_t, uint32_t>> sorted(counts_);
  std::sort(sorted.begin(), sorted.end());
  uint64_t seen = 0;
  for (const auto& c : sorted) {
    seen += c.second;
    if (seen * 2 >= total_) return c.first;
  }
  return sorted.back().first;
}

uint64_t StepCounts::CountAbove(double limit) const {
  uint64_t n = 0;
  for (const auto& c : counts_) {
    if (double(c.first) > limit) n += c.second;
  }
  return n;
}

// ---- life cycle ------------------------------------------------------------------------

void Player::Start(Shared& s) {
  started_us_ = state_since_us_ = MonotonicUs();
  state_ = PlayerState::kConnecting;
  const Target& t = *s.target;
  fd_ = socket(t.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Fail(s, ErrnoReason("socket", errno));
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
  ev.data.ptr = this;
  if (epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, fd_, &ev) != 0) return Fail(s, ErrnoReason("epoll_ctl", errno));
  want_write_ = true;
  if (connect(fd_, reinterpret_cast<const sockaddr*>(&t.addr), t.addr_len) == 0) {
    OnConnected(s);
  } else if (errno != EINPROGRESS) {
    Fail(s, ErrnoReason("connect", errno));
  }
}

void Player::OnConnected(Shared& s) {
  ++s.connected;
  state_since_us_ = MonotonicUs();
  SetWantWrite(s, false);
  if (s.target->protocol == Protocol::kHttpFlv) {
    state_ = PlayerState::kRequest;
    const std::string& req = s.target->http_request;
    return Send(s, reinterpret_cast<const uint8_t*>(req.data()), req.size());
  }
  state_ = PlayerState::kHandshake;
  // C0: version 3; C1: time, four zero bytes, 1528 random bytes (RTMP spec 5.2.2, 5.2.3).
  s.wire.assign(1 + kHandshakeSize, 0);
  s.wire[0] = 3;
  PutBe32(&s.wire[1], uint32_t((state_since_us_ - started_us_) / 1000));
  uint64_t x = 0x9E3779B97F4A7C15ull ^ (uint64_t(index_) << 17) ^ uint64_t(started_us_);
  for (size_t i = 9; i < s.wire.size(); ++i) {
    x ^= x << 13;  // xorshift64: the bytes need not be secret, only not all equal
    x ^= x >> 7;
    x ^= x << 17;
    s.wire[i] = uint8_t(x >> 24);
  }
  handshake_.reserve(1 + 2 * kHandshakeSize);
  Send(s, s.wire.data(), s.wire.size());
}

void Player::Fail(Shared& s, std::string reason) {
  if (state_ == PlayerState::kFailed || state_ == PlayerState::kClosed) return;
  if (state_ == PlayerState::kPlaying) --s.playing;
  if (state_ >= PlayerState::kHandshake && state_ <= PlayerState::kPlaying) --s.connected;
  state_ = PlayerState::kFailed;
  ++s.failed;
  stats_.failure = std::move(reason);
  CloseSocket(s);
}

void Player::Stop(Shared& s) {
  if (state_ == PlayerState::kIdle || state_ == PlayerState::kFailed || state_ == PlayerState::kClosed) return;
  playing_at_stop_ = state_ == PlayerState::kPlaying;
  if (state_ == PlayerState::kPlaying) --s.playing;
  if (state_ >= PlayerState::kHandshake && state_ <= PlayerState::kPlaying) --s.connected;
  state_ = PlayerState::kClosed;
  CloseSocket(s);
}

void Player::CloseSocket(Shared& s) {
  if (fd_ >= 0) {
    epoll_ctl(s.epoll_fd, EPOLL_CTL_DEL, fd_, nullptr);
    close(fd_);
    fd_ = -1;
  }
  std::vector<uint8_t>().swap(handshake_);
  std::vector<uint8_t>().swap(outbox_);
}

void Player::CheckTimeouts(Shared& s) {
  if (state_ < PlayerState::kConnecting || state_ > PlayerState::kPlay) return;
  if (s.now_us - state_since_us_ < s.timeout_us) return;
  char limit[32];
  std::snprintf(limit, sizeof limit, "%g s", double(s.timeout_us) / 1e6);
  if (state_ == PlayerState::kPlay) {
    const char* after = s.target->protocol == Protocol::kHttpFlv ? " after the HTTP response" : " after play";
    return Fail(s, std::string("no media within ") + limit + after);
  }
  Fail(s, std::string("no answer to ") + StateStep(state_) + " within " + limit);
}

void Player::SnapshotWindow(int which, int64_t now_us) {
  stats_.win_bytes[which] = stats_.bytes;
  stats_.win_video[which] = stats_.video;
  stats_.win_audio[which] = stats_.audio;
  stats_.win_us[which] = now_us;
  if (which == 1) stats_.alive_at_window_end = state_ == PlayerState::kPlaying;
  // A player that plays moves this edge to its next batch (OnMedia).
  edge_pending_ = state_ == PlayerState::kPlaying ? int8_t(which) : int8_t(-1);
}

// ---- socket events ---------------------------------------------------------------------

void Player::OnEvents(Shared& s, uint32_t events) {
  if (state_ == PlayerState::kConnecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return Fail(s, ErrnoReason("connect", err));
    OnConnected(s);
    if (fd_ < 0) return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) OnReadable(s);
  if (fd_ >= 0 && (events & EPOLLOUT) && want_write_) OnWritable(s);
}

void Player::OnReadable(Shared& s) {
  uint8_t* buf = s.read_buf.data();
  const size_t cap = s.read_buf.size();
  // Level-triggered: drain a few buffers' worth now, the rest on the next turn.
  for (int round = 0; round < 4; ++round) {
    const ssize_t n = recv(fd_, buf, cap, 0);
    if (n == 0) return Fail(s, "connection closed by server");
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      return Fail(s, ErrnoReason("recv", errno));
    }
    s.now_us = MonotonicUs();
    read_start_bytes_ = stats_.bytes;
    stats_.bytes += size_t(n);
    s.bytes_in += size_t(n);
    if (s.target->protocol == Protocol::kHttpFlv) {
      OnHttpBytes(s, buf, size_t(n));
      if (fd_ < 0) return;
      if (size_t(n) < cap) return;
      continue;
    }
    size_t off = 0;
    if (state_ == PlayerState::kHandshake) {
      off = Handshake(s, buf, size_t(n));
      if (fd_ < 0) return;
    }
    if (off < size_t(n)) {
      s.messages.clear();
      if (!parser_.Feed(buf + off, size_t(n) - off, s.messages)) {
        return Fail(s, std::string("protocol error: ") + parser_.error_code() + " (" + parser_.error_message() + ")");
      }
      for (const DecodedMessage& m : s.messages) {
        OnMessage(s, m);
        if (fd_ < 0) return;
      }
      s.messages.clear();
    }
    // Acknowledgement after each window of bytes the server asked for (RTMP spec 5.4.3).
    if (peer_window_ > 0 && stats_.bytes - last_ack_ >= peer_window_) {
      last_ack_ = stats_.bytes;
      uint8_t seq[4];
      PutBe32(seq, uint32_t(stats_.bytes));  // modulo 2^32
      SendControl(s, kAcknowledgement, seq, 4);
      if (fd_ < 0) return;
    }
    if (size_t(n) < cap) return;  // drained
  }
}

void Player::OnWritable(Shared& s) {
  size_t off = 0;
  while (off < outbox_.size()) {
    const ssize_t n = send(fd_, outbox_.data() + off, outbox_.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      return Fail(s, ErrnoReason("send", errno));
    }
    off += size_t(n);
  }
  outbox_.erase(outbox_.begin(), outbox_.begin() + long(off));
  if (outbox_.empty()) SetWantWrite(s, false);
}

void Player::SetWantWrite(Shared& s, bool want) {
  if (want == want_write_ || fd_ < 0) return;
  want_write_ = want;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (want ? uint32_t(EPOLLOUT) : 0u);
  ev.data.ptr = this;
  epoll_ctl(s.epoll_fd, EPOLL_CTL_MOD, fd_, &ev);
}

void Player::Send(Shared& s, const uint8_t* data, size_t len) {
  if (fd_ < 0) return;
  if (outbox_.empty()) {
    ssize_t n = send(fd_, data, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return Fail(s, ErrnoReason("send", errno));
      n = 0;
    }
    if (size_t(n) == len) return;
    data += n;
    len -= size_t(n);
  }
  outbox_.insert(outbox_.end(), data, data + len);
  SetWantWrite(s, true);
}

// ---- handshake and commands ------------------------------------------------------------

size_t Player::Handshake(Shared& s, const uint8_t* p, size_t len) {
  const size_t total = 1 + 2 * kHandshakeSize;  // S0 + S1 + S2
  const size_t before = handshake_.size();
  const size_t take = std::min(len, total - before);
  handshake_.insert(handshake_.end(), p, p + take);
  if (before == 0 && handshake_[0] != 3) {
    Fail(s, "handshake: server sent version " + std::to_string(handshake_[0]) + ", not 3");
    return take;
  }
  // C2 echoes S1 (5.2.3) as soon as S1 is complete.
  if (before < 1 + kHandshakeSize && handshake_.size() >= 1 + kHandshakeSize) {
    Send(s, handshake_.data() + 1, kHandshakeSize);
    if (fd_ < 0) return take;
  }
  if (handshake_.size() < total) return take;
  std::vector<uint8_t>().swap(handshake_);
  state_ = PlayerState::kConnect;
  state_since_us_ = s.now_us;

  // Our chunk size first, so that each command below fits one chunk.
  uint8_t size[4];
  PutBe32(size, kOutChunkSize);
  SendControl(s, kSetChunkSize, size, 4);

  const Target& t = *s.target;
  s.payload.clear();
  Amf0Writer w(s.payload);
  w.String("connect");
  w.Number(1);
  w.ObjectBegin();
  w.Key("app");
  w.String(t.app);
  w.Key("flashVer");
  w.String("LNX 9,0,124,2");
  w.Key("tcUrl");
  w.String(t.tc_url);
  w.Key("fpad");
  w.Boolean(false);
  w.Key("capabilities");
  w.Number(15);
  w.Key("audioCodecs");
  w.Number(4071);
  w.Key("videoCodecs");
  w.Number(252);
  w.Key("videoFunction");
  w.Number(1);
  w.ObjectEnd();
  SendPayload(s, kCsidCommand, kCommandAmf0, 0);
  return take;
}

void Player::SendPayload(Shared& s, uint8_t csid, uint8_t type, uint32_t stream_id) {
  s.wire.clear();
  AppendMessage(s.wire, csid, type, stream_id, s.payload.data(), s.payload.size());
  Send(s, s.wire.data(), s.wire.size());
}

void Player::SendControl(Shared& s, uint8_t type, const uint8_t* payload, size_t len) {
  s.wire.clear();
  AppendMessage(s.wire, kCsidControl, type, 0, payload, len);
  Send(s, s.wire.data(), s.wire.size());
}

void Player::SendUserControl(Shared& s, uint16_t event, uint32_t value, bool with_extra, uint32_t extra) {
  uint8_t b[10] = {uint8_t(event >> 8), uint8_t(event)};
  PutBe32(b + 2, value);
  if (with_extra) PutBe32(b + 6, extra);
  SendControl(s, kUserControl, b, with_extra ? 10 : 6);
}

void Player::OnMessage(Shared& s, const DecodedMessage& m) {
  const uint8_t* p = m.data;
  const size_t len = m.size;
  switch (m.type) {
    case kAudio:
    case kVideo:
      return OnMedia(s, m.type, m.timestamp, p, len);
    case kAggregate:
      return OnAggregate(s, m.timestamp, p, len);
    case kCommandAmf0:
      return OnCommand(s, p, len);
    case kCommandAmf3:  // a format byte, then AMF0
      if (len > 0) OnCommand(s, p + 1, len - 1);
      return;
    case kUserControl:
      if (len >= 6 && ((uint16_t(p[0]) << 8) | p[1]) == kPingRequest) {
        SendUserControl(s, kPingResponse, Be32(p + 2), false, 0);
      }
      return;
    case kWindowAckSize:
      if (len >= 4) peer_window_ = Be32(p);
      return;
    default:
      // Set Chunk Size and Abort were applied by the parser; Acknowledgement, Set Peer
      // Bandwidth, data messages (onMetaData, |RtmpSampleAccess) need nothing from us.
      return;
  }
}

void Player::OnCommand(Shared& s, const uint8_t* p, size_t len) {
  Amf0Reader r(p, len);
  std::string_view name;
  if (!r.ReadString(&name)) return Fail(s, "protocol error: a command message without a name");
  double txn = 0;
  if (r.PeekType() == 0x00) r.ReadNumber(&txn);

  if (name == "_result") {
    if (txn == 1 && state_ == PlayerState::kConnect) {
      state_ = PlayerState::kCreateStream;
      state_since_us_ = s.now_us;
      s.payload.clear();
      Amf0Writer w(s.payload);
      w.String("createStream");
      w.Number(2);
      w.Null();
      return SendPayload(s, kCsidCommand, kCommandAmf0, 0);
    }
    if (txn == 2 && state_ == PlayerState::kCreateStream) {
      double id = 0;
      if (!r.Skip() || !r.ReadNumber(&id) || !(id >= 0 && id <= 0xFFFFFFFFu)) {
        return Fail(s, "protocol error: createStream's _result has no stream id");
      }
      stream_id_ = uint32_t(id);
      state_ = PlayerState::kPlay;
      state_since_us_ = s.now_us;
      const std::string& stream = s.target->stream;
      s.payload.clear();
      Amf0Writer w(s.payload);
      w.String("play");
      w.Number(0);
      w.Null();
      w.String(stream);
      w.Number(-2);  // live if there is one, else recorded (7.2.2.1)
      SendPayload(s, kCsidPlay, kCommandAmf0, stream_id_);
      SendUserControl(s, kSetBufferLength, stream_id_, true, kBufferLengthMs);
    }
    return;
  }
  if (name == "_error") {
    std::string code, level;
    if (r.Skip()) r.ReadObjectStrings("code", &code, "level", &level);
    const char* what = txn == 1 ? "connect" : txn == 2 ? "createStream" : "a command";
    return Fail(s, std::string(what) + " rejected: " + (code.empty() ? "_error" : code));
  }
  if (name == "onStatus") {
    std::string code, level;
    if (r.Skip()) r.ReadObjectStrings("level", &level, "code", &code);
    if (level == "error") return Fail(s, "onStatus error: " + (code.empty() ? std::string("(no code)") : code));
    return;
  }
  if (name == "close") return Fail(s, "connection closed by server (close command)");
  // onBWDone, _checkbw, and anything else: nothing to answer.
}

void Player::OnMedia(Shared& s, uint8_t type, uint32_t timestamp, const uint8_t* p, size_t len) {
  const bool video = type == kVideo;
  if (!(video ? IsVideoFrame(p, len) : IsAudioFrame(p, len))) return;
  const int64_t now = s.now_us;
  if (edge_pending_ >= 0) {
    // The first frame after a window edge: the edge moves here, before this batch.
    const int e = edge_pending_;
    stats_.win_bytes[e] = read_start_bytes_;
    stats_.win_video[e] = stats_.video;
    stats_.win_audio[e] = stats_.audio;
    stats_.win_us[e] = now;
    edge_pending_ = -1;
  }
  if (stats_.first_media_ms < 0) {
    stats_.first_media_ms = (now - started_us_) / 1000;
    if (state_ == PlayerState::kPlay) {
      state_ = PlayerState::kPlaying;
      state_since_us_ = now;
      ++s.playing;
    }
  } else {
    const int64_t gap = now - last_media_us_;
    if (gap > stats_.max_gap_us) stats_.max_gap_us = gap;
    if (s.in_window && gap > stats_.max_gap_window_us) stats_.max_gap_window_us = gap;
  }
  last_media_us_ = now;
  if (!video) {
    ++stats_.audio;
    return;
  }
  ++stats_.video;
  if (have_video_ts_) {
    const int32_t step = int32_t(timestamp - last_video_ts_);  // 32-bit wrap-safe
    stats_.steps.Add(step);
    if (step > stats_.max_video_step) stats_.max_video_step = step;
  }
  have_video_ts_ = true;
  last_video_ts_ = timestamp;
}

// An aggregate message (type 22) holds FLV tags: header (11), data, previous tag size (4).
// Their timestamps are relative to the first tag's, offset by the message's.
void Player::OnAggregate(Shared& s, uint32_t timestamp, const uint8_t* p, size_t len) {
  bool first = true;
  uint32_t base = 0;
  while (len >= 11) {
    const uint8_t type = p[0] & 0x1f;
    const uint32_t size = Be24(p + 1);
    const uint32_t ts = Be24(p + 4) | (uint32_t(p[7]) << 24);
    if (size_t(11) + size > len) return;
    if (first) base = ts;
    first = false;
    if (type == kAudio || type == kVideo) OnMedia(s, type, timestamp + (ts - base), p + 11, size);
    if (fd_ < 0) return;
    const size_t step = std::min(len, size_t(11) + size + 4);
    p += step;
    len -= step;
  }
}

// ---- HTTP-FLV --------------------------------------------------------------------------

void Player::OnHttpBytes(Shared& s, const uint8_t* p, size_t len) {
  s.flv_events.clear();
  const bool ok = http_.Feed(p, len, s.flv_events);
  // What came before an error still counts: those tags did arrive whole.
  for (const HttpFlvEvent& e : s.flv_events) {
    OnHttpEvent(s, e);
    if (fd_ < 0) break;
  }
  s.flv_events.clear();
  if (!ok && fd_ >= 0) {
    Fail(s, std::string("protocol error: ") + http_.error_code() + " (" + http_.error_message() + ")");
  }
}

void Player::OnHttpEvent(Shared& s, const HttpFlvEvent& e) {
  switch (e.kind) {
    case HttpFlvEvent::Kind::kResponse:
      if (e.status < 200 || e.status > 299) {
        const std::string& why = http_.reason();
        return Fail(s, "HTTP status " + std::to_string(e.status) + (why.empty() ? "" : " (" + why + ")"));
      }
      state_ = PlayerState::kPlay;  // the stream is on; media must follow within --timeout
      state_since_us_ = s.now_us;
      return;
    case HttpFlvEvent::Kind::kFlvHeader:
      return;
    case HttpFlvEvent::Kind::kTag:
      // Script data (onMetaData) is not media, as over RTMP.
      if (e.tag_type == kAudio || e.tag_type == kVideo) {
        // The tag's first bytes are all a frame's classification reads (IsVideoFrame).
        OnMedia(s, e.tag_type, e.timestamp, e.head, e.head_len);
      }
      return;
    case HttpFlvEvent::Kind::kEnd:
      return Fail(s, "stream ended by server (end of the HTTP body)");
  }
}

}  // namespace sluice::load
