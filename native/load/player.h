#ifndef SLUICE_LOAD_PLAYER_H
#define SLUICE_LOAD_PLAYER_H

// One player of the load generator: a non-blocking socket driven by the epoll loop in
// main.cc. Over RTMP it goes through the simple handshake, connect, createStream and play
// (RTMP spec 5.2, 7.2); over HTTP-FLV it sends one GET and reads the response's FLV tags
// (http_flv.h). Either way it then counts what it receives, in the same statistics. It
// never retries: a failure is recorded once.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../chunk_parser.h"
#include "http_flv.h"

namespace sluice::load {

// Microseconds on the monotonic clock.
int64_t MonotonicUs();

// Whether an audio/video message (RTMP) or tag body (FLV) counts as a frame: not a sequence
// header, end of sequence or video info/command (FLV spec E.4.2, E.4.3; enhanced RTMP).
bool IsVideoFrame(const uint8_t* p, size_t len);
bool IsAudioFrame(const uint8_t* p, size_t len);

enum class Protocol : uint8_t { kRtmp, kHttpFlv };

// What the players share: where to connect, the clock of the current loop turn, and
// scratch buffers reused by every player so that steady state allocates nothing.
struct Target {
  Protocol protocol = Protocol::kRtmp;
  std::string url;
  std::string host;
  uint16_t port = 1935;
  std::string app;     // RTMP: connect's "app", e.g. "live" (query string kept, as SRS reads vhost from it)
  std::string stream;  // RTMP: play's stream name, e.g. "livestream?token=1"
  std::string tc_url;  // RTMP: rtmp://host:port/app
  std::string http_request;  // HTTP-FLV: the whole GET request, made once for every player
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
};

struct Shared {
  const Target* target = nullptr;
  int epoll_fd = -1;
  int64_t now_us = 0;                        // monotonic, refreshed before each socket read
  std::vector<uint8_t> read_buf;             // one buffer for every recv()
  std::vector<DecodedMessage> messages;      // ChunkParser output, cleared and reused
  std::vector<HttpFlvEvent> flv_events;      // HttpFlvParser output, cleared and reused
  std::vector<uint8_t> payload;              // scratch for building one command
  std::vector<uint8_t> wire;                 // scratch for its chunk
  // Live counts for the once-a-second line.
  uint32_t connected = 0;                    // TCP established and not (yet) failed
  uint32_t playing = 0;                      // got media and not failed
  uint32_t failed = 0;
  uint64_t bytes_in = 0;                     // all players, all time
  bool in_window = false;                    // the steady window is running
  int64_t timeout_us = 10'000'000;           // --timeout: each step before media, and media after play
};

enum class PlayerState : uint8_t {
  kIdle,          // not started yet
  kConnecting,    // TCP connect in progress
  kHandshake,     // C0+C1 sent, waiting for S0+S1+S2
  kRequest,       // HTTP-FLV: GET sent, waiting for the response head
  kConnect,       // connect sent, waiting for its _result
  kCreateStream,  // createStream sent
  kPlay,          // play sent (HTTP-FLV: a 2xx response head came), waiting for media
  kPlaying,       // media arrived
  kFailed,
  kClosed,        // closed by us at the end of the run
};

// Video timestamp steps seen by one player, as (step ms, count): a stream has a handful
// of distinct steps (40 ms at 25 fps), so a short list beats a histogram.
class StepCounts {
 public:
  void Add(int32_t step);
  // Median step; 0 when there are no steps.
  int32_t Median() const;
  // How many steps are larger than `limit`.
  uint64_t CountAbove(double limit) const;
  uint64_t total() const { return total_; }

 private:
  std::vector<std::pair<int32_t, uint32_t>> counts_;
  uint64_t total_ = 0;
};

struct PlayerStats {
  uint64_t bytes = 0;
  uint64_t video = 0;              // video frames (sequence headers not counted)
  uint64_t audio = 0;              // audio frames (sequence headers not counted)
  int64_t first_media_ms = -1;     // from the start of TCP connect to the first frame
  int64_t max_gap_us = 0;          // longest time between two frames' arrival
  int64_t max_gap_window_us = 0;   // the same, within the steady window
  int32_t max_video_step = 0;      // longest step between consecutive video timestamps (ms)
  StepCounts steps;
  std::string failure;             // empty unless failed
  // Counters and time at this player's edges of the steady window. Servers send in
  // batches (merged writes, e.g. every 350 ms), so each edge is moved to the first batch
  // that arrives at or after the window's edge: the rates then cover whole batches and do
  // not depend on where the window's edges fall between two batches.
  uint64_t win_bytes[2] = {0, 0};
  uint64_t win_video[2] = {0, 0};
  uint64_t win_audio[2] = {0, 0};
  int64_t win_us[2] = {0, 0};
  bool alive_at_window_end = false;
};

class Player {
 public:
  Player(uint32_t index, uint32_t max_message_size, uint32_t max_tag_size)
      : index_(index), parser_(max_message_size, 64), http_(max_tag_size) {}
  Player(const Player&) = delete;
  Player& operator=(const Player&) = delete;

  // Opens the socket and starts connecting. Failures are recorded, never thrown.
  void Start(Shared& s);
  // epoll reported `events` on this player's socket.
  void OnEvents(Shared& s, uint32_t events);
  // Called a few times a second: enforces the time limits of each state.
  void CheckTimeouts(Shared& s);
  // Closes the socket at the end of the run (not a failure).
  void Stop(Shared& s);
  // Records the counters at the start (0) or end (1) of the steady window, to be moved to
  // the next batch that arrives (PlayerStats::win_*).
  void SnapshotWindow(int which, int64_t now_us);
  // Still waiting for the first batch after a window edge.
  bool edge_pending() const { return edge_pending_ >= 0; }

  PlayerState state() const { return state_; }
  bool failed() const { return state_ == PlayerState::kFailed; }
  bool playing() const { return state_ == PlayerState::kPlaying; }
  // Was playing when Stop() closed it at the end of the run.
  bool playing_at_stop() const { return playing_at_stop_; }
  const PlayerStats& stats() const { return stats_; }
  uint32_t index() const { return index_; }

 private:
  void Fail(Shared& s, std::string reason);
  void CloseSocket(Shared& s);
  void OnConnected(Shared& s);
  void OnReadable(Shared& s);
  void OnWritable(Shared& s);
  // Consumes handshake bytes; returns how many of `len` it used.
  size_t Handshake(Shared& s, const uint8_t* p, size_t len);
  void OnMessage(Shared& s, const DecodedMessage& m);
  void OnCommand(Shared& s, const uint8_t* p, size_t len);
  void OnMedia(Shared& s, uint8_t type, uint32_t timestamp, const uint8_t* p, size_t len);
  void OnAggregate(Shared& s, uint32_t timestamp, const uint8_t* p, size_t len);
  // HTTP-FLV: response bytes after the socket read.
  void OnHttpBytes(Shared& s, const uint8_t* p, size_t len);
  void OnHttpEvent(Shared& s, const HttpFlvEvent& e);
  void SendControl(Shared& s, uint8_t type, const uint8_t* payload, size_t len);
  void SendUserControl(Shared& s, uint16_t event, uint32_t value, bool with_extra, uint32_t extra);
  // Sends s.payload as one message.
  void SendPayload(Shared& s, uint8_t csid, uint8_t type, uint32_t stream_id);
  void Send(Shared& s, const uint8_t* data, size_t len);
  void SetWantWrite(Shared& s, bool want);

  uint32_t index_;
  int fd_ = -1;
  PlayerState state_ = PlayerState::kIdle;
  bool want_write_ = false;
  bool playing_at_stop_ = false;
  ChunkParser parser_;              // RTMP
  HttpFlvParser http_;              // HTTP-FLV
  std::vector<uint8_t> handshake_;  // S0+S1+S2 as it arrives; released after
  std::vector<uint8_t> outbox_;     // bytes the socket did not take yet
  uint32_t peer_window_ = 0;        // the server's Window Acknowledgement Size
  uint64_t last_ack_ = 0;
  uint32_t stream_id_ = 0;
  int64_t started_us_ = 0;          // TCP connect began
  int64_t state_since_us_ = 0;
  int64_t last_media_us_ = 0;
  int8_t edge_pending_ = -1;        // the window edge (0, 1) waiting for the next batch
  uint64_t read_start_bytes_ = 0;   // stats_.bytes before the current read
  bool have_video_ts_ = false;
  uint32_t last_video_ts_ = 0;
  PlayerStats stats_;
};

}  // namespace sluice::load

#endif
