// sluice-load: plays one RTMP or HTTP-FLV stream N times from one thread (epoll,
// non-blocking sockets) and reports what each player received. See docs/load.md.
#include <netdb.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "../chunk_parser.h"
#include "http_flv.h"
#include "player.h"
#include "report.h"

namespace sluice::load {
namespace {

constexpr uint32_t kMaxMessageSize = 0xFFFFFF;  // the largest length a chunk header can carry
constexpr uint32_t kMaxChunkStreams = 64;
constexpr size_t kReadBufferSize = 128 * 1024;
constexpr int64_t kTailLimitUs = 2'000'000;     // longest wait after the window for each player's next batch
constexpr int kExitOk = 0, kExitFailures = 1, kExitUsage = 2, kExitFatal = 3;

const char kUsage[] =
    "usage: sluice-load -u rtmp://HOST[:PORT]/APP/STREAM -c PLAYERS [options]\n"
    "       sluice-load -u http://HOST[:PORT]/PATH.flv -c PLAYERS [options]\n"
    "\n"
    "Plays the stream PLAYERS times from one process and reports what each player got.\n"
    "The URL's scheme picks the protocol: rtmp:// plays over RTMP, http:// over HTTP-FLV.\n"
    "\n"
    "  -u, --url URL        the stream to play (or give the URL as the one bare argument)\n"
    "  -c, -n, --players N  how many players (default 1)\n"
    "  -r, --rate N         players started per second during the ramp (default 200)\n"
    "  -d, --duration S     seconds of steady window after the ramp; 0 = until SIGINT (default 30)\n"
    "      --settle S       seconds between every player playing and the window (default 1)\n"
    "      --timeout S      a player fails when a step before media, or the first media after\n"
    "                       play (HTTP-FLV: after the response head), takes longer than S\n"
    "                       seconds (default 10)\n"
    "      --json FILE      also write the summary and per-player records as JSON\n"
    "      --max-tag-size N HTTP-FLV: a tag with a larger DataSize fails the player\n"
    "                       (bytes, default 8388608, at most 16777215)\n"
    "  -q, --quiet          no once-a-second progress lines\n"
    "  -h, --help           this text\n"
    "\n"
    "      --dechunk FILE   test mode: decode FILE as an RTMP chunk stream (fed in 7-byte\n"
    "                       pieces) and print one JSON line per message; with\n"
    "                       --max-message-size N and --max-chunk-streams N\n"
    "      --parse-http-flv FILE  test mode: read FILE as an HTTP response carrying FLV (fed\n"
    "                       in 7-byte pieces) and print one JSON line per event; with\n"
    "                       --max-tag-size N\n"
    "      --piece-size N   the piece size of both test modes (default 7)\n"
    "\n"
    "Exit status: 0 no player failed, 1 some player failed, 2 bad usage, 3 could not start.\n";

struct Options {
  std::string url;
  uint32_t players = 1;
  double rate = 200;
  double duration_s = 30;
  double settle_s = 1;
  double timeout_s = 10;
  std::string json;
  bool quiet = false;
  std::string dechunk;
  std::string parse_http_flv;
  size_t piece_size = 7;
  uint32_t max_message_size = kMaxMessageSize;
  uint32_t max_chunk_streams = kMaxChunkStreams;
  uint32_t max_tag_size = HttpFlvParser::kDefaultMaxTagSize;
};

int Usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "sluice-load: %s\n\n", why);
  std::fputs(kUsage, stderr);
  return kExitUsage;
}

bool ParseNumber(const char* s, double lo, double hi, double* out) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !std::isfinite(v) || v < lo || v > hi) return false;
  *out = v;
  return true;
}

// Returns -1 when parsed, else an exit code (help or usage error).
int ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char** v) {
      if (i + 1 >= argc) return false;
      *v = argv[++i];
      return true;
    };
    const char* v = nullptr;
    double n = 0;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    } else if (a == "-q" || a == "--quiet") {
      o->quiet = true;
    } else if (a == "-u" || a == "--url") {
      if (!value(&v)) return Usage("-u needs a URL");
      o->url = v;
    } else if (a == "-c" || a == "-n" || a == "--players") {
      if (!value(&v) || !ParseNumber(v, 1, 1'000'000, &n) || n != std::floor(n)) {
        return Usage((a + " needs a whole number of players, 1..1000000").c_str());
      }
      o->players = uint32_t(n);
    } else if (a == "-r" || a == "--rate") {
      if (!value(&v) || !ParseNumber(v, 0.001, 1e9, &n)) return Usage("-r needs a rate > 0 (players per second)");
      o->rate = n;
    } else if (a == "-d" || a == "--duration") {
      if (!value(&v) || !ParseNumber(v, 0, 1e9, &n)) return Usage("-d needs seconds >= 0");
      o->duration_s = n;
    } else if (a == "--settle") {
      if (!value(&v) || !ParseNumber(v, 0, 3600, &n)) return Usage("--settle needs seconds >= 0");
      o->settle_s = n;
    } else if (a == "--timeout") {
      if (!value(&v) || !ParseNumber(v, 0.1, 3600, &n)) return Usage("--timeout needs seconds >= 0.1");
      o->timeout_s = n;
    } else if (a == "--json") {
      if (!value(&v)) return Usage("--json needs a file name");
      o->json = v;
    } else if (a == "--dechunk") {
      if (!value(&v)) return Usage("--dechunk needs a file name");
      o->dechunk = v;
    } else if (a == "--max-message-size") {
      if (!value(&v) || !ParseNumber(v, 1, 0x7FFFFFFF, &n)) return Usage("--max-message-size needs 1..2147483647");
      o->max_message_size = uint32_t(n);
    } else if (a == "--max-chunk-streams") {
      if (!value(&v) || !ParseNumber(v, 1, 65600, &n)) return Usage("--max-chunk-streams needs 1..65600");
      o->max_chunk_streams = uint32_t(n);
    } else if (a == "--max-tag-size") {
      if (!value(&v) || !ParseNumber(v, 1, 0xFFFFFF, &n) || n != std::floor(n)) {
        return Usage("--max-tag-size needs bytes, 1..16777215");
      }
      o->max_tag_size = uint32_t(n);
    } else if (a == "--parse-http-flv") {
      if (!value(&v)) return Usage("--parse-http-flv needs a file name");
      o->parse_http_flv = v;
    } else if (a == "--piece-size") {
      if (!value(&v) || !ParseNumber(v, 1, 1 << 24, &n) || n != std::floor(n)) {
        return Usage("--piece-size needs bytes, 1..16777216");
      }
      o->piece_size = size_t(n);
    } else if (!a.empty() && a[0] != '-' && o->url.empty()) {
      o->url = a;  // `sluice-load URL -c N`
    } else {
      return Usage(("unknown argument: " + a).c_str());
    }
  }
  if (o->dechunk.empty() && o->parse_http_flv.empty() && o->url.empty()) return Usage("-u URL is required");
  return -1;
}

// host[:port] or [v6]:port, the URL's authority; the port when left out is `port`.
bool ParseAuthority(const std::string& hostport, const char* default_port, Target* t, std::string* why) {
  std::string port = default_port;
  if (hostport.find('@') != std::string::npos) return *why = "user names and passwords in the URL are not supported", false;
  if (!hostport.empty() && hostport[0] == '[') {  // [v6]:port
    const size_t close = hostport.find(']');
    if (close == std::string::npos) return *why = "bad IPv6 host in the URL", false;
    t->host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') port = hostport.substr(close + 2);
  } else {
    const size_t colon = hostport.rfind(':');
    t->host = hostport.substr(0, colon);
    if (colon != std::string::npos) port = hostport.substr(colon + 1);
  }
  double p = 0;
  if (t->host.empty() || !ParseNumber(port.c_str(), 1, 65535, &p) || p != std::floor(p)) {
    return *why = "bad host or port in the URL", false;
  }
  t->port = uint16_t(p);
  return true;
}

bool Resolve(Target* t, std::string* why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(t->host.c_str(), std::to_string(t->port).c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) return *why = "cannot resolve " + t->host + ": " + gai_strerror(rc), false;
  std::memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
  t->addr_len = res->ai_addrlen;
  freeaddrinfo(res);
  return true;
}

// rtmp://host[:port]/app[/more]/stream[?query]: the stream is the last path segment (its
// query string kept), the app everything before it, as ffmpeg and SRS split it.
bool ParseRtmpUrl(const std::string& url, Target* t, std::string* why) {
  const std::string scheme = "rtmp://";
  const size_t slash = url.find('/', scheme.size());
  if (slash == std::string::npos) return *why = "the URL has no /app/stream path", false;
  const std::string hostport = url.substr(scheme.size(), slash - scheme.size());
  if (!ParseAuthority(hostport, "1935", t, why)) return false;
  const std::string path = url.substr(slash + 1);
  const size_t query = path.find('?');
  size_t split = path.rfind('/', query == std::string::npos ? std::string::npos : query);
  if (split == std::string::npos) split = path.rfind('/');
  if (split == std::string::npos || split == 0 || split + 1 >= path.size()) {
    return *why = "the URL needs both an app and a stream: rtmp://host/app/stream", false;
  }
  t->app = path.substr(0, split);
  t->stream = path.substr(split + 1);
  if (t->app.size() + t->stream.size() > 2000) return *why = "the URL is too long", false;
  t->tc_url = scheme + hostport + "/" + t->app;
  t->protocol = Protocol::kRtmp;
  return true;
}

// http://host[:port][/path][?query]: one GET of path?query, with the authority as written
// for Host (RFC 9112 3.2); the fragment is not sent.
bool ParseHttpUrl(const std::string& url, Target* t, std::string* why) {
  const std::string scheme = "http://";
  size_t auth_end = url.find_first_of("/?#", scheme.size());
  if (auth_end == std::string::npos) auth_end = url.size();
  const std::string hostport = url.substr(scheme.size(), auth_end - scheme.size());
  if (!ParseAuthority(hostport, "80", t, why)) return false;
  std::string target = url.substr(auth_end);
  target = target.substr(0, target.find('#'));
  if (target.empty() || target[0] != '/') target = "/" + target;
  if (target.size() > 2000) return *why = "the URL is too long", false;
  for (unsigned char c : target) {
    // A request-target has no spaces, controls or raw non-ASCII bytes (RFC 9112 3.2).
    if (c <= 0x20 || c >= 0x7f) return *why = "the URL's path has a character that must be percent-encoded", false;
  }
  t->http_request = "GET " + target + " HTTP/1.1\r\nHost: " + hostport +
                    "\r\nUser-Agent: sluice-load\r\nAccept: */*\r\n\r\n";
  t->protocol = Protocol::kHttpFlv;
  return true;
}

// The scheme picks the protocol.
bool ParseUrl(const std::string& url, Target* t, std::string* why) {
  auto starts = [&url](const char* prefix) { return url.compare(0, std::strlen(prefix), prefix) == 0; };
  bool ok;
  if (starts("rtmp://")) {
    ok = ParseRtmpUrl(url, t, why);
  } else if (starts("http://")) {
    ok = ParseHttpUrl(url, t, why);
  } else if (starts("https://") || starts("rtmps://")) {
    return *why = "TLS (https://, rtmps://) is not supported", false;
  } else {
    return *why = "the URL must start with rtmp:// or http://", false;
  }
  if (!ok) return false;
  t->url = url;
  return Resolve(t, why);
}

std::vector<uint8_t> ReadFile(const std::string& path, bool* ok) {
  std::vector<uint8_t> data;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  *ok = f != nullptr;
  if (f == nullptr) {
    std::fprintf(stderr, "sluice-load: cannot open %s: %s\n", path.c_str(), std::strerror(errno));
    return data;
  }
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.insert(data.end(), buf, buf + n);
  std::fclose(f);
  return data;
}

std::string JsonEscape(const std::string& in) {
  std::string out;
  for (char c : in) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Test mode: the same ChunkParser the players use, fed in --piece-size pieces (7 by
// default); one JSON line per message, or an error line and status 1.
int Dechunk(const Options& o) {
  bool read = false;
  const std::vector<uint8_t> data = ReadFile(o.dechunk, &read);
  if (!read) return kExitFatal;
  ChunkParser parser(o.max_message_size, o.max_chunk_streams);
  std::vector<DecodedMessage> messages;
  for (size_t off = 0; off < data.size(); off += o.piece_size) {
    messages.clear();
    const bool ok = parser.Feed(data.data() + off, std::min<size_t>(o.piece_size, data.size() - off), messages);
    for (const DecodedMessage& m : messages) {
      std::printf("{\"csid\":%u,\"type\":%u,\"streamId\":%u,\"timestamp\":%u,\"length\":%zu}\n", m.csid,
                  unsigned(m.type), m.stream_id, m.timestamp, size_t(m.size));
    }
    if (!ok) {
      std::printf("{\"error\":\"%s\",\"message\":\"%s\"}\n", parser.error_code(),
                  JsonEscape(parser.error_message()).c_str());
      return 1;
    }
  }
  return kExitOk;
}

// Test mode: the HttpFlvParser the players use, fed in pieces; one JSON line per event,
// or an error line and status 1. A tag's "frame" is whether a player counts it as one.
int ParseHttpFlv(const Options& o) {
  bool read = false;
  const std::vector<uint8_t> data = ReadFile(o.parse_http_flv, &read);
  if (!read) return kExitFatal;
  HttpFlvParser parser(o.max_tag_size);
  std::vector<HttpFlvEvent> events;
  for (size_t off = 0; off < data.size(); off += o.piece_size) {
    events.clear();
    const bool ok = parser.Feed(data.data() + off, std::min<size_t>(o.piece_size, data.size() - off), events);
    for (const HttpFlvEvent& e : events) {
      switch (e.kind) {
        case HttpFlvEvent::Kind::kResponse:
          std::printf("{\"response\":{\"status\":%u,\"reason\":\"%s\",\"chunked\":%s,\"contentLength\":%s}}\n",
                      unsigned(e.status), JsonEscape(parser.reason()).c_str(), e.chunked ? "true" : "false",
                      e.content_length < 0 ? "null" : std::to_string(e.content_length).c_str());
          break;
        case HttpFlvEvent::Kind::kFlvHeader:
          std::printf("{\"flvHeader\":{\"version\":%u,\"flags\":%u,\"headerSize\":%u}}\n", unsigned(e.version),
                      unsigned(e.flags), e.header_size);
          break;
        case HttpFlvEvent::Kind::kTag: {
          const char* frame = "false";
          if (e.tag_type == 9 && IsVideoFrame(e.head, e.head_len)) frame = "true";
          if (e.tag_type == 8 && IsAudioFrame(e.head, e.head_len)) frame = "true";
          std::printf("{\"tag\":{\"type\":%u,\"timestamp\":%u,\"streamId\":%u,\"size\":%u,\"frame\":%s}}\n",
                      unsigned(e.tag_type), e.timestamp, e.stream_id, e.size, frame);
          break;
        }
        case HttpFlvEvent::Kind::kEnd:
          std::printf("{\"end\":{\"bodyBytes\":%llu}}\n", static_cast<unsigned long long>(parser.body_bytes()));
          break;
      }
    }
    if (!ok) {
      std::printf("{\"error\":\"%s\",\"message\":\"%s\"}\n", parser.error_code(),
                  JsonEscape(parser.error_message()).c_str());
      return 1;
    }
  }
  return kExitOk;
}

std::string IsoNow() {
  char buf[32];
  const time_t now = time(nullptr);
  tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

double CpuSeconds(bool user) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const timeval& tv = user ? ru.ru_utime : ru.ru_stime;
  return double(tv.tv_sec) + double(tv.tv_usec) / 1e6;
}

// More sockets than the default 1024: raise the soft limit to the hard one.
void RaiseFileLimit(uint32_t players) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rlim_t(players) + 16) {
    std::fprintf(stderr, "sluice-load: warning: the open-files limit is %llu, so fewer than %u players can connect\n",
                 static_cast<unsigned long long>(rl.rlim_cur), players);
  }
}

enum class Phase { kRamp, kSettle, kSteady, kTail, kDone };

int Run(const Options& o) {
  Target target;
  std::string why;
  if (!ParseUrl(o.url, &target, &why)) return Usage(why.c_str());
  RaiseFileLimit(o.players);

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  const int sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (sig_fd < 0 || ep < 0) {
    std::fprintf(stderr, "sluice-load: cannot set up epoll: %s\n", std::strerror(errno));
    return kExitFatal;
  }
  epoll_event sev{};
  sev.events = EPOLLIN;
  sev.data.ptr = nullptr;  // players are never null
  epoll_ctl(ep, EPOLL_CTL_ADD, sig_fd, &sev);

  Shared s;
  s.target = &target;
  s.timeout_us = int64_t(o.timeout_s * 1e6);
  // The longest wait after the ramp for the last players to play (or fail by --timeout).
  const int64_t settle_limit_us = s.timeout_us + 5'000'000;
  s.epoll_fd = ep;
  s.read_buf.resize(kReadBufferSize);
  s.messages.reserve(256);
  s.payload.reserve(4096);
  s.wire.reserve(4096);

  std::vector<std::unique_ptr<Player>> players;
  players.reserve(o.players);
  for (uint32_t i = 0; i < o.players; ++i) players.push_back(std::make_unique<Player>(i, kMaxMessageSize, o.max_tag_size));

  RunInfo run;
  run.url = o.url;
  run.protocol = target.protocol == Protocol::kHttpFlv ? "http-flv" : "rtmp";
  run.players = o.players;
  run.rate = o.rate;
  run.duration_s = o.duration_s;
  run.settle_s = o.settle_s;
  run.started_at = IsoNow();

  const int64_t t0 = MonotonicUs();
  auto secs = [t0](int64_t t) { return double(t - t0) / 1e6; };
  Phase phase = Phase::kRamp;
  uint32_t started = 0;
  int64_t ramp_end = 0, all_playing_at = 0, window_start = 0, tail_until = 0;
  int64_t next_report = t0 + 1'000'000, next_check = t0;
  uint64_t last_bytes = 0;
  int64_t last_report = t0;
  double cpu_user0 = 0, cpu_sys0 = 0;
  std::vector<epoll_event> events(1024);

  if (!o.quiet) {
    char then[48] = "until SIGINT";
    if (o.duration_s > 0) std::snprintf(then, sizeof then, "%g s steady", o.duration_s);
    std::printf("sluice-load: %u players of %s, %g/s, then %s\n", o.players, o.url.c_str(), o.rate, then);
    std::fflush(stdout);
  }

  auto begin_window = [&](int64_t now) {
    phase = Phase::kSteady;
    window_start = now;
    s.in_window = true;
    for (auto& p : players) p->SnapshotWindow(0, now);
    cpu_user0 = CpuSeconds(true);
    cpu_sys0 = CpuSeconds(false);
    if (!o.quiet) {
      std::printf("[t=%.1fs] steady window begins: %u playing, %u failed\n", secs(now), s.playing, s.failed);
      std::fflush(stdout);
    }
  };
  auto end_window = [&](int64_t now) {
    for (auto& p : players) p->SnapshotWindow(1, now);
    s.in_window = false;
    phase = Phase::kTail;
    tail_until = now + kTailLimitUs;
    run.window_valid = true;
    run.window_start_s = secs(window_start);
    run.window_end_s = secs(now);
    run.cpu_user_s = CpuSeconds(true) - cpu_user0;
    run.cpu_sys_s = CpuSeconds(false) - cpu_sys0;
  };

  while (phase != Phase::kDone) {
    int64_t now = MonotonicUs();
    s.now_us = now;
    // Ramp: the i-th player starts at t0 + i / rate.
    if (started < o.players) {
      const double due_d = 1 + std::floor(double(now - t0) / 1e6 * o.rate);
      const uint32_t due = due_d >= double(o.players) ? o.players : uint32_t(due_d);
      while (started < due) players[started++]->Start(s);
      if (started == o.players) {
        ramp_end = now;
        run.ramp_s = secs(now);
        phase = Phase::kSettle;
        if (!o.quiet) {
          std::printf("[t=%.1fs] ramp done: %u players started\n", secs(now), started);
          std::fflush(stdout);
        }
      }
    }
    // The window begins --settle seconds after every player plays (or failed): a joiner's
    // GOP-cache burst, and whatever the server held back during the ramp, would otherwise
    // count as frames per second.
    if (phase == Phase::kSettle) {
      if (all_playing_at == 0 && (s.playing + s.failed >= o.players || now - ramp_end >= settle_limit_us)) {
        all_playing_at = now;
      }
      if (all_playing_at != 0 && now - all_playing_at >= int64_t(o.settle_s * 1e6)) begin_window(now);
    }
    if (phase == Phase::kSteady && o.duration_s > 0 && now - window_start >= int64_t(o.duration_s * 1e6)) {
      end_window(now);
    }
    // After the window, wait for each player's next batch (PlayerStats::win_us), briefly.
    if (phase == Phase::kTail) {
      bool pending = false;
      for (auto& p : players) pending = pending || (p->edge_pending() && p->playing());
      if (!pending || now >= tail_until) break;
    }
    // Nothing left to measure when every player has failed.
    if (started == o.players && s.failed >= o.players) {
      if (phase == Phase::kSteady) end_window(now);
      break;
    }
    if (now >= next_check) {
      for (uint32_t i = 0; i < started; ++i) players[i]->CheckTimeouts(s);
      next_check = now + 100'000;
    }
    if (now >= next_report) {
      if (!o.quiet) {
        const double mbps = double(s.bytes_in - last_bytes) * 8 / (double(now - last_report) / 1e6) / 1e6;
        std::printf("[t=%.0fs] connected=%u playing=%u failed=%u Mbps=%.1f (recv)\n", secs(now), s.connected,
                    s.playing, s.failed, mbps);
        std::fflush(stdout);
      }
      last_bytes = s.bytes_in;
      last_report = now;
      next_report += 1'000'000;
      if (next_report <= now) next_report = now + 1'000'000;
    }

    int64_t wake = std::min(next_report, next_check);
    if (started < o.players) wake = std::min(wake, t0 + int64_t(double(started) / o.rate * 1e6));
    if (phase == Phase::kSteady && o.duration_s > 0) wake = std::min(wake, window_start + int64_t(o.duration_s * 1e6));
    if (phase == Phase::kTail) wake = std::min(wake, tail_until);
    if (all_playing_at != 0 && phase == Phase::kSettle) wake = std::min(wake, all_playing_at + int64_t(o.settle_s * 1e6));
    const int timeout_ms = int(std::max<int64_t>(0, (wake - now + 999) / 1000));
    const int n = epoll_wait(ep, events.data(), int(events.size()), timeout_ms);
    if (n < 0 && errno != EINTR) {
      std::fprintf(stderr, "sluice-load: epoll_wait: %s\n", std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        signalfd_siginfo info;
        while (read(sig_fd, &info, sizeof info) == ssize_t(sizeof info)) {
        }
        run.interrupted = true;
        const int64_t t = MonotonicUs();
        if (phase == Phase::kSteady) {
          end_window(t);  // then a short tail; a second signal ends that too
        } else {
          phase = Phase::kDone;
        }
        if (!o.quiet) {
          std::printf("[t=%.1fs] stopping on a signal\n", secs(t));
          std::fflush(stdout);
        }
        continue;
      }
      static_cast<Player*>(events[i].data.ptr)->OnEvents(s, events[i].events);
    }
  }

  for (auto& p : players) p->Stop(s);
  close(ep);
  close(sig_fd);

  const Summary summary = Summarize(players, run);
  PrintSummary(stdout, summary);
  if (!o.json.empty() && !WriteJson(o.json, summary, players)) {
    std::fprintf(stderr, "sluice-load: cannot write %s: %s\n", o.json.c_str(), std::strerror(errno));
    return kExitFatal;
  }
  return summary.failed > 0 || summary.first_media_ms.valid == false ? kExitFailures : kExitOk;
}

}  // namespace
}  // namespace sluice::load

int main(int argc, char** argv) {
  sluice::load::Options o;
  const int parsed = sluice::load::ParseArgs(argc, argv, &o);
  if (parsed >= 0) return parsed;
  if (!o.dechunk.empty()) return sluice::load::Dechunk(o);
  if (!o.parse_http_flv.empty()) return sluice::load::ParseHttpFlv(o);
  return sluice::load::Run(o);
}
