#include "fd-watch.h"

#include <uv.h>

#include <string>

#include "args.h"

namespace nm {

struct FdWatch::Handle {
  uv_poll_t poll;
  napi_env env;
  Napi::FunctionReference callback;  // empty while not armed
};

void FdWatch::Arm(Napi::Env env, const char* fn, int fd, Napi::Value callback) {
  if (!callback.IsFunction()) {
    ThrowType(env, std::string(fn) + ": callback must be a function");
    return;
  }
  if (!handle_) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, std::string(fn) + ": no event loop").ThrowAsJavaScriptException();
      return;
    }
    auto* h = new Handle();
    h->env = env;
    int rc = uv_poll_init(loop, &h->poll, fd);
    if (rc != 0) {
      delete h;
      Napi::Error::New(env, std::string(fn) + ": uv_poll_init: " + uv_strerror(rc)).ThrowAsJavaScriptException();
      return;
    }
    h->poll.data = h;
    handle_ = h;
  }
  handle_->callback = Napi::Persistent(callback.As<Napi::Function>());
  int rc = uv_poll_start(&handle_->poll, UV_READABLE, [](uv_poll_t* p, int, int) {
    Handle* h = static_cast<Handle*>(p->data);
    uv_poll_stop(p);
    if (h->callback.IsEmpty()) return;
    Napi::Env env(h->env);
    Napi::HandleScope scope(env);
    Napi::Function fn = h->callback.Value();
    h->callback.Reset();
    fn.MakeCallback(env.Global(), {});
  });
  if (rc != 0) {
    handle_->callback.Reset();
    Napi::Error::New(env, std::string(fn) + ": uv_poll_start: " + uv_strerror(rc)).ThrowAsJavaScriptException();
  }
}

void FdWatch::Close() {
  if (!handle_) return;
  handle_->callback.Reset();
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll),
           [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
  handle_ = nullptr;
}

}  // namespace nm
