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
// PAT + PMT: one packet each.
constexpr size_t kTables = 2 * kPacket;

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

TsMuxerCore::Result TsMuxerCore::Bad(const std::string& message) {
  error_ = message;
  return Result::kError;
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
  spans_.clear();
  error_.clear();
}

// ---- tables ----

bool TsMuxerCore::WriteSection(uint16_t pid, const uint8_t* section, size_t n, Out& out) {
  if (n > kPacket - 5 || out.len > out.cap || out.cap - out.len < kPacket) return false;
  uint8_t& cc = pid == 0 ? cc_pat_ : cc_pmt_;
  uint8_t* p = out.p + out.len;
  out.len += kPacket;
  p[0] = 0x47;
  p[1] = uint8_t(0x40 | ((pid >> 8) & 0x1F));
  p[2] = uint8_t(pid);
  p[3] = uint8_t(0x10 | cc);
  cc = (cc + 1) & 0x0F;
  p[4] = 0;  // pointer_field
  std::memcpy(p + 5, section, n);
  std::memset(p + 5 + n, 0xFF, kPacket - 5 - n);
  return true;
}

uint16_t TsMuxerCore::PcrPid() const {
  return video_ != VideoCodec::kNone ? kVideoPid : audio_ != AudioCodec::kNone ? kAudioPid : 0x1FFF;
}

bool TsMuxerCore::WriteTables(Out& out) {
  if (out.len > out.cap || out.cap - out.len < kTables) return false;
  const bool has_video = video_ != VideoCodec::kNone;
  const bool has_audio = audio_ != AudioCodec::kNone;
  const uint8_t audio_type = audio_ == AudioCodec::kAac ? 0x0F : mp3_stream_type_;
  const uint8_t video_type = video_ == VideoCodec::kHevc ? 0x24 : 0x1B;
  const uint32_t signature = Signature();
  if (tables_written_ && tables_signature_ != signature) pmt_version_ = (pmt_version_ + 1) & 0x1F;
  tables_written_ = true;
  tables_signature_ = signature;
  pcr_pid_ = PcrPid();

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
  if (!WriteSection(0, s, n, out)) return false;

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
  return WriteSection(kPmtPid, s, n, out);
}

uint32_t TsMuxerCore::Signature() const {
  return uint32_t(video_) | (uint32_t(audio_) << 4) | (uint32_t(mp3_stream_type_) << 8);
}

TsMuxerCore::Result TsMuxerCore::StartSegment(uint8_t* out, size_t cap, size_t& n) {
  n = kTables;
  if (cap < kTables) return Result::kNoRoom;
  Out o{out, cap, 0};
  if (!WriteTables(o) || o.len != kTables) return Bad("internal: PAT/PMT size");
  return Result::kOk;
}

// ---- PES ----

// The PES is spans_: spans_[0] its header (written here into pes_header_), then the
// elementary stream in pieces, gathered straight into the packets.
bool TsMuxerCore::WritePes(uint16_t pid, uint8_t stream_id, uint64_t pts, uint64_t dts, bool random_access,
                           size_t header, Out& out) {
  if (spans_.empty()) return false;
  size_t total = 0;
  for (const Span& s : spans_) total += s.n;
  const size_t es = total - spans_[0].n;
  const bool with_dts = pts != dts;
  if (header != (with_dts ? 19u : 14u)) return false;
  spans_[0] = Span{pes_header_, header};
  total = header + es;
  uint8_t* h = pes_header_;
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
  const Span* span = spans_.data();
  const Span* const spans_end = span + spans_.size();
  size_t span_off = 0;
  size_t remaining = total;
  const uint64_t pcr = dts;
  bool first = true;
  while (remaining > 0) {
    if (out.len > out.cap || out.cap - out.len < kPacket) return false;
    const bool with_pcr = first && pid == pcr_pid_;
    const bool rai = first && random_access;
    size_t af = (with_pcr || rai) ? 2 + (with_pcr ? 6 : 0) : 0;  // adaptation field incl. its length byte
    size_t take = std::min(remaining, size_t(184) - af);
    af = 184 - take;  // what does not hold payload is adaptation field (stuffing)
    uint8_t* p = out.p + out.len;
    out.len += kPacket;
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
    remaining -= take;
    uint8_t* dst = p + 4 + af;
    while (take > 0) {  // gather `take` bytes from the spans
      if (span == spans_end) return false;
      const size_t k = std::min(take, span->n - span_off);
      if (k > 0) std::memcpy(dst, span->p + span_off, k);
      dst += k;
      take -= k;
      span_off += k;
      if (span_off == span->n) {
        ++span;
        span_off = 0;
      }
    }
    first = false;
  }
  return true;
}

TsMuxerCore::Result TsMuxerCore::WriteFrame(uint16_t pid, uint8_t stream_id, uint64_t pts, uint64_t dts,
                                            bool random_access, Out& out, size_t& needed) {
  // The exact size first: tables if due, then the packets WritePes will cut.
  size_t es = 0;
  for (size_t i = 1; i < spans_.size(); i++) es += spans_[i].n;
  const size_t header = pts != dts ? 19 : 14;
  const size_t pes = header + es;
  const bool tables = TablesDue(Signature());
  const uint16_t pcr_pid = tables ? PcrPid() : pcr_pid_;
  const bool with_pcr = pid == pcr_pid;
  const size_t first = 184 - ((with_pcr || random_access) ? 2 + (with_pcr ? 6 : 0) : 0);
  const size_t packets = 1 + (pes > first ? (pes - first + 183) / 184 : 0);
  needed = (tables ? kTables : 0) + packets * kPacket;
  if (out.len > out.cap || out.cap - out.len < needed) return Result::kNoRoom;
  const size_t start = out.len;
  if (tables && !WriteTables(out)) return Bad("internal: no room for PAT/PMT");
  if (!WritePes(pid, stream_id, pts, dts, random_access, header, out)) return Bad("internal: no room for a PES");
  if (out.len - start != needed) return Bad("internal: PES size");
  return Result::kOk;
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

TsMuxerCore::Result TsMuxerCore::WriteVideoFrame(int64_t dts_ms, int64_t cts_ms, bool keyframe, const uint8_t* p,
                                                 size_t n, Out& out, size_t& written) {
  const bool hevc = video_ == VideoCodec::kHevc;
  const size_t ls = size_t(nalu_length_size_);
  if (ls < 1 || ls > 4) return Bad("video frame: no NALU length size");
  // Pass 1: every length checked; is there a random access picture?
  bool irap = false;
  size_t nalus = 0;
  for (size_t pos = 0; pos < n;) {
    if (n - pos < ls) return Bad("video frame: truncated NALU length field");
    const size_t len = ReadBe(p + pos, int(ls));
    pos += ls;
    if (n - pos < len) {
      return Bad("video frame: NALU of " + std::to_string(len) + " bytes with " + std::to_string(n - pos) + " left");
    }
    if (len > 0) {
      const unsigned type = hevc ? (p[pos] >> 1) & 0x3F : p[pos] & 0x1F;
      if (hevc ? (type >= 16 && type <= 23) : type == 5) irap = true;
      nalus++;
    }
    pos += len;
  }
  if (nalus == 0) return Result::kOk;  // nothing to show

  // Pass 2: the PES as spans of our AUD, parameter sets, start codes and the payload's NALUs.
  spans_.clear();
  spans_.push_back(Span{pes_header_, 0});
  if (hevc) {
    spans_.push_back(Span{kHevcAud, sizeof kHevcAud});
  } else {
    spans_.push_back(Span{kAvcAud, sizeof kAvcAud});
  }
  if (irap && !parameter_sets_.empty()) spans_.push_back(Span{parameter_sets_.data(), parameter_sets_.size()});
  for (size_t pos = 0; pos < n;) {
    if (n - pos < ls) return Bad("video frame: truncated NALU length field");
    const size_t len = ReadBe(p + pos, int(ls));
    pos += ls;
    if (n - pos < len) return Bad("video frame: a NALU runs past the end");
    if (len > 0) {
      const unsigned type = hevc ? (p[pos] >> 1) & 0x3F : p[pos] & 0x1F;
      if (type != (hevc ? 35u : 9u)) {  // our AUD replaces the publisher's
        spans_.push_back(Span{kStartCode, sizeof kStartCode});
        spans_.push_back(Span{p + pos, len});
      }
    }
    pos += len;
  }
  const Result r =
      WriteFrame(kVideoPid, 0xE0, To90k(dts_ms + cts_ms), To90k(dts_ms), keyframe || irap, out, written);
  spans_.clear();  // they point into the caller's payload
  return r;
}

TsMuxerCore::Result TsMuxerCore::MuxVideo(int64_t timestamp_ms, const uint8_t* data, size_t size, uint8_t* out_p,
                                          size_t cap, size_t& n) {
  n = 0;
  if (size < 1) return Bad("empty video tag");
  const uint8_t b0 = data[0];
  VideoCodec codec;
  unsigned packet_type;
  int64_t cts = 0;
  size_t body;
  const unsigned frame_type = (b0 >> 4) & 0x07;
  if (b0 & 0x80) {
    // Enhanced RTMP: IsExHeader | FrameType(3) | PacketType(4), FourCC.
    packet_type = b0 & 0x0F;
    if (frame_type == 5) return Result::kOk;  // command frame
    if (size < 5) return Bad("enhanced RTMP video tag shorter than 5 bytes");
    if (std::memcmp(data + 1, "hvc1", 4) == 0) {
      codec = VideoCodec::kHevc;
    } else if (std::memcmp(data + 1, "avc1", 4) == 0) {
      codec = VideoCodec::kAvc;
    } else {
      return Bad("unsupported enhanced RTMP video codec '" + std::string(reinterpret_cast<const char*>(data + 1), 4) +
                 "'");
    }
    switch (packet_type) {
      case 0:  // SequenceStart
        return (codec == VideoCodec::kHevc ? ParseHevcConfig(data + 5, size - 5) : ParseAvcConfig(data + 5, size - 5))
                   ? Result::kOk
                   : Result::kError;
      case 1:  // CodedFrames: SI24 composition time
        if (size < 8) return Bad("enhanced RTMP coded frame shorter than 8 bytes");
        cts = ReadSi24(data + 5);
        body = 8;
        break;
      case 3:  // CodedFramesX: composition time 0
        body = 5;
        break;
      case 2:  // SequenceEnd
      case 4:  // Metadata
      case 5:  // MPEG2TSSequenceStart
        return Result::kOk;
      default:
        return Bad("unsupported enhanced RTMP video packet type " + std::to_string(packet_type));
    }
  } else {
    if ((b0 >> 4) == 5) return Result::kOk;  // video info/command frame
    const unsigned codec_id = b0 & 0x0F;
    if (codec_id == 7) {
      codec = VideoCodec::kAvc;
    } else if (codec_id == 12) {
      codec = VideoCodec::kHevc;
    } else {
      return Bad("unsupported FLV video codec id " + std::to_string(codec_id));
    }
    if (size < 5) return Bad("AVC/HEVC video tag shorter than 5 bytes");
    packet_type = data[1];
    cts = ReadSi24(data + 2);
    if (packet_type == 0) {
      return (codec == VideoCodec::kHevc ? ParseHevcConfig(data + 5, size - 5) : ParseAvcConfig(data + 5, size - 5))
                 ? Result::kOk
                 : Result::kError;
    }
    if (packet_type == 2) return Result::kOk;  // end of sequence
    if (packet_type != 1) return Bad("unknown AVC packet type " + std::to_string(packet_type));
    body = 5;
  }
  if (video_ != codec) return Bad("video frame before its sequence header");
  Out out{out_p, cap, 0};
  return WriteVideoFrame(timestamp_ms, cts, (b0 >> 4) == 1 || frame_type == 1, data + body, size - body, out, n);
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

TsMuxerCore::Result TsMuxerCore::MuxAudio(int64_t timestamp_ms, const uint8_t* data, size_t size, uint8_t* out_p,
                                          size_t cap, size_t& written) {
  written = 0;
  if (size < 1) return Bad("empty audio tag");
  const unsigned format = data[0] >> 4;
  const uint8_t* frame;
  size_t n;
  uint8_t adts[7];
  // MP3: the codec and stream type this frame would set, committed only when it is written.
  AudioCodec codec = audio_;
  uint8_t mp3_type = mp3_stream_type_;
  spans_.clear();
  spans_.push_back(Span{pes_header_, 0});
  if (format == 10) {
    if (size < 2) return Bad("AAC audio tag shorter than 2 bytes");
    if (data[1] == 0) return ParseAudioSpecificConfig(data + 2, size - 2) ? Result::kOk : Result::kError;
    if (data[1] != 1) return Bad("unknown AAC packet type " + std::to_string(data[1]));
    if (!have_asc_ || audio_ != AudioCodec::kAac) return Bad("AAC frame before its sequence header");
    frame = data + 2;
    n = size - 2;
    if (n == 0) return Result::kOk;
    const size_t frame_length = n + 7;
    if (frame_length > 0x1FFF) return Bad("AAC frame of " + std::to_string(n) + " bytes (ADTS holds 8184)");
    adts[0] = 0xFF;
    adts[1] = 0xF1;  // syncword, MPEG-4, layer 0, no CRC
    adts[2] = uint8_t((adts_profile_ << 6) | (adts_sfi_ << 2) | (adts_channels_ >> 2));
    adts[3] = uint8_t(((adts_channels_ & 0x03) << 6) | (frame_length >> 11));
    adts[4] = uint8_t(frame_length >> 3);
    adts[5] = uint8_t(((frame_length & 0x07) << 5) | 0x1F);  // buffer fullness 0x7FF (VBR)
    adts[6] = 0xFC;                                           // ... and one raw data block
    spans_.push_back(Span{adts, sizeof adts});
  } else if (format == 2 || format == 14) {
    frame = data + 1;
    n = size - 1;
    if (n == 0) return Result::kOk;
    if (n > 0xFFFF - 14) return Bad("MP3 frame of " + std::to_string(n) + " bytes");
    // MPEG-1 audio (ID bits 11) is stream type 0x03; MPEG-2/2.5 (lower sample rates) 0x04.
    if (audio_ != AudioCodec::kMp3 && n >= 2 && frame[0] == 0xFF && (frame[1] & 0xE0) == 0xE0) {
      mp3_type = ((frame[1] >> 3) & 0x03) == 3 ? 0x03 : 0x04;
    }
    codec = AudioCodec::kMp3;
  } else {
    return Bad("unsupported FLV sound format " + std::to_string(format));
  }
  spans_.push_back(Span{frame, n});
  const AudioCodec old_codec = audio_;
  const uint8_t old_mp3_type = mp3_stream_type_;
  audio_ = codec;
  mp3_stream_type_ = mp3_type;
  Out out{out_p, cap, 0};
  const uint64_t pts = To90k(timestamp_ms);
  const Result r = WriteFrame(kAudioPid, 0xC0, pts, pts, false, out, written);
  spans_.clear();  // they point into the caller's payload and this frame
  if (r == Result::kNoRoom) {  // as if this call had not been made
    audio_ = old_codec;
    mp3_stream_type_ = old_mp3_type;
  }
  return r;
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
  // The room to write into: `slab` from byte `offset` on (0 <= offset <= slab.length, an
  // integer); false with a JS exception pending when the arguments are not that.
  static bool Room(Napi::Env env, const Napi::Value& slab, const Napi::Value& offset, uint8_t*& out, size_t& cap) {
    if (!slab.IsBuffer() || !offset.IsNumber()) {
      Napi::TypeError::New(env, "TsMuxer: slab must be a Buffer and offset a number").ThrowAsJavaScriptException();
      return false;
    }
    auto b = slab.As<Napi::Buffer<uint8_t>>();
    const size_t length = b.Length();
    const double at = offset.As<Napi::Number>().DoubleValue();
    if (!(at >= 0 && at <= double(length)) || at != double(size_t(at))) {
      Napi::RangeError::New(env, "TsMuxer: offset outside the slab").ThrowAsJavaScriptException();
      return false;
    }
    const size_t off = size_t(at);
    if (off > length) {  // cannot happen after the check above; sizes are never trusted
      Napi::RangeError::New(env, "TsMuxer: offset outside the slab").ThrowAsJavaScriptException();
      return false;
    }
    cap = length - off;
    out = cap > 0 ? b.Data() + off : nullptr;
    return true;
  }

  // Bytes written (>= 0), or -(bytes needed) when the room was too small.
  static Napi::Value Written(Napi::Env env, TsMuxerCore::Result r, size_t n) {
    return Napi::Number::New(env, r == TsMuxerCore::Result::kNoRoom ? -double(n) : double(n));
  }

  // (timestampMs, payload, slab, offset): the frame's packets written at slab[offset...].
  Napi::Value Mux(const Napi::CallbackInfo& info, bool video) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsBuffer()) {
      Napi::TypeError::New(env, video ? "muxVideo(timestampMs, payload, slab, offset)"
                                      : "muxAudio(timestampMs, payload, slab, offset)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint8_t* out = nullptr;
    size_t cap = 0;
    if (!Room(env, info[2], info[3], out, cap)) return env.Undefined();
    const double ts = info[0].As<Napi::Number>().DoubleValue();
    // Integral milliseconds within +-2^50 (ms * 90 must not overflow int64).
    if (!(ts >= -1125899906842624.0 && ts <= 1125899906842624.0) || ts != double(int64_t(ts))) {
      return ThrowCoded(env, "ERR_TS_INPUT", "timestamp must be an integral number of milliseconds");
    }
    auto payload = info[1].As<Napi::Buffer<uint8_t>>();
    const uint8_t* in = payload.Data();
    const size_t in_size = payload.Length();
    // The packets are gathered from the payload: it must not lie in the room they go to.
    if (in_size > 0 && cap > 0) {
      const uintptr_t a = reinterpret_cast<uintptr_t>(in), b = reinterpret_cast<uintptr_t>(out);
      if (a < b + cap && b < a + in_size) {
        Napi::RangeError::New(env, "TsMuxer: payload overlaps the slab's free room").ThrowAsJavaScriptException();
        return env.Undefined();
      }
    }
    size_t n = 0;
    const TsMuxerCore::Result r = video ? core_.MuxVideo(int64_t(ts), in, in_size, out, cap, n)
                                        : core_.MuxAudio(int64_t(ts), in, in_size, out, cap, n);
    if (r == TsMuxerCore::Result::kError) return ThrowCoded(env, "ERR_TS_INPUT", core_.error());
    return Written(env, r, n);
  }

  Napi::Value MuxVideo(const Napi::CallbackInfo& info) { return Mux(info, true); }
  Napi::Value MuxAudio(const Napi::CallbackInfo& info) { return Mux(info, false); }

  // (slab, offset): PAT + PMT written at slab[offset...].
  Napi::Value StartSegment(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2) {
      Napi::TypeError::New(env, "startSegment(slab, offset)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint8_t* out = nullptr;
    size_t cap = 0;
    if (!Room(env, info[0], info[1], out, cap)) return env.Undefined();
    size_t n = 0;
    const TsMuxerCore::Result r = core_.StartSegment(out, cap, n);
    if (r == TsMuxerCore::Result::kError) return ThrowCoded(env, "ERR_TS_INPUT", core_.error());
    return Written(env, r, n);
  }

  Napi::Value Reset(const Napi::CallbackInfo& info) {
    core_.Reset();
    return info.Env().Undefined();
  }

  TsMuxerCore core_;
};

}  // namespace

void InitTsMuxer(Napi::Env env, Napi::Object exports) { exports.Set("TsMuxer", TsMuxerWrap::Define(env)); }

}  // namespace sluice
