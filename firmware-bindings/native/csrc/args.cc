#include "args.h"

#include <cmath>
#include <cstring>

namespace nm {

void ThrowType(Napi::Env env, const std::string& msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
}

void ThrowRange(Napi::Env env, const std::string& msg) {
  Napi::RangeError::New(env, msg).ThrowAsJavaScriptException();
}

std::string ErrnoCode(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : ("E" + std::to_string(err));
}

void ThrowSystemError(Napi::Env env, const std::string& msg, int err, const char* syscall) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, ErrnoCode(err)));
  e.Set("errno", Napi::Number::New(env, -err));  // Node convention: negative
  e.Set("syscall", Napi::String::New(env, syscall));
  e.ThrowAsJavaScriptException();
}

void ThrowErrno(Napi::Env env, const char* fn, const char* syscall, int err) {
  ThrowSystemError(env,
                   std::string(fn) + ": " + syscall + "() failed: " + ErrnoCode(err) + " (" + strerror(err) + ")",
                   err, syscall);
}

bool MissingArgs(const Napi::CallbackInfo& info, size_t n, const char* fn) {
  if (info.Length() >= n) return false;
  ThrowType(info.Env(), std::string(fn) + ": expected " + std::to_string(n) + " arguments, got " +
                            std::to_string(info.Length()));
  return true;
}

bool ArgInt(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
            int64_t min, int64_t max, int64_t* out) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) {
    ThrowType(info.Env(), std::string(fn) + ": " + name + " must be a number");
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::trunc(d)) {
    ThrowType(info.Env(), std::string(fn) + ": " + name + " must be an integer");
    return false;
  }
  if (d < static_cast<double>(min) || d > static_cast<double>(max)) {
    ThrowRange(info.Env(), std::string(fn) + ": " + name + " = " + std::to_string(static_cast<int64_t>(d)) +
                               " is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, bool* out) {
  Napi::Value v = info[i];
  if (!v.IsBoolean()) {
    ThrowType(info.Env(), std::string(fn) + ": " + name + " must be a boolean");
    return false;
  }
  *out = v.As<Napi::Boolean>().Value();
  return true;
}

bool ArgString(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
               std::string* out) {
  Napi::Value v = info[i];
  if (!v.IsString()) {
    ThrowType(info.Env(), std::string(fn) + ": " + name + " must be a string");
    return false;
  }
  *out = v.As<Napi::String>().Utf8Value();
  if (out->find('\0') != std::string::npos) {
    ThrowType(info.Env(), std::string(fn) + ": " + name + " contains a NUL character");
    return false;
  }
  return true;
}

bool ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
              uint8_t** data, size_t* len) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowType(info.Env(), std::string(fn) + ": " + name + " must be a Buffer or Uint8Array");
    return false;
  }
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  *data = a.Data();
  *len = a.ElementLength();
  if (*data == nullptr) *len = 0;  // detached
  return true;
}

bool ArgInt32Array(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                   int32_t** data, size_t* len) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    ThrowType(info.Env(), std::string(fn) + ": " + name + " must be an Int32Array");
    return false;
  }
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  *data = a.Data();
  *len = a.ElementLength();
  if (*data == nullptr) *len = 0;
  return true;
}

}  // namespace nm
