// An event-loop watch of one file descriptor (pollRing, pollXsk): a libuv
// poll handle that calls a JavaScript callback once when the fd is readable.
#pragma once

#include <napi.h>

namespace nm {

class FdWatch {
 public:
  FdWatch() = default;
  FdWatch(const FdWatch&) = delete;
  FdWatch& operator=(const FdWatch&) = delete;
  ~FdWatch() { Close(); }

  // Calls callback() once, from env's event loop, when fd is readable (or has
  // an error pending). The libuv handle is made on first use; re-arming while
  // armed replaces the callback. Throws a TypeError when callback is not a
  // function, an Error when libuv refuses (fn names the caller in both).
  void Arm(Napi::Env env, const char* fn, int fd, Napi::Value callback);

  // Drops the callback and closes the handle: stops the poll, so call it
  // before the fd is closed. libuv finishes closing on a later loop turn, and
  // the handle is freed in uv_close's callback, never with its owner.
  void Close();

 private:
  struct Handle;  // fd-watch.cc
  Handle* handle_ = nullptr;
};

}  // namespace nm
