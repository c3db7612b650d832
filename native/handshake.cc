// RTMP handshake, simple (RTMP spec 5.2) and complex (the HMAC-SHA256 digest handshake
// Flash Player and FMS introduced, which every current peer speaks: ffmpeg, OBS, SRS,
// nginx-rtmp). Layouts, keys and the order of tries follow SRS
// (srs_protocol_rtmp_handshake.cpp) and ffmpeg (libavformat/rtmpproto.c).
//
// A C1/S1 of the complex handshake is: time (4) | version (4) | two 764-byte blocks. One
// block holds a 128-byte key (for RTMPE's Diffie-Hellman, unused in plain RTMP), the other
// a 32-byte digest. Scheme numbers are SRS's:
//   scheme 0: key block first (bytes 8..771), digest block at 772; digest offset from the
//             sum of bytes 772..775 mod 728, plus 776.
//   scheme 1: digest block first (bytes 8..771); digest offset from the sum of bytes 8..11
//             mod 728, plus 12. ffmpeg's and SRS's clients send this one.
// The digest is HMAC-SHA256 over the 1504 other bytes, keyed with the first 30 bytes of the
// Flash Player key for C1 and the first 36 bytes of the FMS key for S1. S2 (C2) then proves
// the peer's digest was read: 1504 random bytes + HMAC-SHA256 over them, keyed with
// HMAC-SHA256(whole FMS key (Flash Player key), C1's (S1's) digest).
#include "handshake.h"

#include <chrono>
#include <cstring>
#include <string>

#include "sha256.h"

namespace sluice {
namespace {

constexpr size_t kPacketSize = 1536;                // C1, S1, C2, S2 (RTMP spec 5.2.3)
constexpr size_t kC0C1Size = 1 + kPacketSize;       // C0 is one byte (5.2.2)
constexpr size_t kS0S1S2Size = 1 + 2 * kPacketSize;
constexpr size_t kDigestSize = kSha256Size;
constexpr size_t kAnyLength = static_cast<size_t>(-1);
constexpr uint8_t kPlainRtmp = 3;  // C0/S0 version (5.2.2); 6, 8, 9 are RTMPE variants

// The 32 bytes both Adobe keys end with, as published by rtmpdump, ffmpeg and SRS.
#define SLUICE_ADOBE_KEY_TAIL                                                             \
  0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, \
      0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF,   \
      0xEB, 0x31, 0xAE

// "Genuine Adobe Flash Player 001" (30 bytes) + tail: signs what a client sends.
constexpr uint8_t kPlayerKey[] = {'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o',
                                  'b', 'e', ' ', 'F', 'l', 'a', 's', 'h', ' ', 'P', 'l',
                                  'a', 'y', 'e', 'r', ' ', '0', '0', '1', SLUICE_ADOBE_KEY_TAIL};
constexpr size_t kPlayerKeyText = 30;
static_assert(sizeof(kPlayerKey) == 62, "Flash Player key is 62 bytes");

// "Genuine Adobe Flash Media Server 001" (36 bytes) + tail: signs what a server sends.
constexpr uint8_t kServerKey[] = {
    'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ', 'F', 'l', 'a', 's',
    'h', ' ', 'M', 'e', 'd', 'i', 'a', ' ', 'S', 'e', 'r', 'v', 'e', 'r', ' ', '0', '0', '1',
    SLUICE_ADOBE_KEY_TAIL};
constexpr size_t kServerKeyText = 36;
static_assert(sizeof(kServerKey) == 68, "FMS key is 68 bytes");

#undef SLUICE_ADOBE_KEY_TAIL

// Version fields (bytes 4..7 of C1/S1). Non-zero marks a complex handshake; ffmpeg checks
// the S1 digest only when the first byte is >= 3. Client: Flash Player 128.0.7.2, the
// value SRS's client sends. Server: 4.5.0.1, an FMS version.
constexpr uint8_t kClientVersion[4] = {0x80, 0x00, 0x07, 0x02};
constexpr uint8_t kServerVersion[4] = {0x04, 0x05, 0x00, 0x01};

// --- time and random bytes ---

const auto kLoadTime = std::chrono::steady_clock::now();

// RTMP spec 5.2.3 calls the time field the epoch of the sender's chunk timestamps; no peer
// uses it (ffmpeg sends 0, SRS time(NULL)). Ours: milliseconds since the addon loaded.
uint32_t Uptime() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - kLoadTime)
                .count();
  return static_cast<uint32_t>(ms);
}

// The handshake's random bytes need not be secret (the digests use public keys), only
// different per connection, so a fast xorshift64* seeded once per thread from the clocks and
// an address (ASLR) does. splitmix64 spreads the seed.
uint64_t Seed() {
  uint64_t x = static_cast<uint64_t>(
                   std::chrono::system_clock::now().time_since_epoch().count()) ^
               (static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())
                << 17) ^
               static_cast<uint64_t>(reinterpret_cast<uintptr_t>(&x));
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x != 0 ? x : 0x2545F4914F6CDD1Dull;  // xorshift never leaves 0
}

void FillRandom(uint8_t* out, size_t len) {
  thread_local uint64_t state = Seed();  // thread_local: the addon may load in workers
  while (len > 0) {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    uint64_t r = state * 0x2545F4914F6CDD1Dull;
    size_t n = len < 8 ? len : 8;
    memcpy(out, &r, n);
    out += n;
    len -= n;
  }
}

void StoreBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// --- digests ---

// Where the digest sits in a 1536-byte C1/S1 for `scheme` (see the top of this file). At
// most 776 + 727 = 1503, so the 32 bytes always end inside the packet.
size_t DigestOffset(const uint8_t* packet, int scheme) {
  size_t block = scheme == 0 ? 8 + 764 : 8;
  size_t sum = size_t{packet[block]} + packet[block + 1] + packet[block + 2] + packet[block + 3];
  return block + 4 + sum % 728;  // 728 = 764 - 4 offset bytes - 32 digest bytes
}

// HMAC-SHA256 over the packet minus the 32 bytes at `offset`.
void PacketDigest(const uint8_t* packet, size_t offset, const uint8_t* key, size_t key_len,
                  uint8_t out[kDigestSize]) {
  HmacSha256 hmac(key, key_len);
  hmac.Update(packet, offset);
  hmac.Update(packet + offset + kDigestSize, kPacketSize - offset - kDigestSize);
  hmac.Final(out);
}

bool HasDigest(const uint8_t* packet, int scheme, const uint8_t* key, size_t key_len) {
  size_t offset = DigestOffset(packet, scheme);
  uint8_t digest[kDigestSize];
  PacketDigest(packet, offset, key, key_len, digest);
  return memcmp(digest, packet + offset, kDigestSize) == 0;
}

// The scheme whose digest validates, `first` tried first, or -1. SRS and nginx-rtmp try
// scheme 0 first for a C1 ("to make flash player happy"), as does ffmpeg for an S1.
int FindScheme(const uint8_t* packet, const uint8_t* key, size_t key_len, int first = 0) {
  if (HasDigest(packet, first, key, key_len)) return first;
  if (HasDigest(packet, 1 - first, key, key_len)) return 1 - first;
  return -1;
}

void Sign(uint8_t* packet, int scheme, const uint8_t* key, size_t key_len) {
  size_t offset = DigestOffset(packet, scheme);
  uint8_t digest[kDigestSize];
  PacketDigest(packet, offset, key, key_len, digest);
  memcpy(packet + offset, digest, kDigestSize);
}

// A complex S2 or C2 answering the peer's digest: random bytes, then a digest of them keyed
// by HMAC-SHA256(key, peer_digest).
void Answer(uint8_t* out, const uint8_t* peer_digest, const uint8_t* key, size_t key_len) {
  constexpr size_t kSigned = kPacketSize - kDigestSize;
  FillRandom(out, kSigned);
  uint8_t answer_key[kDigestSize];
  HmacSha256Digest(key, key_len, peer_digest, kDigestSize, answer_key);
  HmacSha256Digest(answer_key, kDigestSize, out, kSigned, out + kSigned);
}

// --- the JS boundary ---

Napi::Value Throw(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", code);
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ThrowVersion(Napi::Env env, const char* field, uint8_t version) {
  std::string what = std::to_string(version);
  if (version == 6 || version == 8 || version == 9) what += " (RTMPE, encrypted RTMP)";
  return Throw(env, "ERR_RTMP_HANDSHAKE_VERSION",
               std::string("unsupported RTMP version ") + what + " in " + field +
                   "; only 3 (plain RTMP) is supported");
}

// Argument `index` as bytes, `len` long unless kAnyLength. On a wrong type or length it
// throws and returns nullptr (with *size untouched).
const uint8_t* BytesArg(const Napi::CallbackInfo& info, size_t index, size_t len,
                        const char* what, size_t* size = nullptr) {
  Napi::Value value = info[index];
  if (!value.IsTypedArray() ||
      value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Throw(info.Env(), "ERR_RTMP_HANDSHAKE", std::string(what) + " must be a Buffer");
    return nullptr;
  }
  Napi::Uint8Array bytes = value.As<Napi::Uint8Array>();
  if (len != kAnyLength && bytes.ByteLength() != len) {
    Throw(info.Env(), "ERR_RTMP_HANDSHAKE",
          std::string(what) + " must be " + std::to_string(len) + " bytes, got " +
              std::to_string(bytes.ByteLength()));
    return nullptr;
  }
  if (size != nullptr) *size = bytes.ByteLength();
  // A zero-length view may have no data pointer; callers then read nothing from it.
  static const uint8_t kEmpty = 0;
  return bytes.ByteLength() == 0 ? &kEmpty : bytes.Data();
}

// handshakeServerReply(c0c1: Buffer(1537)) -> { s0s1s2: Buffer(3073), scheme: -1|0|1 }
Napi::Value ServerReply(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* c0c1 = BytesArg(info, 0, kC0C1Size, "C0+C1");
  if (c0c1 == nullptr) return env.Undefined();
  if (c0c1[0] != kPlainRtmp) return ThrowVersion(env, "C0", c0c1[0]);
  const uint8_t* c1 = c0c1 + 1;
  int scheme = FindScheme(c1, kPlayerKey, kPlayerKeyText);

  Napi::Buffer<uint8_t> reply = Napi::Buffer<uint8_t>::New(env, kS0S1S2Size);
  uint8_t* s1 = reply.Data() + 1;
  uint8_t* s2 = s1 + kPacketSize;
  reply.Data()[0] = kPlainRtmp;
  StoreBe32(s1, Uptime());
  FillRandom(s1 + 8, kPacketSize - 8);
  if (scheme >= 0) {
    // Complex: S1 signed in the client's scheme (as SRS does), S2 answers C1's digest.
    memcpy(s1 + 4, kServerVersion, 4);
    Sign(s1, scheme, kServerKey, kServerKeyText);
    Answer(s2, c1 + DigestOffset(c1, scheme), kServerKey, sizeof(kServerKey));
  } else {
    // Simple (RTMP spec 5.2.3, 5.2.4): S1 version zero; S2 echoes C1, as SRS does.
    memset(s1 + 4, 0, 4);
    memcpy(s2, c1, kPacketSize);
  }

  Napi::Object result = Napi::Object::New(env);
  result.Set("s0s1s2", reply);
  result.Set("scheme", Napi::Number::New(env, scheme));
  return result;
}

// handshakeValidateC1(c1: Buffer(1536)) -> -1 | 0 | 1
Napi::Value ValidateC1(const Napi::CallbackInfo& info) {
  const uint8_t* c1 = BytesArg(info, 0, kPacketSize, "C1");
  if (c1 == nullptr) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), FindScheme(c1, kPlayerKey, kPlayerKeyText));
}

// handshakeValidateS1(s1: Buffer(1536)) -> -1 | 0 | 1
Napi::Value ValidateS1(const Napi::CallbackInfo& info) {
  const uint8_t* s1 = BytesArg(info, 0, kPacketSize, "S1");
  if (s1 == nullptr) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), FindScheme(s1, kServerKey, kServerKeyText));
}

// handshakeClientC0C1(complex: boolean) -> Buffer(1537)
Napi::Value ClientC0C1(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBoolean()) return Throw(env, "ERR_RTMP_HANDSHAKE", "complex must be a boolean");
  bool complex = info[0].As<Napi::Boolean>().Value();

  Napi::Buffer<uint8_t> c0c1 = Napi::Buffer<uint8_t>::New(env, kC0C1Size);
  uint8_t* c1 = c0c1.Data() + 1;
  c0c1.Data()[0] = kPlainRtmp;
  StoreBe32(c1, Uptime());
  FillRandom(c1 + 8, kPacketSize - 8);
  if (complex) {
    // Scheme 1 (digest block first): what ffmpeg and SRS send; SRS notes FMS requires it.
    memcpy(c1 + 4, kClientVersion, 4);
    Sign(c1, 1, kPlayerKey, kPlayerKeyText);
  } else {
    memset(c1 + 4, 0, 4);  // RTMP spec 5.2.3: zero
  }
  return c0c1;
}

// handshakeClientC2(s0s1s2: Buffer(3073), c0c1: Buffer(1537)) -> Buffer(1536)
Napi::Value ClientC2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* s0s1s2 = BytesArg(info, 0, kS0S1S2Size, "S0+S1+S2");
  if (s0s1s2 == nullptr) return env.Undefined();
  const uint8_t* c0c1 = BytesArg(info, 1, kC0C1Size, "C0+C1");
  if (c0c1 == nullptr) return env.Undefined();
  if (s0s1s2[0] != kPlainRtmp) return ThrowVersion(env, "S0", s0s1s2[0]);
  const uint8_t* s1 = s0s1s2 + 1;

  // A server signs S1 in our scheme (FMS, SRS) or always in scheme 1 (nginx-rtmp), so try
  // ours first, then the other, as ffmpeg tries both.
  int ours = FindScheme(c0c1 + 1, kPlayerKey, kPlayerKeyText);
  int scheme = FindScheme(s1, kServerKey, kServerKeyText, ours >= 0 ? ours : 1);

  Napi::Buffer<uint8_t> c2 = Napi::Buffer<uint8_t>::New(env, kPacketSize);
  if (scheme >= 0) {
    Answer(c2.Data(), s1 + DigestOffset(s1, scheme), kPlayerKey, sizeof(kPlayerKey));
  } else {
    memcpy(c2.Data(), s1, kPacketSize);  // simple: C2 echoes S1 (RTMP spec 5.2.4)
  }
  return c2;
}

// sha256(data: Buffer) -> Buffer(32); hmacSha256(key: Buffer, data: Buffer) -> Buffer(32).
// Exported so that tests can check our SHA-256 against the FIPS and RFC 4231 vectors.
Napi::Value Sha256Js(const Napi::CallbackInfo& info) {
  size_t len = 0;
  const uint8_t* data = BytesArg(info, 0, kAnyLength, "data", &len);
  if (data == nullptr) return info.Env().Undefined();
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(info.Env(), kSha256Size);
  Sha256Digest(data, len, out.Data());
  return out;
}

Napi::Value HmacSha256Js(const Napi::CallbackInfo& info) {
  size_t key_len = 0, len = 0;
  const uint8_t* key = BytesArg(info, 0, kAnyLength, "key", &key_len);
  if (key == nullptr) return info.Env().Undefined();
  const uint8_t* data = BytesArg(info, 1, kAnyLength, "data", &len);
  if (data == nullptr) return info.Env().Undefined();
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(info.Env(), kSha256Size);
  HmacSha256Digest(key, key_len, data, len, out.Data());
  return out;
}

}  // namespace

void InitHandshake(Napi::Env env, Napi::Object exports) {
  exports.Set("handshakeServerReply", Napi::Function::New(env, ServerReply));
  exports.Set("handshakeValidateC1", Napi::Function::New(env, ValidateC1));
  exports.Set("handshakeValidateS1", Napi::Function::New(env, ValidateS1));
  exports.Set("handshakeClientC0C1", Napi::Function::New(env, ClientC0C1));
  exports.Set("handshakeClientC2", Napi::Function::New(env, ClientC2));
  exports.Set("sha256", Napi::Function::New(env, Sha256Js));
  exports.Set("hmacSha256", Napi::Function::New(env, HmacSha256Js));
}

}  // namespace sluice
