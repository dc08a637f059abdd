// Argument checking shared by every exported function.
//
// Each helper either stores the value and returns true, or throws a JS
// exception (TypeError for a wrong type, RangeError for a value out of range)
// and returns false; the caller then returns env.Undefined() at once. With
// NAPI_DISABLE_CPP_EXCEPTIONS nothing unwinds, so "return after throw" is the
// only error path, and no wrong call can reach a system call or a buffer read.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace nm {

void ThrowType(Napi::Env env, const std::string& msg);
void ThrowRange(Napi::Env env, const std::string& msg);
// Error with Node-style `code` (e.g. "EPERM"), `errno` and `syscall` properties.
void ThrowErrno(Napi::Env env, const char* fn, const char* syscall, int err);
// The same with a message of the caller's own.
void ThrowSystemError(Napi::Env env, const std::string& msg, int err, const char* syscall);
// err's name ("EPERM"), or "E<number>" for one without a name.
std::string ErrnoCode(int err);

// True when fewer than `n` arguments were given (and throws).
bool MissingArgs(const Napi::CallbackInfo& info, size_t n, const char* fn);

// An integer-valued Number in [min, max].
bool ArgInt(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
            int64_t min, int64_t max, int64_t* out);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, bool* out);
bool ArgString(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
               std::string* out);
// A Uint8Array (Buffer included). `data` may be null when len == 0.
bool ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
              uint8_t** data, size_t* len);
bool ArgInt32Array(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                   int32_t** data, size_t* len);

}  // namespace nm
