#ifndef SLUICE_LOAD_REPORT_H
#define SLUICE_LOAD_REPORT_H

// The end-of-run summary: per-player figures over the steady window reduced to
// min/median/max, failures by reason; printed as text and written as JSON (docs/load.md).
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "player.h"

namespace sluice::load {

struct RunInfo {
  std::string url;
  std::string protocol;         // "rtmp" or "http-flv"
  uint32_t players = 0;
  double rate = 0;              // players started per second
  double duration_s = 0;        // -d; 0 = until SIGINT
  double settle_s = 0;          // --settle
  std::string started_at;       // ISO 8601, UTC
  double ramp_s = -1;           // when the last player was started (s from the run start)
  bool window_valid = false;    // false when the run was interrupted before the window began
  double window_start_s = 0;    // from the run start
  double window_end_s = 0;
  double cpu_user_s = 0;        // this process, over the steady window
  double cpu_sys_s = 0;
  bool interrupted = false;
};

struct Spread {
  bool valid = false;
  double min = 0, median = 0, max = 0, p95 = 0;
};

struct PlayerFigures {
  double kbps = -1;             // over the steady window; -1 when not measured
  double fps = -1;
  double audio_per_s = -1;
  uint64_t frames_lost = 0;
  int32_t median_step = 0;
};

struct Summary {
  RunInfo run;
  uint32_t started = 0;
  uint32_t playing_at_end = 0;  // playing when the window ended (or when stopped)
  uint32_t failed = 0;
  std::map<std::string, uint32_t> failures;
  Spread kbps, fps, audio_per_s, first_media_ms;
  double mbps = 0;              // all players, steady window
  double worst_gap_ms = 0;        // whole run, from each player's first frame
  double worst_gap_window_ms = 0; // steady window only
  int32_t worst_video_step_ms = 0;
  uint64_t frames_lost = 0;
  uint32_t players_losing_frames = 0;
  double cpu_percent = -1;      // of one core, this process, steady window
  std::vector<PlayerFigures> per_player;
};

Summary Summarize(const std::vector<std::unique_ptr<Player>>& players, const RunInfo& run);
void PrintSummary(std::FILE* out, const Summary& s);
// Writes the summary and the per-player records as JSON; false (with errno set) on failure.
bool WriteJson(const std::string& path, const Summary& s, const std::vector<std::unique_ptr<Player>>& players);

}  // namespace sluice::load

#endif
