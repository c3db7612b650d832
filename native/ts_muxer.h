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
class TsMuxerCore {
 public:
  static constexpr uint16_t kPmtPid = 0x1001;
  static constexpr uint16_t kVideoPid = 0x100;
  static constexpr uint16_t kAudioPid = 0x101;

  TsMuxerCore() { Reset(); }

  // Each call appends to `out` (cleared first) and returns false with `error()` set on bad
  // input; the muxer's state is unchanged by a failed call except for learned sequence
  // headers, which are only replaced by a valid one.
  bool MuxVideo(int64_t timestamp_ms, const uint8_t* data, size_t size, std::vector<uint8_t>& out);
  bool MuxAudio(int64_t timestamp_ms, const uint8_t* data, size_t size, std::vector<uint8_t>& out);
  // PAT + PMT for the streams seen so far (the PMT lists only those).
  void StartSegment(std::vector<uint8_t>& out);
  void Reset();

  const std::string& error() const { return error_; }

 private:
  enum class VideoCodec { kNone, kAvc, kHevc };
  enum class AudioCodec { kNone, kAac, kMp3 };

  bool Fail(const std::string& message);
  bool ParseAvcConfig(const uint8_t* p, size_t n);
  bool ParseHevcConfig(const uint8_t* p, size_t n);
  bool ParseAudioSpecificConfig(const uint8_t* p, size_t n);
  bool WriteVideoFrame(int64_t dts_ms, int64_t cts_ms, bool keyframe, const uint8_t* p, size_t n,
                       std::vector<uint8_t>& out);
  void WriteTables(std::vector<uint8_t>& out);
  uint32_t Signature() const;
  void EnsureTables(std::vector<uint8_t>& out);
  void WritePes(uint16_t pid, uint8_t stream_id, uint64_t pts, uint64_t dts, bool random_access,
                std::vector<uint8_t>& out);
  void WriteSection(uint16_t pid, const uint8_t* section, size_t n, std::vector<uint8_t>& out);

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

  std::vector<uint8_t> pes_;  // the PES being packetized (header + elementary stream)
  std::string error_;
};

void InitTsMuxer(Napi::Env env, Napi::Object exports);

}  // namespace sluice

#endif
