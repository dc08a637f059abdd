// copyBatch: many frame copies in one native call. Node 20's Buffer.copy
// allocates a view per call and a JS byte loop is slow for full-size frames;
// the pipeline defers a batch's copies and does them all here.
#include "memory.h"

#include <cstring>
#include <string>

#include "args.h"

namespace nm {
namespace {

Napi::Value CopyBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "copyBatch";
  if (MissingArgs(info, 6, fn)) return env.Undefined();
  uint8_t *src, *dst;
  size_t srcLen, dstLen, n1, n2, n3;
  int32_t *srcOffsets, *dstOffsets, *lengths;
  int64_t count;
  if (!ArgBytes(info, 0, fn, "src", &src, &srcLen) ||
      !ArgInt32Array(info, 1, fn, "srcOffsets", &srcOffsets, &n1) ||
      !ArgBytes(info, 2, fn, "dst", &dst, &dstLen) ||
      !ArgInt32Array(info, 3, fn, "dstOffsets", &dstOffsets, &n2) ||
      !ArgInt32Array(info, 4, fn, "lengths", &lengths, &n3) ||
      !ArgInt(info, 5, fn, "count", 0, INT32_MAX, &count))
    return env.Undefined();
  if (static_cast<size_t>(count) > n1 || static_cast<size_t>(count) > n2 || static_cast<size_t>(count) > n3) {
    ThrowRange(env, std::string(fn) + ": count " + std::to_string(count) + " exceeds the descriptor arrays");
    return env.Undefined();
  }
  // Check every descriptor before copying any, so a bad call changes nothing.
  for (int64_t i = 0; i < count; i++) {
    int64_t s = srcOffsets[i], d = dstOffsets[i], l = lengths[i];
    if (s < 0 || d < 0 || l < 0 || s + l > static_cast<int64_t>(srcLen) || d + l > static_cast<int64_t>(dstLen)) {
      ThrowRange(env, std::string(fn) + ": copy " + std::to_string(i) + " (" + std::to_string(s) + " -> " +
                          std::to_string(d) + ", " + std::to_string(l) + " bytes) is outside a buffer");
      return env.Undefined();
    }
  }
  for (int64_t i = 0; i < count; i++) std::memmove(dst + dstOffsets[i], src + srcOffsets[i], lengths[i]);
  return env.Undefined();
}

}  // namespace

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("copyBatch", Napi::Function::New(env, CopyBatch, "copyBatch"));
}

}  // namespace nm
