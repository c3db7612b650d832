// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), written here so that the addon needs no
// OpenSSL: the RTMP handshake is their only user and hashes ~6 KB once per connection.
#ifndef SLUICE_SHA256_H
#define SLUICE_SHA256_H

#include <cstddef>
#include <cstdint>

namespace sluice {

constexpr size_t kSha256Size = 32;

// Incremental SHA-256: Update() any number of times, then Final() once.
class Sha256 {
 public:
  Sha256();
  void Update(const uint8_t* data, size_t len);
  void Final(uint8_t out[kSha256Size]);

 private:
  void Compress(const uint8_t block[64]);

  uint32_t state_[8];
  uint64_t total_ = 0;  // bytes hashed so far
  uint8_t block_[64];
  size_t used_ = 0;  // bytes waiting in block_
};

// Incremental HMAC-SHA256, so a caller can skip a hole in its input (the handshake's digest
// field) by calling Update() on the parts around it instead of copying them together.
class HmacSha256 {
 public:
  HmacSha256(const uint8_t* key, size_t key_len);
  void Update(const uint8_t* data, size_t len) { inner_.Update(data, len); }
  void Final(uint8_t out[kSha256Size]);

 private:
  Sha256 inner_;
  uint8_t outer_key_[64];  // key ^ opad
};

void Sha256Digest(const uint8_t* data, size_t len, uint8_t out[kSha256Size]);
void HmacSha256Digest(const uint8_t* key, size_t key_len, const uint8_t* data, size_t len,
                      uint8_t out[kSha256Size]);

}  // namespace sluice

#endif
