#ifndef SLUICE_LOAD_AMF0_H
#define SLUICE_LOAD_AMF0_H

// The few AMF0 values (AMF0 spec 2.2-2.11) a playing client writes and reads: numbers,
// booleans, strings, null, and objects (written flat; read by skipping or by looking up
// one property). Not a general codec: the server's is in src/protocol/rtmp/amf0.ts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::load {

class Amf0Writer {
 public:
  explicit Amf0Writer(std::vector<uint8_t>& out) : out_(out) {}
  void Number(double v);
  void Boolean(bool v);
  void String(std::string_view s);
  void Null();
  void ObjectBegin();
  // A property name (a UTF-8 string without the type marker); the value follows.
  void Key(std::string_view k);
  void ObjectEnd();

 private:
  void Utf8(std::string_view s);
  std::vector<uint8_t>& out_;
};

// Reads values one after the other from a command message's payload. Every read checks
// the length; a short or unknown value makes ok() false and later reads fail too.
class Amf0Reader {
 public:
  Amf0Reader(const uint8_t* p, size_t len) : p_(p), end_(p + len) {}
  bool ok() const { return ok_; }
  bool AtEnd() const { return p_ >= end_; }
  // The marker of the next value, or -1 at the end.
  int PeekType() const { return p_ < end_ ? *p_ : -1; }
  bool ReadNumber(double* v);
  bool ReadString(std::string_view* s);
  // Skips any one value (objects and arrays recursively, to a bounded depth).
  bool Skip();
  // Reads an object (or ECMA array) and returns the string or number properties named
  // `a` and `b` when present; others are skipped.
  bool ReadObjectStrings(std::string_view a, std::string* va, std::string_view b, std::string* vb);

 private:
  bool SkipValue(int depth);
  bool SkipProperties(int depth);
  bool Utf8(std::string_view* s);
  bool Need(size_t n);
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

}  // namespace sluice::load

#endif
