// The handles JavaScript holds for packet rings and XSK sockets: a number it
// passes back is looked up in a table, so a closed, foreign or mistyped one
// is refused instead of reaching a system call (as sockets.cc does for fds),
// and an environment that goes away (a worker exits) has its handles
// destroyed. Each handle belongs to the environment that opened it.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "args.h"

namespace nm {

// T has a member `napi_env env`: the environment that opened it.
template <typename T>
class HandleTable {
 public:
  // `what` names a handle in errors: "packet ring".
  explicit HandleTable(const char* what) : what_(what) {}

  void Add(int id, std::unique_ptr<T> handle) {
    std::lock_guard<std::mutex> lock(mutex_);
    map_[id] = std::move(handle);
  }

  // The handle for argument i, or null (and a TypeError). Handles are used
  // only from the environment that opened them, so the pointer stays valid
  // for the call once the lookup is done (closing runs on the same thread).
  T* Arg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
    int64_t id;
    if (!ArgInt(info, i, fn, "handle", 0, INT32_MAX, &id)) return nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = map_.find(static_cast<int>(id));
    if (it == map_.end() || it->second->env != static_cast<napi_env>(info.Env())) {
      ThrowType(info.Env(), std::string(fn) + ": " + std::to_string(id) + " is not an open " + what_ +
                                " of this thread (or it was closed)");
      return nullptr;
    }
    return it->second.get();
  }

  // Takes the handle `id` (one Arg found) out of the table.
  std::unique_ptr<T> Take(int id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = map_.find(id);
    std::unique_ptr<T> owned = std::move(it->second);
    map_.erase(it);
    return owned;
  }

  // Destroys and drops every handle of env, whose JS objects are no longer
  // usable (for napi_add_env_cleanup_hook).
  void CloseEnv(napi_env env, void (*destroy)(T*)) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = map_.begin(); it != map_.end();) {
      if (it->second->env == env) {
        destroy(it->second.get());
        it = map_.erase(it);
      } else {
        ++it;
      }
    }
  }

 private:
  const char* what_;
  std::mutex mutex_;
  std::unordered_map<int, std::unique_ptr<T>> map_;
};

// Detaches a view lent to JavaScript, so a stale Buffer reads as empty
// instead of memory that is reused or unmapped, and drops the reference.
inline void DetachView(Napi::Reference<Napi::ArrayBuffer>& view) {
  if (view.IsEmpty()) return;
  Napi::ArrayBuffer ab = view.Value();
  if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
  view.Reset();
}

}  // namespace nm
