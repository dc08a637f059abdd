#include "bpf.h"

#include <pcap/pcap.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "args.h"

namespace nm {
namespace {

// bpf_image() formats into a static buffer, and older libpcap versions keep
// global parser state in pcap_compile(); worker threads share both.
std::mutex g_pcap_mutex;

constexpr int64_t kMaxSnapLen = 262144;  // libpcap's MAXIMUM_SNAPLEN
constexpr size_t kMaxInsns = 1 << 20;    // far beyond anything pcap_compile emits

// Reads argument i as a BPF program: a Buffer of struct bpf_insn in host
// order. Copies it when the bytes are not aligned for bpf_insn (a subarray at
// an odd offset). When `validate`, runs libpcap's bpf_validate() so that
// bpf_filter() can never jump outside the program or index scratch memory
// out of range (packet loads are bounds-checked by bpf_filter itself).
bool ArgProgram(const Napi::CallbackInfo& info, size_t i, const char* fn, bool validate,
                const bpf_insn** insns, int* count) {
  uint8_t* data;
  size_t len;
  if (!ArgBytes(info, i, fn, "program", &data, &len)) return false;
  if (len == 0 || len % sizeof(bpf_insn) != 0 || len / sizeof(bpf_insn) > kMaxInsns) {
    ThrowRange(info.Env(), std::string(fn) + ": program is " + std::to_string(len) +
                               " bytes; expected a non-zero multiple of 8 (struct bpf_insn)");
    return false;
  }
  size_t n = len / sizeof(bpf_insn);
  const bpf_insn* p = reinterpret_cast<const bpf_insn*>(data);
  if (reinterpret_cast<uintptr_t>(data) % alignof(bpf_insn) != 0) {
    thread_local std::vector<bpf_insn> aligned;
    aligned.resize(n);
    std::memcpy(aligned.data(), data, len);
    p = aligned.data();
  }
  if (validate && !bpf_validate(p, static_cast<int>(n))) {
    Napi::Error::New(info.Env(), std::string(fn) +
                                     ": program rejected by bpf_validate (jump out of range, "
                                     "no final ret, bad opcode or scratch index)")
        .ThrowAsJavaScriptException();
    return false;
  }
  *insns = p;
  *count = static_cast<int>(n);
  return true;
}

// pcap_open_dead() takes a DLT_ value; pcap and pcapng files carry LINKTYPE_
// values. They are equal except for a few low numbers, mapped here the way
// libpcap maps them when it opens a file (pcap-common.c, linktype_to_dlt);
// every other value passes through, so DLT_ values work too.
int LinktypeToDlt(int linktype) {
  switch (linktype) {
    case 100: return DLT_ATM_RFC1483;
    case 101: return DLT_RAW;
    case 102: return DLT_SLIP_BSDOS;
    case 103: return DLT_PPP_BSDOS;
    case 106: return DLT_ATM_CLIP;
    default: return linktype;
  }
}

// Compiles expr on p (pcap_compile under g_pcap_mutex) and closes p. Returns
// the program's bytes, or throws libpcap's own words, as tcpdump prints them
// after "tcpdump: ", with the expression (and the link type, when given).
Napi::Value CompileAndClose(Napi::Env env, pcap_t* p, const std::string& expr, bool optimize,
                            std::optional<int64_t> linkType) {
  bpf_program prog{};
  int rc;
  std::string err;
  {
    std::lock_guard<std::mutex> lock(g_pcap_mutex);
    rc = pcap_compile(p, &prog, expr.c_str(), optimize ? 1 : 0, PCAP_NETMASK_UNKNOWN);
    if (rc != 0) err = pcap_geterr(p);
  }
  if (rc != 0) {
    pcap_close(p);
    Napi::Error e = Napi::Error::New(env, err);
    e.Set("expression", Napi::String::New(env, expr));
    if (linkType) e.Set("linkType", Napi::Number::New(env, static_cast<double>(*linkType)));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::Copy(
      env, reinterpret_cast<const uint8_t*>(prog.bf_insns), prog.bf_len * sizeof(bpf_insn));
  pcap_freecode(&prog);
  pcap_close(p);
  return out;
}

// compileBpf(expression, linkType, snapLen, optimize): Buffer
Napi::Value CompileBpf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "compileBpf";
  if (MissingArgs(info, 4, fn)) return env.Undefined();
  std::string expr;
  int64_t linkType, snapLen;
  bool optimize;
  if (!ArgString(info, 0, fn, "expression", &expr) ||
      !ArgInt(info, 1, fn, "linkType", 0, INT_MAX, &linkType) ||
      !ArgInt(info, 2, fn, "snapLen", 1, kMaxSnapLen, &snapLen) ||
      !ArgBool(info, 3, fn, "optimize", &optimize))
    return env.Undefined();

  pcap_t* p = pcap_open_dead(LinktypeToDlt(static_cast<int>(linkType)), static_cast<int>(snapLen));
  if (p == nullptr) {
    Napi::Error::New(env, "compileBpf: pcap_open_dead failed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return CompileAndClose(env, p, expr, optimize, linkType);
}

// compileBpfLive(expression, ifname, snapLen): Buffer
// Compiles for a live AF_PACKET socket on ifname, the way tcpdump -i does:
// libpcap opens (activates) the interface so its code generator knows the
// kernel keeps VLAN tags in packet metadata and emits the ancillary loads
// (SKF_AD_VLAN_TAG_PRESENT) for "vlan". The handle is closed again at once.
Napi::Value CompileBpfLive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "compileBpfLive";
  if (MissingArgs(info, 3, fn)) return env.Undefined();
  std::string expr, ifname;
  int64_t snapLen;
  if (!ArgString(info, 0, fn, "expression", &expr) || !ArgString(info, 1, fn, "ifname", &ifname) ||
      !ArgInt(info, 2, fn, "snapLen", 1, kMaxSnapLen, &snapLen))
    return env.Undefined();
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  pcap_t* p = pcap_create(ifname.c_str(), errbuf);
  if (p == nullptr) {
    Napi::Error::New(env, std::string(fn) + ": " + errbuf).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  pcap_set_snaplen(p, static_cast<int>(snapLen));
  pcap_set_buffer_size(p, 64 * 1024);  // the smallest useful ring: nothing is read from it
  pcap_set_timeout(p, 1);
  int act = pcap_activate(p);
  if (act < 0) {
    std::string why = act == PCAP_ERROR ? pcap_geterr(p) : pcap_statustostr(act);
    pcap_close(p);
    Napi::Error::New(env, std::string(fn) + ": cannot open " + ifname + ": " + why).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return CompileAndClose(env, p, expr, true, std::nullopt);
}

// validateBpf(program): boolean. Throws only for a non-Uint8Array.
Napi::Value ValidateBpf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "validateBpf";
  if (MissingArgs(info, 1, fn)) return env.Undefined();
  uint8_t* data;
  size_t len;
  if (!ArgBytes(info, 0, fn, "program", &data, &len)) return env.Undefined();
  if (len == 0 || len % sizeof(bpf_insn) != 0 || len / sizeof(bpf_insn) > kMaxInsns)
    return Napi::Boolean::New(env, false);
  const bpf_insn* insns;
  int n;
  if (!ArgProgram(info, 0, fn, false, &insns, &n)) return env.Undefined();
  return Napi::Boolean::New(env, bpf_validate(insns, n) != 0);
}

// bpfFilterBatch(program, buf, offsets, caplens, wirelens, count, out): number
//
// Every frame descriptor is checked before any frame is filtered, so a bad
// call throws without touching `out`.
Napi::Value BpfFilterBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "bpfFilterBatch";
  if (MissingArgs(info, 7, fn)) return env.Undefined();
  const bpf_insn* insns;
  int ninsns;
  uint8_t* buf;
  size_t buflen;
  int32_t *offsets, *caplens, *wirelens;
  size_t noff, ncap, nwire;
  int64_t count;
  uint8_t* out;
  size_t nout;
  if (!ArgProgram(info, 0, fn, true, &insns, &ninsns) ||
      !ArgBytes(info, 1, fn, "buf", &buf, &buflen) ||
      !ArgInt32Array(info, 2, fn, "offsets", &offsets, &noff) ||
      !ArgInt32Array(info, 3, fn, "caplens", &caplens, &ncap) ||
      !ArgInt32Array(info, 4, fn, "wirelens", &wirelens, &nwire) ||
      !ArgInt(info, 5, fn, "count", 0, INT32_MAX, &count) ||
      !ArgBytes(info, 6, fn, "out", &out, &nout))
    return env.Undefined();
  const size_t n = static_cast<size_t>(count);
  if (n > noff || n > ncap || n > nwire || n > nout) {
    ThrowRange(env, std::string(fn) + ": count " + std::to_string(n) +
                        " exceeds an array (offsets " + std::to_string(noff) + ", caplens " +
                        std::to_string(ncap) + ", wirelens " + std::to_string(nwire) + ", out " +
                        std::to_string(nout) + ")");
    return env.Undefined();
  }
  for (size_t i = 0; i < n; i++) {
    const int64_t off = offsets[i], cap = caplens[i], wire = wirelens[i];
    if (off < 0 || cap < 0 || off + cap > static_cast<int64_t>(buflen)) {
      ThrowRange(env, std::string(fn) + ": frame " + std::to_string(i) + " [offset " +
                          std::to_string(off) + ", caplen " + std::to_string(cap) +
                          "] is outside buf (length " + std::to_string(buflen) + ")");
      return env.Undefined();
    }
    if (wire < cap) {
      ThrowRange(env, std::string(fn) + ": frame " + std::to_string(i) + " wirelen " +
                          std::to_string(wire) + " < caplen " + std::to_string(cap));
      return env.Undefined();
    }
  }
  uint32_t matches = 0;
  for (size_t i = 0; i < n; i++) {
    // Same call as pcap_offline_filter(): wirelen = original length, buflen = caplen.
    const u_int r = bpf_filter(insns, buf + offsets[i], static_cast<u_int>(wirelens[i]),
                               static_cast<u_int>(caplens[i]));
    out[i] = r != 0;
    matches += r != 0;
  }
  return Napi::Number::New(env, matches);
}

// bpfToText(program): string, the lines `tcpdump -d` prints.
Napi::Value BpfToText(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "bpfToText";
  if (MissingArgs(info, 1, fn)) return env.Undefined();
  const bpf_insn* insns;
  int n;
  // Not validated: bpf_image only formats, and an invalid program is exactly
  // what one wants to look at.
  if (!ArgProgram(info, 0, fn, false, &insns, &n)) return env.Undefined();
  std::string text;
  std::lock_guard<std::mutex> lock(g_pcap_mutex);
  for (int i = 0; i < n; i++) {
    text += bpf_image(&insns[i], i);
    text += '\n';
  }
  return Napi::String::New(env, text);
}

}  // namespace

void InitBpf(Napi::Env env, Napi::Object exports) {
  exports.Set("compileBpf", Napi::Function::New(env, CompileBpf, "compileBpf"));
  exports.Set("compileBpfLive", Napi::Function::New(env, CompileBpfLive, "compileBpfLive"));
  exports.Set("validateBpf", Napi::Function::New(env, ValidateBpf, "validateBpf"));
  exports.Set("bpfFilterBatch", Napi::Function::New(env, BpfFilterBatch, "bpfFilterBatch"));
  exports.Set("bpfToText", Napi::Function::New(env, BpfToText, "bpfToText"));
}

}  // namespace nm
