// Reduces the players' records to the summary and writes it as text and JSON.
#include "report.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace sluice::load {

namespace {

// Nearest-rank percentile of a sorted, non-empty vector.
double Percentile(const std::vector<double>& sorted, double p) {
  size_t rank = size_t(std::ceil(p * double(sorted.size())));
  if (rank < 1) rank = 1;
  return sorted[std::min(rank, sorted.size()) - 1];
}

Spread SpreadOf(std::vector<double> v) {
  Spread s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.valid = true;
  s.min = v.front();
  s.max = v.back();
  s.median = Percentile(v, 0.5);
  s.p95 = Percentile(v, 0.95);
  return s;
}

std::string JsonString(const std::string& in) {
  std::string out = "\"";
  for (unsigned char c : in) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}

// A number with up to `digits` decimals, or null when negative (not measured) or not finite.
std::string Num(double v, int digits = 1) {
  if (!std::isfinite(v) || v < 0) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  // Trim trailing zeros so integers read as integers.
  std::string s(buf);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

std::string SpreadJson(const Spread& s, bool with_p95) {
  if (!s.valid) return "null";
  std::string out = "{\"min\": " + Num(s.min, 2) + ", \"median\": " + Num(s.median, 2);
  if (with_p95) out += ", \"p95\": " + Num(s.p95, 2);
  return out + ", \"max\": " + Num(s.max, 2) + "}";
}

}  // namespace

Summary Summarize(const std::vector<std::unique_ptr<Player>>& players, const RunInfo& run) {
  Summary s;
  s.run = run;
  const double window = run.window_valid ? run.window_end_s - run.window_start_s : 0;
  std::vector<double> kbps, fps, aps, ttfm;
  double window_bps = 0;
  s.per_player.resize(players.size());
  for (size_t i = 0; i < players.size(); ++i) {
    const Player& p = *players[i];
    const PlayerStats& st = p.stats();
    PlayerFigures& f = s.per_player[i];
    if (p.state() != PlayerState::kIdle) ++s.started;
    if (p.failed()) {
      ++s.failed;
      ++s.failures[st.failure];
    }
    if (st.first_media_ms >= 0) ttfm.push_back(double(st.first_media_ms));
    s.worst_gap_ms = std::max(s.worst_gap_ms, double(st.max_gap_us) / 1000.0);
    s.worst_gap_window_ms = std::max(s.worst_gap_window_ms, double(st.max_gap_window_us) / 1000.0);
    s.worst_video_step_ms = std::max(s.worst_video_step_ms, st.max_video_step);
    f.median_step = st.steps.Median();
    f.frames_lost = f.median_step > 0 ? st.steps.CountAbove(1.5 * f.median_step) : 0;
    s.frames_lost += f.frames_lost;
    if (f.frames_lost > 0) ++s.players_losing_frames;
    const double span = double(st.win_us[1] - st.win_us[0]) / 1e6;  // this player's window
    if (window > 0 && span > 0) {
      window_bps += double(st.win_bytes[1] - st.win_bytes[0]) * 8 / span;
      if (st.alive_at_window_end) {
        f.kbps = double(st.win_bytes[1] - st.win_bytes[0]) * 8 / span / 1000;
        f.fps = double(st.win_video[1] - st.win_video[0]) / span;
        f.audio_per_s = double(st.win_audio[1] - st.win_audio[0]) / span;
        kbps.push_back(f.kbps);
        fps.push_back(f.fps);
        aps.push_back(f.audio_per_s);
      }
    }
    if (run.window_valid ? st.alive_at_window_end : p.playing_at_stop()) ++s.playing_at_end;
  }
  s.kbps = SpreadOf(kbps);
  s.fps = SpreadOf(fps);
  s.audio_per_s = SpreadOf(aps);
  s.first_media_ms = SpreadOf(ttfm);
  if (window > 0) {
    s.mbps = window_bps / 1e6;
    s.cpu_percent = (run.cpu_user_s + run.cpu_sys_s) / window * 100;
  }
  return s;
}

void PrintSummary(std::FILE* out, const Summary& s) {
  const RunInfo& r = s.run;
  std::fprintf(out, "\nsluice-load summary: %s\n", r.url.c_str());
  std::fprintf(out, "  protocol       %s\n", r.protocol.c_str());
  std::fprintf(out, "  players        %u requested, %u started, %u playing at the end, %u failed\n", r.players,
               s.started, s.playing_at_end, s.failed);
  for (const auto& [reason, n] : s.failures) std::fprintf(out, "  failed         %u: %s\n", n, reason.c_str());
  if (r.window_valid && r.window_end_s > r.window_start_s) {
    std::fprintf(out, "  steady window  %.1f s (t=%.1fs..%.1fs)%s\n", r.window_end_s - r.window_start_s,
                 r.window_start_s, r.window_end_s, r.interrupted ? ", ended by a signal" : "");
    std::fprintf(out, "  delivered      %.1f Mbps (all players)\n", s.mbps);
    if (s.kbps.valid) {
      std::fprintf(out, "  kbps/player    min %.1f  median %.1f  max %.1f\n", s.kbps.min, s.kbps.median, s.kbps.max);
      std::fprintf(out, "  video fps      min %.2f  median %.2f  max %.2f\n", s.fps.min, s.fps.median, s.fps.max);
      std::fprintf(out, "  audio msg/s    min %.2f  median %.2f  max %.2f\n", s.audio_per_s.min,
                   s.audio_per_s.median, s.audio_per_s.max);
    }
    std::fprintf(out, "  load cpu       %.1f %% of one core (sluice-load itself: user %.1f %%, system %.1f %%)\n",
                 s.cpu_percent, r.cpu_user_s / (r.window_end_s - r.window_start_s) * 100,
                 r.cpu_sys_s / (r.window_end_s - r.window_start_s) * 100);
  } else {
    std::fprintf(out, "  steady window  none: the run ended before it began, so no per-player rates\n");
  }
  if (s.first_media_ms.valid) {
    std::fprintf(out, "  worst gap      %.0f ms between two frames' arrival (whole run)", s.worst_gap_ms);
    if (r.window_valid) std::fprintf(out, ", %.0f ms in the steady window", s.worst_gap_window_ms);
    std::fprintf(out, "\n");
    std::fprintf(out, "  video ts step  worst %d ms\n", s.worst_video_step_ms);
    std::fprintf(out, "  frames lost    %llu (video timestamp steps > 1.5x the median step, %u players)\n",
                 static_cast<unsigned long long>(s.frames_lost), s.players_losing_frames);
    std::fprintf(out, "  first media    median %.0f ms  p95 %.0f ms  max %.0f ms (from TCP connect)\n",
                 s.first_media_ms.median, s.first_media_ms.p95, s.first_media_ms.max);
  }
  std::fflush(out);
}

bool WriteJson(const std::string& path, const Summary& s, const std::vector<std::unique_ptr<Player>>& players) {
  const RunInfo& r = s.run;
  std::string j;
  j.reserve(256 + players.size() * 200);
  j += "{\n  \"version\": 1,\n";
  j += "  \"url\": " + JsonString(r.url) + ",\n";
  j += "  \"protocol\": " + JsonString(r.protocol) + ",\n";
  j += "  \"startedAt\": " + JsonString(r.started_at) + ",\n";
  j += "  \"options\": {\"players\": " + std::to_string(r.players) + ", \"rate\": " + Num(r.rate, 3) +
       ", \"duration\": " + Num(r.duration_s, 3) +
       ", \"settle\": " + Num(r.settle_s, 3) + "},\n";
  j += "  \"rampSeconds\": " + Num(r.ramp_s, 3) + ",\n";
  if (r.window_valid) {
    j += "  \"window\": {\"start\": " + Num(r.window_start_s, 3) + ", \"end\": " + Num(r.window_end_s, 3) +
         ", \"seconds\": " + Num(r.window_end_s - r.window_start_s, 3) + "},\n";
  } else {
    j += "  \"window\": null,\n";
  }
  j += std::string("  \"interrupted\": ") + (r.interrupted ? "true" : "false") + ",\n";
  j += "  \"players\": {\"requested\": " + std::to_string(r.players) + ", \"started\": " + std::to_string(s.started) +
       ", \"playing\": " + std::to_string(s.playing_at_end) + ", \"failed\": " + std::to_string(s.failed) + "},\n";
  j += "  \"failures\": {";
  bool first = true;
  for (const auto& [reason, n] : s.failures) {
    j += (first ? "" : ", ") + JsonString(reason) + ": " + std::to_string(n);
    first = false;
  }
  j += "},\n";
  j += "  \"mbps\": " + (r.window_valid ? Num(s.mbps, 3) : std::string("null")) + ",\n";
  j += "  \"kbps\": " + SpreadJson(s.kbps, false) + ",\n";
  j += "  \"fps\": " + SpreadJson(s.fps, false) + ",\n";
  j += "  \"audioPerSecond\": " + SpreadJson(s.audio_per_s, false) + ",\n";
  j += "  \"firstMediaMs\": " + SpreadJson(s.first_media_ms, true) + ",\n";
  j += "  \"worstGapMs\": " + Num(s.worst_gap_ms, 1) + ",\n";
  j += "  \"worstGapInWindowMs\": " + (r.window_valid ? Num(s.worst_gap_window_ms, 1) : std::string("null")) + ",\n";
  j += "  \"worstVideoStepMs\": " + std::to_string(s.worst_video_step_ms) + ",\n";
  j += "  \"framesLost\": " + std::to_string(s.frames_lost) + ",\n";
  j += "  \"playersLosingFrames\": " + std::to_string(s.players_losing_frames) + ",\n";
  j += "  \"cpu\": " +
       (r.window_valid ? "{\"percentOfOneCore\": " + Num(s.cpu_percent, 2) + ", \"userSeconds\": " + Num(r.cpu_user_s, 3) +
                             ", \"systemSeconds\": " + Num(r.cpu_sys_s, 3) + "}"
                       : std::string("null")) +
       ",\n";
  j += "  \"perPlayer\": [";
  for (size_t i = 0; i < players.size(); ++i) {
    const PlayerStats& st = players[i]->stats();
    const PlayerFigures& f = s.per_player[i];
    j += i == 0 ? "\n    " : ",\n    ";
    j += "{\"index\": " + std::to_string(i) + ", \"bytes\": " + std::to_string(st.bytes) +
         ", \"video\": " + std::to_string(st.video) + ", \"audio\": " + std::to_string(st.audio) +
         ", \"firstMediaMs\": " + (st.first_media_ms >= 0 ? std::to_string(st.first_media_ms) : "null") +
         ", \"maxGapMs\": " + Num(double(st.max_gap_us) / 1000.0, 1) +
         ", \"maxGapInWindowMs\": " + Num(double(st.max_gap_window_us) / 1000.0, 1) +
         ", \"maxVideoStepMs\": " + std::to_string(st.max_video_step) +
         ", \"medianVideoStepMs\": " + std::to_string(f.median_step) +
         ", \"framesLost\": " + std::to_string(f.frames_lost) + ", \"kbps\": " + Num(f.kbps, 1) +
         ", \"fps\": " + Num(f.fps, 2) + ", \"audioPerSecond\": " + Num(f.audio_per_s, 2) +
         ", \"failure\": " + (st.failure.empty() ? std::string("null") : JsonString(st.failure)) + "}";
  }
  j += players.empty() ? "]\n}\n" : "\n  ]\n}\n";
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(j.data(), 1, j.size(), f) == j.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace sluice::load
