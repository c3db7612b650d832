#ifndef SLUICE_NAPI_ERROR_H
#define SLUICE_NAPI_ERROR_H

#include <napi.h>

#include <string>

namespace sluice {

// The addon is built without C++ exceptions: errors become a pending JS Error carrying a
// stable `code` (see src/core/errors.ts) and the caller returns right after.
inline Napi::Value ThrowCoded(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  err.ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace sluice

#endif
