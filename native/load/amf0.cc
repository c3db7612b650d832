// A tiny AMF0 writer and reader for the load generator's commands (AMF0 spec, Adobe 2007).
#include "amf0.h"

#include <cstring>

namespace sluice::load {

namespace {
enum Marker : uint8_t {
  kNumber = 0x00,
  kBoolean = 0x01,
  kString = 0x02,
  kObject = 0x03,
  kNull = 0x05,
  kUndefined = 0x06,
  kReference = 0x07,
  kEcmaArray = 0x08,
  kObjectEnd = 0x09,
  kStrictArray = 0x0a,
  kDate = 0x0b,
  kLongString = 0x0c,
  kUnsupported = 0x0d,
  kXmlDocument = 0x0f,
  kTypedObject = 0x10,
};
constexpr int kMaxDepth = 16;
}  // namespace

void Amf0Writer::Number(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  out_.push_back(kNumber);
  for (int i = 7; i >= 0; --i) out_.push_back(uint8_t(bits >> (i * 8)));
}

void Amf0Writer::Boolean(bool v) {
  out_.push_back(kBoolean);
  out_.push_back(v ? 1 : 0);
}

void Amf0Writer::Utf8(std::string_view s) {
  const size_t n = s.size() > 0xFFFF ? 0xFFFF : s.size();
  out_.push_back(uint8_t(n >> 8));
  out_.push_back(uint8_t(n));
  out_.insert(out_.end(), s.begin(), s.begin() + long(n));
}

void Amf0Writer::String(std::string_view s) {
  out_.push_back(kString);
  Utf8(s);
}

void Amf0Writer::Null() { out_.push_back(kNull); }
void Amf0Writer::ObjectBegin() { out_.push_back(kObject); }
void Amf0Writer::Key(std::string_view k) { Utf8(k); }

void Amf0Writer::ObjectEnd() {
  out_.push_back(0);
  out_.push_back(0);
  out_.push_back(kObjectEnd);
}

bool Amf0Reader::Need(size_t n) {
  if (!ok_ || size_t(end_ - p_) < n) ok_ = false;
  return ok_;
}

bool Amf0Reader::Utf8(std::string_view* s) {
  if (!Need(2)) return false;
  const size_t n = (size_t(p_[0]) << 8) | p_[1];
  p_ += 2;
  if (!Need(n)) return false;
  if (s) *s = std::string_view(reinterpret_cast<const char*>(p_), n);
  p_ += n;
  return true;
}

bool Amf0Reader::ReadNumber(double* v) {
  if (!Need(9) || p_[0] != kNumber) return ok_ = false;
  uint64_t bits = 0;
  for (int i = 1; i <= 8; ++i) bits = (bits << 8) | p_[i];
  std::memcpy(v, &bits, 8);
  p_ += 9;
  return true;
}

bool Amf0Reader::ReadString(std::string_view* s) {
  if (!Need(1) || p_[0] != kString) return ok_ = false;
  ++p_;
  return Utf8(s);
}

bool Amf0Reader::Skip() { return SkipValue(0); }

bool Amf0Reader::SkipProperties(int depth) {
  for (;;) {
    if (!Need(3)) return false;
    if (p_[0] == 0 && p_[1] == 0 && p_[2] == kObjectEnd) {
      p_ += 3;
      return true;
    }
    if (!Utf8(nullptr) || !SkipValue(depth + 1)) return false;
  }
}

bool Amf0Reader::SkipValue(int depth) {
  if (depth > kMaxDepth || !Need(1)) return ok_ = false;
  const uint8_t marker = *p_++;
  switch (marker) {
    case kNumber:
      if (!Need(8)) return false;
      p_ += 8;
      return true;
    case kBoolean:
      if (!Need(1)) return false;
      p_ += 1;
      return true;
    case kString:
    case kXmlDocument:
      return Utf8(nullptr);
    case kLongString: {
      if (!Need(4)) return false;
      const size_t n = (size_t(p_[0]) << 24) | (size_t(p_[1]) << 16) | (size_t(p_[2]) << 8) | p_[3];
      p_ += 4;
      if (!Need(n)) return false;
      p_ += n;
      return true;
    }
    case kNull:
    case kUndefined:
    case kUnsupported:
      return true;
    case kReference:
      if (!Need(2)) return false;
      p_ += 2;
      return true;
    case kDate:
      if (!Need(10)) return false;
      p_ += 10;
      return true;
    case kObject:
      return SkipProperties(depth);
    case kTypedObject:
      return Utf8(nullptr) && SkipProperties(depth);
    case kEcmaArray:
      if (!Need(4)) return false;
      p_ += 4;  // the count is a hint; the properties end with the end marker
      return SkipProperties(depth);
    case kStrictArray: {
      if (!Need(4)) return false;
      const uint32_t n = (uint32_t(p_[0]) << 24) | (uint32_t(p_[1]) << 16) | (uint32_t(p_[2]) << 8) | p_[3];
      p_ += 4;
      for (uint32_t i = 0; i < n; ++i) {
        if (!SkipValue(depth + 1)) return false;
      }
      return true;
    }
    default:
      return ok_ = false;
  }
}

bool Amf0Reader::ReadObjectStrings(std::string_view a, std::string* va, std::string_view b, std::string* vb) {
  if (!Need(1)) return false;
  const uint8_t marker = *p_;
  if (marker != kObject && marker != kEcmaArray) return ok_ = false;
  ++p_;
  if (marker == kEcmaArray) {
    if (!Need(4)) return false;
    p_ += 4;
  }
  for (;;) {
    if (!Need(3)) return false;
    if (p_[0] == 0 && p_[1] == 0 && p_[2] == kObjectEnd) {
      p_ += 3;
      return true;
    }
    std::string_view key;
    if (!Utf8(&key)) return false;
    std::string* target = key == a ? va : key == b ? vb : nullptr;
    if (target != nullptr && PeekType() == kString) {
      std::string_view s;
      if (!ReadString(&s)) return false;
      target->assign(s.data(), s.size());
    } else if (!SkipValue(1)) {
      return false;
    }
  }
}

}  // namespace sluice::load
