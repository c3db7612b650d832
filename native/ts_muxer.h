#ifndef SLUICE_TS_MUXER_H
#define SLUICE_TS_MUXER_H

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sluice {

// MPEG-TS muxer (ISO/IEC 13818-1) for one stream: FLV audio/video tag bodies as RTMP carries
// them in, 188-byte TS packets out. One program, PMT on PID 0x1001, video on 0x100 (stream
// id 0xE0), audio on 0x101 (stream id 0xC0). Pure C++; the Node-API class is TsMuxer below.
//
// Output goes straight into memory the caller gives (`out`, `cap` bytes): no buffer of the
// muxer's own in between. A call first checks its input in full, then works out exactly how
// many bytes the frame's packets take, and only then writes them, so that:
//   - bad input (kError, `error()` set) writes nothing and changes no state except learned
//     sequence headers, which are only replaced by a valid one;
//   - too little room (kNoRoom, `n` = the bytes needed) writes nothing and changes no state:
//     the same call with room enough then writes exactly those `n` bytes;
//   - kOk writes `n` bytes at `out` (0 for sequence headers and command frames), never more
//     than `cap`.
class TsMuxerCore {
 public:
  static constexpr uint16_t kPmtPid = 0x1001;
  static constexpr uint16_t kVideoPid = 0x100;
  static constexpr uint16_t kAudioPid = 0x101;

  enum class Result { kOk, kError, kNoRoom };

  TsMuxerCore() { Reset(); }

  Result MuxVideo(int64_t timestamp_ms, const uint8_t* data, size_t size, uint8_t* out, size_t cap, size_t& n);
  Result MuxAudio(int64_t timestamp_ms, const uint8_t* data, size_t size, uint8_t* out, size_t cap, size_t& n);
  // PAT + PMT for the streams seen so far (the PMT lists only those): kOk or kNoRoom.
  Result StartSegment(uint8_t* out, size_t cap, size_t& n);
  void Reset();

  const std::string& error() const { return error_; }

 private:
  enum class VideoCodec { kNone, kAvc, kHevc };
  enum class AudioCodec { kNone, kAac, kMp3 };

  // A piece of a PES packet: the PES is written from these without being assembled first.
  struct Span {
    const uint8_t* p;
    size_t n;
  };
  // Where packets go: `cap` bytes at `p`, `len` of them written.
  struct Out {
    uint8_t* p;
    size_t cap;
    size_t len;
  };

  bool Fail(const std::string& message);  // sets error(), returns false
  Result Bad(const std::string& message);  // sets error(), returns kError
  bool ParseAvcConfig(const uint8_t* p, size_t n);
  bool ParseHevcConfig(const uint8_t* p, size_t n);
  bool ParseAudioSpecificConfig(const uint8_t* p, size_t n);
  Result WriteVideoFrame(int64_t dts_ms, int64_t cts_ms, bool keyframe, const uint8_t* p, size_t n, Out& out,
                         size_t& written);
  // Writes the PES in spans_ (spans_[0] is reserved for its header) after PAT/PMT when the
  // tables are due; kNoRoom with `needed` when `out` is too small.
  Result WriteFrame(uint16_t pid, uint8_t stream_id, uint64_t pts, uint64_t dts, bool random_access, Out& out,
                    size_t& needed);
  bool TablesDue(uint32_t signature) const {
    return !tables_written_ || tables_signature_ != signature;
  }
  uint16_t PcrPid() const;
  bool WriteTables(Out& out);
  uint32_t Signature() const;
  bool WritePes(uint16_t pid, uint8_t stream_id, uint64_t pts, uint64_t dts, bool random_access, size_t header,
                Out& out);
  bool WriteSection(uint16_t pid, const uint8_t* section, size_t n, Out& out);

  VideoCodec video_ = VideoCodec::kNone;
  AudioCodec audio_ = AudioCodec::kNone;
  uint8_t mp3_stream_type_ = 0x03;
  // What the last written PMT lists; a frame of a stream it lacks writes new tables first.
  bool tables_written_ = false;
  uint32_t tables_signature_ = 0;
  uint8_t pmt_version_ = 0;
  uint16_t pcr_pid_ = 0x1FFF;
  uint8_t cc_pat_ = 0, cc_pmt_ = 0, cc_video_ = 0, cc_audio_ = 0;

  // Video decoder configuration: parameter sets as Annex B, NALU length field size.
  std::vector<uint8_t> parameter_sets_;
  int nalu_length_size_ = 0;
  // AAC: ADTS fields from the AudioSpecificConfig.
  bool have_asc_ = false;
  uint8_t adts_profile_ = 0, adts_sfi_ = 0, adts_channels_ = 0;

  // The PES being packetized: its header, then pieces of the caller's payload, our AUD,
  // start codes, parameter sets, the ADTS header (valid during one call only).
  std::vector<Span> spans_;
  uint8_t pes_header_[19] = {};
  std::string error_;
};

void InitTsMuxer(Napi::Env env, Napi::Object exports);

}  // namespace sluice

#endif
