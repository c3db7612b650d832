#include "sha256.h"

#include <cstring>

namespace sluice {
namespace {

// FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube roots of the
// first 64 primes.
constexpr uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

inline uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

inline uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

inline void StoreBe32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

}  // namespace

Sha256::Sha256()
    // FIPS 180-4 5.3.3: the fractional parts of the square roots of the first 8 primes.
    : state_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c,
             0x1f83d9ab, 0x5be0cd19} {}

// FIPS 180-4 6.2.2: one 512-bit block.
void Sha256::Compress(const uint8_t block[64]) {
  uint32_t w[64];
  for (int t = 0; t < 16; t++) w[t] = LoadBe32(block + 4 * t);
  for (int t = 16; t < 64; t++) {
    uint32_t s0 = Rotr(w[t - 15], 7) ^ Rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    uint32_t s1 = Rotr(w[t - 2], 17) ^ Rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
  for (int t = 0; t < 64; t++) {
    uint32_t t1 = h + (Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                  kRound[t] + w[t];
    uint32_t t2 = (Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
  state_[4] += e;
  state_[5] += f;
  state_[6] += g;
  state_[7] += h;
}

void Sha256::Update(const uint8_t* data, size_t len) {
  if (len == 0) return;  // data may be null then; memcpy(_, nullptr, 0) is undefined
  total_ += len;
  if (used_ > 0) {
    size_t take = 64 - used_ < len ? 64 - used_ : len;
    memcpy(block_ + used_, data, take);
    used_ += take;
    data += take;
    len -= take;
    if (used_ < 64) return;
    Compress(block_);
    used_ = 0;
  }
  for (; len >= 64; data += 64, len -= 64) Compress(data);
  if (len > 0) {
    memcpy(block_, data, len);
    used_ = len;
  }
}

// FIPS 180-4 5.1.1: append 0x80, zeros up to 56 mod 64, then the bit length big-endian.
void Sha256::Final(uint8_t out[kSha256Size]) {
  uint64_t bits = total_ * 8;
  block_[used_++] = 0x80;
  if (used_ > 56) {
    memset(block_ + used_, 0, 64 - used_);
    Compress(block_);
    used_ = 0;
  }
  memset(block_ + used_, 0, 56 - used_);
  StoreBe32(block_ + 56, uint32_t(bits >> 32));
  StoreBe32(block_ + 60, uint32_t(bits));
  Compress(block_);
  for (int i = 0; i < 8; i++) StoreBe32(out + 4 * i, state_[i]);
}

// RFC 2104 2: H(K ^ opad, H(K ^ ipad, text)), a key longer than the block hashed first.
HmacSha256::HmacSha256(const uint8_t* key, size_t key_len) {
  uint8_t block_key[64] = {0};
  if (key_len > 64) {
    Sha256Digest(key, key_len, block_key);
  } else if (key_len > 0) {
    memcpy(block_key, key, key_len);
  }
  uint8_t inner_key[64];
  for (int i = 0; i < 64; i++) {
    inner_key[i] = block_key[i] ^ 0x36;
    outer_key_[i] = block_key[i] ^ 0x5c;
  }
  inner_.Update(inner_key, 64);
}

void HmacSha256::Final(uint8_t out[kSha256Size]) {
  uint8_t inner_hash[kSha256Size];
  inner_.Final(inner_hash);
  Sha256 outer;
  outer.Update(outer_key_, 64);
  outer.Update(inner_hash, kSha256Size);
  outer.Final(out);
}

void Sha256Digest(const uint8_t* data, size_t len, uint8_t out[kSha256Size]) {
  Sha256 h;
  h.Update(data, len);
  h.Final(out);
}

void HmacSha256Digest(const uint8_t* key, size_t key_len, const uint8_t* data, size_t len,
                      uint8_t out[kSha256Size]) {
  HmacSha256 h(key, key_len);
  h.Update(data, len);
  h.Final(out);
}

}  // namespace sluice
