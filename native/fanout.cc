// The fan-out's last step: a player's queued chunk Buffers (shared by every player) go to
// its socket in one writev(2), straight from the addon, instead of one Node write request
// per Buffer. Merged writes make the syscalls few; this makes the JS around them small.
// The socket stays libuv's: JS calls this only while Node holds nothing unsent for it, and
// hands any remainder back to Node (socket.write), which waits for writability as usual.
#include "fanout.h"

#include <sys/resource.h>
#include <sys/uio.h>

#include <cerrno>
#include <climits>

#include "napi_error.h"

namespace sluice {

namespace {

constexpr uint32_t kMaxIov = 1024;  // IOV_MAX on Linux

// writevFd(fd, buffers, count) -> bytes written (>= 0; fewer than all when the socket's
// send buffer filled), or -errno on an error other than EAGAIN/EINTR.
Napi::Value WritevFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsArray() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "writevFd(fd, buffers, count)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Array list = info[1].As<Napi::Array>();
  uint32_t count = info[2].As<Napi::Number>().Uint32Value();
  if (count > list.Length()) count = list.Length();
  if (fd < 0) return ThrowCoded(env, "ERR_NATIVE", "writevFd: bad file descriptor");

  struct iovec iov[kMaxIov];
  double written = 0;
  uint32_t i = 0;
  while (i < count) {
    uint32_t n = 0;
    size_t batch = 0;
    for (; i + n < count && n < kMaxIov; ++n) {
      Napi::Value v = list.Get(i + n);
      if (!v.IsBuffer()) return ThrowCoded(env, "ERR_NATIVE", "writevFd: every element must be a Buffer");
      auto b = v.As<Napi::Buffer<uint8_t>>();
      iov[n].iov_base = b.Data();
      iov[n].iov_len = b.Length();
      batch += b.Length();
    }
    ssize_t r;
    do {
      r = ::writev(fd, iov, int(n));
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return Napi::Number::New(env, -errno);
    }
    written += double(r);
    if (size_t(r) < batch) break;  // the kernel took part: the caller writes the rest via Node
    i += n;
  }
  return Napi::Number::New(env, written);
}

// raiseOpenFilesLimit() -> { soft, hard }: every player is a descriptor, so the server
// lifts its soft RLIMIT_NOFILE to the hard limit at start, as nginx's worker_rlimit_nofile
// and SRS do; Node has no API for it.
Napi::Value RaiseOpenFilesLimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return ThrowCoded(env, "ERR_NATIVE", "getrlimit(RLIMIT_NOFILE) failed");
  if (rl.rlim_cur < rl.rlim_max) {
    struct rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("soft", Napi::Number::New(env, rl.rlim_cur == RLIM_INFINITY ? -1.0 : double(rl.rlim_cur)));
  out.Set("hard", Napi::Number::New(env, rl.rlim_max == RLIM_INFINITY ? -1.0 : double(rl.rlim_max)));
  return out;
}

}  // namespace

void InitFanout(Napi::Env env, Napi::Object exports) {
  exports.Set("writevFd", Napi::Function::New(env, WritevFd, "writevFd"));
  exports.Set("raiseOpenFilesLimit", Napi::Function::New(env, RaiseOpenFilesLimit, "raiseOpenFilesLimit"));
}

}  // namespace sluice
