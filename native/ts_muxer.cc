// MPEG-TS muxer: FLV tag bodies (one frame per call) -> 188-byte TS packets.
//
// Facts used (ISO/IEC 13818-1): TS packet header and adaptation field (2.4.3.2-2.4.3.5), PES
// header with PTS/DTS (2.4.3.6-2.4.3.7), PAT/PMT sections with their CRC-32 (2.4.4, annex B).
// ISO/IEC 14496-15: AVC/HEVC decoder configuration records and length-prefixed NALUs.
// ISO/IEC 14496-3: AudioSpecificConfig (1.6.2.1) and the ADTS header (1.A.2.2).
#include "ts_muxer.h"

#include <algorithm>
#include <cstring>

#include "napi_error.h"

namespace sluice {

namespace {

constexpr size_t kPacket = 188;
constexpr uint64_t kMask33 = (uint64_t(1) << 33) - 1;
// Longest PES header we write: 9 fixed bytes + PTS + DTS.
constexpr size_t kMaxPesHeader = 19;

constexpr uint8_t kAvcAud[] = {0, 0, 0, 1, 0x09, 0xF0};
constexpr uint8_t kHevcAud[] = {0, 0, 0, 1, 0x46, 0x01, 0x50};
constexpr uint8_t kStartCode[] = {0, 0, 0, 1};

uint32_t Crc32Mpeg(const uint8_t* p, size_t n) {
  struct Table {
    uint32_t v[256];
    Table() {
      for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i << 24;
        for (int k = 0; k < 8; k++) c = (c & 0x80000000u) ? (c << 1) ^ 0x04C11DB7u : (c << 1);
        v[i] = c;
      }
    }
  };
  static const Table t;  // thread-safe initialization (worker threads)
  const uint32_t* table = t.v;
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) crc = (crc << 8) ^ table[((crc >> 24) ^ p[i]) & 0xFF];
  return crc;
}

int32_t ReadSi24(const uint8_t* p) {
  int32_t v = (int32_t(p[0]) << 16) | (int32_t(p[1]) << 8) | int32_t(p[2]);
  return (v & 0x800000) ? v - 0x1000000 : v;
}

uint32_t ReadBe(const uint8_t* p, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

void Append(std::vector<uint8_t>& v, const uint8_t* p, size_t n) { v.insert(v.end(), p, p + n); }

void WriteTimestamp(uint8_t* p, uint8_t prefix, uint64_t t) {
  p[0] = uint8_t((prefix << 4) | (((t >> 30) & 0x07) << 1) | 1);
  p[1] = uint8_t(t >> 22);
  p[2] = uint8_t((((t >> 15) & 0x7F) << 1) | 1);
  p[3] = uint8_t(t >> 7);
  p[4] = uint8_t(((t & 0x7F) << 1) | 1);
}

uint64_t To90k(int64_t ms) { return uint64_t(ms * 90) & kMask33; }

class BitReader {
 public:
  BitReader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  // Reads `bits` (<= 24) bits; false when they run past the end.
  bool Read(int bits, uint32_t& v) {
    if (pos_ + size_t(bits) > n_ * 8) return false;
    v = 0;
    for (int i = 0; i < bits; i++, pos_++) v = (v << 1) | ((p_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1);
    return true;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

}  // namespace

bool TsMuxerCore::Fail(const std::string& message) {
  error_ = message;
  return false;
}

void TsMuxerCore::Reset() {
  video_ = VideoCodec::kNone;
  audio_ = AudioCodec::kNone;
  mp3_stream_type_ = 0x03;
  tables_written_ = false;
  tables_signature_ = 0;
  pmt_version_ = 0;
  pcr_pid_ = 0x1FFF;
  cc_pat_ = cc_pmt_ = cc_video_ = cc_audio_ = 0;
  parameter_sets_.clear();
  nalu_length_size_ = 0;
  have_asc_ = false;
  adts_profile_ = adts_sfi_ = adts_channels_ = 0;
  error_.clear();
}

// ---- tables ----

void TsMuxerCore::WriteSection(uint16_t pid, const uint8_t* section, size_t n, std::vector<uint8_t>& out) {
  uint8_t& cc = pid == 0 ? cc_pat_ : cc_pmt_;
  const size_t at = out.size();
  out.resize(at + kPacket, 0xFF);
  uint8_t* p = out.data() + at;
  p[0] = 0x47;
  p[1] = uint8_t(0x40 | ((pid >> 8) & 0x1F));
  p[2] = uint8_t(pid);
  p[3] = uint8_t(0x10 | cc);
  cc = (cc + 1) & 0x0F;
  p[4] = 0;  // pointer_field
  std::memcpy(p + 5, section, n);  // n <= 183 - 1 for our two tables
}

void TsMuxerCore::WriteTables(std::vector<uint8_t>& out) {
  const bool has_video = video_ != VideoCodec::kNone;
  const bool has_audio = audio_ != AudioCodec::kNone;
  const uint8_t audio_type = audio_ == AudioCodec::kAac ? 0x0F : mp3_stream_type_;
  const uint8_t video_type = video_ == VideoCodec::kHevc ? 0x24 : 0x1B;
  const uint32_t signature = Signature();
  if (tables_written_ && tables_signature_ != signature) pmt_version_ = (pmt_version_ + 1) & 0x1F;
  tables_written_ = true;
  tables_signature_ = signature;
  pcr_pid_ = has_video ? kVideoPid : has_audio ? kAudioPid : 0x1FFF;

  uint8_t s[64];
  // PAT: one program (1) whose PMT is on kPmtPid.
  size_t n = 0;
  s[n++] = 0x00;
  s[n++] = 0xB0;
  s[n++] = 13;  // section_length: 5 + 4 (program) + 4 (CRC)
  s[n++] = 0x00;
  s[n++] = 0x01;  // transport_stream_id
  s[n++] = 0xC1;  // version 0, current_next_indicator 1
  s[n++] = 0x00;
  s[n++] = 0x00;
  s[n++] = 0x00;
  s[n++] = 0x01;  // program_number 1
  s[n++] = uint8_t(0xE0 | (kPmtPid >> 8));
  s[n++] = uint8_t(kPmtPid);
  uint32_t crc = Crc32Mpeg(s, n);
  for (int i = 3; i >= 0; i--) s[n++] = uint8_t(crc >> (8 * i));
  WriteSection(0, s, n, out);

  // PMT.
  const size_t streams = size_t(has_video) + size_t(has_audio);
  n = 0;
  s[n++] = 0x02;
  const size_t section_length = 9 + 5 * streams + 4;
  s[n++] = uint8_t(0xB0 | (section_length >> 8));
  s[n++] = uint8_t(section_length);
  s[n++] = 0x00;
  s[n++] = 0x01;  // program_number
  s[n++] = uint8_t(0xC1 | (pmt_version_ << 1));
  s[n++] = 0x00;
  s[n++] = 0x00;
  s[n++] = uint8_t(0xE0 | (pcr_pid_ >> 8));
  s[n++] = uint8_t(pcr_pid_);
  s[n++] = 0xF0;
  s[n++] = 0x00;  // program_info_length 0
  auto stream = [&](uint8_t type, uint16_t pid) {
    s[n++] = type;
    s[n++] = uint8_t(0xE0 | (pid >> 8));
    s[n++] = uint8_t(pid);
    s[n++] = 0xF0;
    s[n++] = 0x00;
  };
  if (has_video) stream(video_type, kVideoPid);
  if (has_audio) stream(audio_type, kAudioPid);
  crc = Crc32Mpeg(s, n);
  for (int i = 3; i >= 0; i--) s[n++] = uint8_t(crc >> (8 * i));
  WriteSection(kPmtPid, s, n, out);
}

uint32_t TsMuxerCore::Signature() const {
  return uint32_t(video_) | (uint32_t(audio_) << 4) | (uint32_t(mp3_stream_type_) << 8);
}

void TsMuxerCore::EnsureTables(std::vector<uint8_t>& out) {
  if (!tables_written_ || tables_signature_ != Signature()) WriteTables(out);
}

void TsMuxerCore::StartSegment(std::vector<uint8_t>& out) {
  out.clear();
  WriteTables(out);
}

// ---- PES ----

// pes_ holds kMaxPesHeader reserved bytes then the elementary stream; the header is written
// right-aligned into the reserved bytes and the whole is cut into packets.
void TsMuxerCore::WritePes(uint16_t pid, uint8_t stream_id, uint64_t pts, uint64_t dts, bool random_access,
                           std::vector<uint8_t>& out) {
  const size_t es = pes_.size() - kMaxPesHeader;
  const bool with_dts = pts != dts;
  const size_t header = with_dts ? 19 : 14;
  const size_t start = kMaxPesHeader - header;
  uint8_t* h = pes_.data() + start;
  const size_t pes_length = header - 6 + es;
  h[0] = 0;
  h[1] = 0;
  h[2] = 1;
  h[3] = stream_id;
  // 0 (unbounded) is allowed for video only; audio lengths are checked by the caller.
  const size_t length_field = pes_length > 0xFFFF ? 0 : pes_length;
  h[4] = uint8_t(length_field >> 8);
  h[5] = uint8_t(length_field);
  h[6] = 0x80 | (stream_id == 0xE0 ? 0x04 : 0x00);  // '10', data_alignment_indicator for video
  h[7] = with_dts ? 0xC0 : 0x80;
  h[8] = uint8_t(header - 9);
  WriteTimestamp(h + 9, with_dts ? 0x3 : 0x2, pts);
  if (with_dts) WriteTimestamp(h + 14, 0x1, dts);

  uint8_t& cc = pid == kVideoPid ? cc_video_ : cc_audio_;
  const uint8_t* src = pes_.data() + start;
  size_t remaining = pes_.size() - start;
  const uint64_t pcr = dts;
  bool first = true;
  out.reserve(out.size() + (remaining / 184 + 2) * kPacket);
  while (remaining > 0) {
    const bool with_pcr = first && pid == pcr_pid_;
    const bool rai = first && random_access;
    size_t af = (with_pcr || rai) ? 2 + (with_pcr ? 6 : 0) : 0;  // adaptation field incl. its length byte
    const size_t take = std::min(remaining, size_t(184) - af);
    af = 184 - take;  // what does not hold payload is adaptation field (stuffing)
    const size_t at = out.size();
    out.resize(at + kPacket);
    uint8_t* p = out.data() + at;
    p[0] = 0x47;
    p[1] = uint8_t((first ? 0x40 : 0x00) | ((pid >> 8) & 0x1F));
    p[2] = uint8_t(pid);
    p[3] = uint8_t((af > 0 ? 0x30 : 0x10) | cc);
    cc = (cc + 1) & 0x0F;
    if (af > 0) {
      p[4] = uint8_t(af - 1);  // adaptation_field_length
      if (af > 1) {
        size_t q = 5;
        p[q++] = uint8_t((rai ? 0x40 : 0x00) | (with_pcr ? 0x10 : 0x00));
        if (with_pcr) {
          p[q++] = uint8_t(pcr >> 25);
          p[q++] = uint8_t(pcr >> 17);
          p[q++] = uint8_t(pcr >> 9);
          p[q++] = uint8_t(pcr >> 1);
          p[q++] = uint8_t(((pcr & 1) << 7) | 0x7E);  // 6 reserved bits, extension 0
          p[q++] = 0x00;
        }
        std::memset(p + q, 0xFF, 4 + af - q);
      }
    }
    std::memcpy(p + 4 + af, src, take);
    src += take;
    remaining -= take;
    first = false;
  }
}

// ---- video ----

bool TsMuxerCore::ParseAvcConfig(const uint8_t* p, size_t n) {
  // AVCDecoderConfigurationRecord (14496-15 5.3.3.1).
  if (n < 7) return Fail("AVC sequence header shorter than 7 bytes");
  if (p[0] != 1) return Fail("AVC sequence header with configurationVersion " + std::to_string(p[0]));
  const int length_size = (p[4] & 0x03) + 1;
  if (length_size == 3) return Fail("AVC sequence header with a 3-byte NALU length");
  std::vector<uint8_t> sets;
  size_t pos = 5;
  for (int kind = 0; kind < 2; kind++) {  // SPS then PPS
    if (pos >= n) return Fail("AVC sequence header truncated");
    const unsigned count = kind == 0 ? (p[pos] & 0x1F) : p[pos];
    pos++;
    for (unsigned i = 0; i < count; i++) {
      if (n - pos < 2) return Fail("AVC sequence header truncated in a parameter set length");
      const size_t len = ReadBe(p + pos, 2);
      pos += 2;
      if (n - pos < len) return Fail("AVC sequence header: a parameter set runs past the end");
      Append(sets, kStartCode, sizeof kStartCode);
      Append(sets, p + pos, len);
      pos += len;
    }
  }
  parameter_sets_.swap(sets);
  nalu_length_size_ = length_size;
  video_ = VideoCodec::kAvc;
  return true;
}

bool TsMuxerCore::ParseHevcConfig(const uint8_t* p, size_t n) {
  // HEVCDecoderConfigurationRecord (14496-15 8.3.3.1): 22 fixed bytes, then arrays of NALUs.
  if (n < 23) return Fail("HEVC sequence header shorter than 23 bytes");
  const int length_size = (p[21] & 0x03) + 1;
  if (length_size == 3) return Fail("HEVC sequence header with a 3-byte NALU length");
  std::vector<uint8_t> sets;
  const unsigned arrays = p[22];
  size_t pos = 23;
  for (unsigned a = 0; a < arrays; a++) {
    if (n - pos < 3) return Fail("HEVC sequence header truncated in an array header");
    const unsigned type = p[pos] & 0x3F;
    const unsigned count = ReadBe(p + pos + 1, 2);
    pos += 3;
    for (unsigned i = 0; i < count; i++) {
      if (n - pos < 2) return Fail("HEVC sequence header truncated in a NALU length");
      const size_t len = ReadBe(p + pos, 2);
      pos += 2;
      if (n - pos < len) return Fail("HEVC sequence header: a NALU runs past the end");
      if (type >= 32 && type <= 34) {  // VPS, SPS, PPS
        Append(sets, kStartCode, sizeof kStartCode);
        Append(sets, p + pos, len);
      }
      pos += len;
    }
  }
  parameter_sets_.swap(sets);
  nalu_length_size_ = length_size;
  video_ = VideoCodec::kHevc;
  return true;
}

bool TsMuxerCore::WriteVideoFrame(int64_t dts_ms, int64_t cts_ms, bool keyframe, const uint8_t* p, size_t n,
                                  std::vector<uint8_t>& out) {
  const bool hevc = video_ == VideoCodec::kHevc;
  const int ls = nalu_length_size_;
  // Pass 1: every length checked; is there a random access picture?
  bool irap = false;
  size_t nalus = 0;
  for (size_t pos = 0; pos < n;) {
    if (n - pos < size_t(ls)) return Fail("video frame: truncated NALU length field");
    const size_t len = ReadBe(p + pos, ls);
    pos += ls;
    if (n - pos < len) {
      return Fail("video frame: NALU of " + std::to_string(len) + " bytes with " + std::to_string(n - pos) +
                  " left");
    }
    if (len > 0) {
      const unsigned type = hevc ? (p[pos] >> 1) & 0x3F : p[pos] & 0x1F;
      if (hevc ? (type >= 16 && type <= 23) : type == 5) irap = true;
      nalus++;
    }
    pos += len;
  }
  if (nalus == 0) return true;  // nothing to show

  pes_.clear();
  pes_.resize(kMaxPesHeader);
  pes_.reserve(kMaxPesHeader + n + n / 8 + 64 + (irap ? parameter_sets_.size() : 0));
  if (hevc) {
    Append(pes_, kHevcAud, sizeof kHevcAud);
  } else {
    Append(pes_, kAvcAud, sizeof kAvcAud);
  }
  if (irap) Append(pes_, parameter_sets_.data(), parameter_sets_.size());
  for (size_t pos = 0; pos < n;) {
    const size_t len = ReadBe(p + pos, ls);
    pos += ls;
    if (len > 0) {
      const unsigned type = hevc ? (p[pos] >> 1) & 0x3F : p[pos] & 0x1F;
      if (type != (hevc ? 35u : 9u)) {  // our AUD replaces the publisher's
        Append(pes_, kStartCode, sizeof kStartCode);
        Append(pes_, p + pos, len);
      }
    }
    pos += len;
  }
  EnsureTables(out);
  WritePes(kVideoPid, 0xE0, To90k(dts_ms + cts_ms), To90k(dts_ms), keyframe || irap, out);
  return true;
}

bool TsMuxerCore::MuxVideo(int64_t timestamp_ms, const uint8_t* data, size_t size, std::vector<uint8_t>& out) {
  out.clear();
  if (size < 1) return Fail("empty video tag");
  const uint8_t b0 = data[0];
  VideoCodec codec;
  unsigned packet_type;
  int64_t cts = 0;
  size_t body;
  const unsigned frame_type = (b0 >> 4) & 0x07;
  if (b0 & 0x80) {
    // Enhanced RTMP: IsExHeader | FrameType(3) | PacketType(4), FourCC.
    packet_type = b0 & 0x0F;
    if (frame_type == 5) return true;  // command frame
    if (size < 5) return Fail("enhanced RTMP video tag shorter than 5 bytes");
    if (std::memcmp(data + 1, "hvc1", 4) == 0) {
      codec = VideoCodec::kHevc;
    } else if (std::memcmp(data + 1, "avc1", 4) == 0) {
      codec = VideoCodec::kAvc;
    } else {
      return Fail("unsupported enhanced RTMP video codec '" + std::string(reinterpret_cast<const char*>(data + 1), 4) +
                  "'");
    }
    switch (packet_type) {
      case 0:  // SequenceStart
        return codec == VideoCodec::kHevc ? ParseHevcConfig(data + 5, size - 5) : ParseAvcConfig(data + 5, size - 5);
      case 1:  // CodedFrames: SI24 composition time
        if (size < 8) return Fail("enhanced RTMP coded frame shorter than 8 bytes");
        cts = ReadSi24(data + 5);
        body = 8;
        break;
      case 3:  // CodedFramesX: composition time 0
        body = 5;
        break;
      case 2:  // SequenceEnd
      case 4:  // Metadata
      case 5:  // MPEG2TSSequenceStart
        return true;
      default:
        return Fail("unsupported enhanced RTMP video packet type " + std::to_string(packet_type));
    }
  } else {
    if ((b0 >> 4) == 5) return true;  // video info/command frame
    const unsigned codec_id = b0 & 0x0F;
    if (codec_id == 7) {
      codec = VideoCodec::kAvc;
    } else if (codec_id == 12) {
      codec = VideoCodec::kHevc;
    } else {
      return Fail("unsupported FLV video codec id " + std::to_string(codec_id));
    }
    if (size < 5) return Fail("AVC/HEVC video tag shorter than 5 bytes");
    packet_type = data[1];
    cts = ReadSi24(data + 2);
    if (packet_type == 0) {
      return codec == VideoCodec::kHevc ? ParseHevcConfig(data + 5, size - 5) : ParseAvcConfig(data + 5, size - 5);
    }
    if (packet_type == 2) return true;  // end of sequence
    if (packet_type != 1) return Fail("unknown AVC packet type " + std::to_string(packet_type));
    body = 5;
  }
  if (video_ != codec) return Fail("video frame before its sequence header");
  return WriteVideoFrame(timestamp_ms, cts, (b0 >> 4) == 1 || frame_type == 1, data + body, size - body, out);
}

// ---- audio ----

bool TsMuxerCore::ParseAudioSpecificConfig(const uint8_t* p, size_t n) {
  BitReader r(p, n);
  uint32_t aot = 0, sfi = 0, channels = 0, v = 0;
  auto object_type = [&](uint32_t& t) {
    if (!r.Read(5, t)) return false;
    if (t == 31) {
      if (!r.Read(6, v)) return false;
      t = 32 + v;
    }
    return true;
  };
  if (!object_type(aot) || !r.Read(4, sfi)) return Fail("AudioSpecificConfig truncated");
  if (sfi == 15) return Fail("AudioSpecificConfig with an explicit sampling frequency (no ADTS index)");
  if (sfi > 12) return Fail("AudioSpecificConfig with reserved samplingFrequencyIndex " + std::to_string(sfi));
  if (!r.Read(4, channels)) return Fail("AudioSpecificConfig truncated");
  if (aot == 5 || aot == 29) {
    // Explicit SBR/PS signalling: extension sampling frequency, then the core object type.
    if (!r.Read(4, v)) return Fail("AudioSpecificConfig truncated");
    if (v == 15 && !r.Read(24, v)) return Fail("AudioSpecificConfig truncated");
    if (!object_type(aot)) return Fail("AudioSpecificConfig truncated");
  }
  if (aot < 1 || aot > 4) {
    return Fail("AudioSpecificConfig with audio object type " + std::to_string(aot) + " (ADTS carries 1..4)");
  }
  if (channels < 1 || channels > 7) {
    return Fail("AudioSpecificConfig with channelConfiguration " + std::to_string(channels));
  }
  adts_profile_ = uint8_t(aot - 1);
  adts_sfi_ = uint8_t(sfi);
  adts_channels_ = uint8_t(channels);
  have_asc_ = true;
  audio_ = AudioCodec::kAac;
  return true;
}

bool TsMuxerCore::MuxAudio(int64_t timestamp_ms, const uint8_t* data, size_t size, std::vector<uint8_t>& out) {
  out.clear();
  if (size < 1) return Fail("empty audio tag");
  const unsigned format = data[0] >> 4;
  const uint8_t* frame;
  size_t n;
  pes_.clear();
  pes_.resize(kMaxPesHeader);
  if (format == 10) {
    if (size < 2) return Fail("AAC audio tag shorter than 2 bytes");
    if (data[1] == 0) return ParseAudioSpecificConfig(data + 2, size - 2);
    if (data[1] != 1) return Fail("unknown AAC packet type " + std::to_string(data[1]));
    if (!have_asc_ || audio_ != AudioCodec::kAac) return Fail("AAC frame before its sequence header");
    frame = data + 2;
    n = size - 2;
    if (n == 0) return true;
    const size_t frame_length = n + 7;
    if (frame_length > 0x1FFF) return Fail("AAC frame of " + std::to_string(n) + " bytes (ADTS holds 8184)");
    const uint8_t adts[7] = {
        0xFF,
        0xF1,  // syncword, MPEG-4, layer 0, no CRC
        uint8_t((adts_profile_ << 6) | (adts_sfi_ << 2) | (adts_channels_ >> 2)),
        uint8_t(((adts_channels_ & 0x03) << 6) | (frame_length >> 11)),
        uint8_t(frame_length >> 3),
        uint8_t(((frame_length & 0x07) << 5) | 0x1F),  // buffer fullness 0x7FF (VBR)
        0xFC,                                           // ... and one raw data block
    };
    Append(pes_, adts, sizeof adts);
  } else if (format == 2 || format == 14) {
    frame = data + 1;
    n = size - 1;
    if (n == 0) return true;
    if (n > 0xFFFF - 14) return Fail("MP3 frame of " + std::to_string(n) + " bytes");
    // MPEG-1 audio (ID bits 11) is stream type 0x03; MPEG-2/2.5 (lower sample rates) 0x04.
    if (audio_ != AudioCodec::kMp3 && n >= 2 && frame[0] == 0xFF && (frame[1] & 0xE0) == 0xE0) {
      mp3_stream_type_ = ((frame[1] >> 3) & 0x03) == 3 ? 0x03 : 0x04;
    }
    audio_ = AudioCodec::kMp3;
  } else {
    return Fail("unsupported FLV sound format " + std::to_string(format));
  }
  Append(pes_, frame, n);
  EnsureTables(out);
  const uint64_t pts = To90k(timestamp_ms);
  WritePes(kAudioPid, 0xC0, pts, pts, false, out);
  return true;
}

// ---- Node-API ----

namespace {

class TsMuxerWrap : public Napi::ObjectWrap<TsMuxerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TsMuxer",
                       {
                           InstanceMethod("muxVideo", &TsMuxerWrap::MuxVideo),
                           InstanceMethod("muxAudio", &TsMuxerWrap::MuxAudio),
                           InstanceMethod("startSegment", &TsMuxerWrap::StartSegment),
                           InstanceMethod("reset", &TsMuxerWrap::Reset),
                       });
  }

  explicit TsMuxerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TsMuxerWrap>(info) {}

 private:
  Napi::Value Result(Napi::Env env) {
    if (out_.empty()) return Napi::Buffer<uint8_t>::New(env, 0);
    return Napi::Buffer<uint8_t>::Copy(env, out_.data(), out_.size());
  }

  Napi::Value Mux(const Napi::CallbackInfo& info, bool video) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBuffer()) {
      Napi::TypeError::New(env, video ? "muxVideo(timestampMs, payload)" : "muxAudio(timestampMs, payload)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const double ts = info[0].As<Napi::Number>().DoubleValue();
    // Integral milliseconds within +-2^50 (ms * 90 must not overflow int64).
    if (!(ts >= -1125899906842624.0 && ts <= 1125899906842624.0) || ts != double(int64_t(ts))) {
      return ThrowCoded(env, "ERR_TS_INPUT", "timestamp must be an integral number of milliseconds");
    }
    auto payload = info[1].As<Napi::Buffer<uint8_t>>();
    const bool ok = video ? core_.MuxVideo(int64_t(ts), payload.Data(), payload.Length(), out_)
                          : core_.MuxAudio(int64_t(ts), payload.Data(), payload.Length(), out_);
    if (!ok) {
      out_.clear();
      return ThrowCoded(env, "ERR_TS_INPUT", core_.error());
    }
    return Result(env);
  }

  Napi::Value MuxVideo(const Napi::CallbackInfo& info) { return Mux(info, true); }
  Napi::Value MuxAudio(const Napi::CallbackInfo& info) { return Mux(info, false); }

  Napi::Value StartSegment(const Napi::CallbackInfo& info) {
    core_.StartSegment(out_);
    return Result(info.Env());
  }

  Napi::Value Reset(const Napi::CallbackInfo& info) {
    core_.Reset();
    return info.Env().Undefined();
  }

  TsMuxerCore core_;
  std::vector<uint8_t> out_;
};

}  // namespace

void InitTsMuxer(Napi::Env env, Napi::Object exports) { exports.Set("TsMuxer", TsMuxerWrap::Define(env)); }

}  // namespace sluice
