// AF_XDP capture through libxdp: one XSK socket on one queue of an
// interface, its frames in a UMEM this addon allocates.
//
// openXsk maps a page-aligned UMEM of frameCount x frameSize bytes, registers
// it, creates the socket bound to (ifname, queue) with libxdp's default
// redirect program (xsk_def_prog) attached to the interface, and puts every
// frame in the fill ring. JavaScript gets the whole UMEM once, as an external
// Buffer. xskReceive peeks rx descriptors and writes each frame's offset in
// the UMEM and its length into Int32Arrays; the frames stay held (their rx
// descriptors unreleased, so the kernel cannot reuse them) until xskRelease
// gives every held frame back to the fill ring in one batch. Nothing is
// copied per frame. closeXsk deletes the socket; libxdp detaches its program
// when the last socket using it goes, and the UMEM view is detached.
//
// Stale programs. libxdp keeps a reference count inside its program; a
// process killed with an XSK open never decrements it, so libxdp 1.3 reuses
// that program at the next open and never detaches it again. openXsk
// therefore looks at the interface first: a program that is libxdp's XSK
// program (by name, alone or as the only program of a libxdp dispatcher)
// whose socket map holds no socket for any queue is stale, and is detached
// (atomically, only if it is still the attached one) before libxdp attaches a
// fresh one. A live one (another process capturing another queue) is shared,
// as libxdp intends. Any other program is never touched: openXsk throws EBUSY
// naming it.
//
// Whether a socket map holds sockets: user space cannot read an XSKMAP (the
// kernel refuses lookups from the bpf syscall), so a 12-instruction XDP
// program redirecting into that map, with the key taken from its packet, is
// run with BPF_PROG_TEST_RUN once per queue: XDP_REDIRECT means a socket is
// there, XDP_PASS (the miss action) that none is. The kernel removes a socket
// from every map when it closes, so a crashed owner leaves the map empty.
#include "xdp.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "args.h"
#include "fd-watch.h"
#include "handles.h"

namespace nm {
namespace {

constexpr const char* kXskProgName = "xsk_def_prog";
// Retrying a bind that finds the queue busy: a socket closed moments ago
// releases its queue from a kernel work queue (measured here: 10-30 ms).
constexpr auto kBusyRetryFor = std::chrono::milliseconds(2000);
constexpr auto kBusyRetryStep = std::chrono::milliseconds(10);
constexpr uint32_t kCompRingSize = 64;  // no TX: the completion ring stays empty
constexpr uint32_t kMaxQueuesProbed = 4096;

// libxdp and libbpf report details through print callbacks (process-wide).
// Warnings are collected per thread while openXsk runs and appended to its
// error message; nothing is printed.
thread_local std::string t_warnings;

void Collect(const char* fmt, va_list args) {
  char line[512];
  vsnprintf(line, sizeof line, fmt, args);
  std::string s(line);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  // libbpf warns about every ELF section it does not know in libxdp's objects.
  if (s.empty() || s.find("skipping unrecognized data section") != std::string::npos) return;
  if (t_warnings.size() > 2000) return;
  if (!t_warnings.empty()) t_warnings += "; ";
  t_warnings += s;
}

int XdpPrint(enum libxdp_print_level level, const char* fmt, va_list args) {
  if (level == LIBXDP_WARN) Collect(fmt, args);
  return 0;
}

int BpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_WARN) Collect(fmt, args);
  return 0;
}

struct Xsk {
  int fd = -1;
  napi_env env = nullptr;
  FdWatch watch;  // pollXsk
  uint8_t* area = nullptr;
  size_t areaLen = 0;
  uint32_t frameSize = 0;
  xsk_umem* umem = nullptr;
  xsk_socket* socket = nullptr;
  // libxdp keeps pointers to these: an Xsk never moves (held by unique_ptr).
  xsk_ring_prod fill{};
  xsk_ring_cons comp{};
  xsk_ring_cons rx{};
  uint32_t held = 0;                        // rx descriptors peeked, not yet released
  std::vector<uint64_t> pending;            // released frames the fill ring had no room for (rare)
  Napi::Reference<Napi::ArrayBuffer> view;  // the UMEM, detached at close
};

HandleTable<Xsk> g_xsks("XSK socket");

// An Error with Node-style code/errno/syscall and the collected libxdp warnings.
void ThrowCoded(Napi::Env env, const std::string& msg, int err, const char* syscall) {
  std::string full = "openXsk: " + msg + " (" + ErrnoCode(err) + ": " + strerror(err) + ")";
  if (!t_warnings.empty()) full += " [libxdp: " + t_warnings + "]";
  ThrowSystemError(env, full, err, syscall);
}

// ---- stale program detection ------------------------------------------------

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

// The fd of program progFd's "xsks_map" (an XSKMAP) and its size, or -1.
int XsksMapOf(int progFd, uint32_t* maxEntries) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(progFd, &info, &len) != 0) return -1;
  const uint32_t n = info.nr_map_ids;
  if (n == 0 || n > 64) return -1;
  std::vector<uint32_t> ids(n);
  info = bpf_prog_info{};
  info.nr_map_ids = n;
  info.map_ids = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(ids.data()));
  len = sizeof info;
  if (bpf_obj_get_info_by_fd(progFd, &info, &len) != 0) return -1;
  for (uint32_t i = 0; i < n && i < info.nr_map_ids; i++) {
    int fd = bpf_map_get_fd_by_id(ids[i]);
    if (fd < 0) continue;
    bpf_map_info m{};
    uint32_t mlen = sizeof m;
    if (bpf_obj_get_info_by_fd(fd, &m, &mlen) == 0 && m.type == BPF_MAP_TYPE_XSKMAP &&
        std::strncmp(m.name, "xsks_map", sizeof m.name) == 0) {
      *maxEntries = m.max_entries;
      return fd;
    }
    close(fd);
  }
  return -1;
}

enum class MapUse { Idle, Live, Unknown };

// Whether any entry of the XSKMAP mapFd holds a socket (see the top comment).
MapUse XskMapUse(int mapFd, uint32_t maxEntries) {
  if (maxEntries == 0 || maxEntries > kMaxQueuesProbed) return MapUse::Unknown;
  const bpf_insn insns[] = {
      Insn(BPF_LDX | BPF_W | BPF_MEM, 2, 1, 0, 0),          // r2 = ctx->data
      Insn(BPF_LDX | BPF_W | BPF_MEM, 3, 1, 4, 0),          // r3 = ctx->data_end
      Insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS),  // r0 = XDP_PASS
      Insn(BPF_ALU64 | BPF_MOV | BPF_X, 4, 2, 0, 0),         // r4 = r2
      Insn(BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, 4),         // r4 += 4
      Insn(BPF_JMP | BPF_JGT | BPF_X, 4, 3, 5, 0),           // if r4 > r3 goto exit
      Insn(BPF_LDX | BPF_W | BPF_MEM, 2, 2, 0, 0),           // r2 = *(u32 *)data: the queue
      Insn(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, mapFd),  // r1 = the map
      Insn(0, 0, 0, 0, 0),
      Insn(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, XDP_PASS),  // r3 = action on a miss
      Insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map),
      Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  int prog = bpf_prog_load(BPF_PROG_TYPE_XDP, "nm_xsk_probe", "GPL", insns, sizeof insns / sizeof insns[0],
                           nullptr);
  if (prog < 0) return MapUse::Unknown;
  MapUse use = MapUse::Idle;
  uint8_t packet[64] = {};  // the kernel wants at least an Ethernet header
  for (uint32_t q = 0; q < maxEntries && use == MapUse::Idle; q++) {
    std::memcpy(packet, &q, sizeof q);
    bpf_test_run_opts opts{};
    opts.sz = sizeof opts;
    opts.data_in = packet;
    opts.data_size_in = sizeof packet;
    if (bpf_prog_test_run_opts(prog, &opts) != 0) use = MapUse::Unknown;
    else if (opts.retval == XDP_REDIRECT) use = MapUse::Live;
    else if (opts.retval != XDP_PASS) use = MapUse::Unknown;
  }
  close(prog);
  return use;
}

const char* ModeName(enum xdp_attach_mode m) {
  switch (m) {
    case XDP_MODE_SKB: return "skb";
    case XDP_MODE_NATIVE: return "drv";
    case XDP_MODE_HW: return "hw";
    default: return "unknown";
  }
}

// Looks at the program attached to ifindex. A stale libxdp XSK program is
// detached (*removed = its id); a live one is left for libxdp to share; a
// program that is not libxdp's throws EBUSY. False after throwing.
bool ClearStaleXskProgram(Napi::Env env, unsigned ifindex, const std::string& ifname, uint32_t* removed) {
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(static_cast<int>(ifindex));
  if (libxdp_get_error(mp) != 0 || mp == nullptr) return true;  // nothing attached (ENOENT)
  std::unique_ptr<xdp_multiprog, void (*)(xdp_multiprog*)> guard(mp, xdp_multiprog__close);
  xdp_program* xsk = nullptr;
  if (xdp_multiprog__is_legacy(mp)) {
    xdp_program* main = xdp_multiprog__main_prog(mp);
    if (main == nullptr) return true;
    if (std::strcmp(xdp_program__name(main), kXskProgName) != 0) {
      const enum xdp_attach_mode m = xdp_multiprog__attach_mode(mp);
      const char* keyword = m == XDP_MODE_SKB ? "xdpgeneric" : m == XDP_MODE_HW ? "xdpoffload" : "xdpdrv";
      ThrowCoded(env,
                 ifname + " already has XDP program \"" + xdp_program__name(main) + "\" (id " +
                     std::to_string(xdp_program__id(main)) + ", " + ModeName(m) +
                     " mode) attached, which is not libxdp's AF_XDP program, so it is left alone; remove it "
                     "with `ip link set dev " + ifname + " " + keyword + " off`, or capture with afpacket:" + ifname,
                 EBUSY, "xsk_socket__create");
      return false;
    }
    xsk = main;
  } else {
    // A libxdp dispatcher: libxdp adds its XSK program beside the others, so
    // only a dispatcher holding nothing but an XSK program is a candidate.
    xdp_program* first = xdp_multiprog__next_prog(nullptr, mp);
    if (xdp_multiprog__program_count(mp) == 1 && first != nullptr &&
        std::strcmp(xdp_program__name(first), kXskProgName) == 0)
      xsk = first;
  }
  if (xsk == nullptr) return true;
  uint32_t maxEntries = 0;
  int mapFd = XsksMapOf(xdp_program__fd(xsk), &maxEntries);
  if (mapFd < 0) return true;  // cannot tell: leave it
  MapUse use = XskMapUse(mapFd, maxEntries);
  close(mapFd);
  if (use != MapUse::Idle) return true;
  const uint32_t id = xdp_program__id(xsk);
  int rc = xdp_multiprog__detach(mp);  // replaces exactly this program (XDP_FLAGS_REPLACE)
  if (rc != 0) {
    ThrowCoded(env,
               "could not detach the stale libxdp XSK program (id " + std::to_string(id) + ") from " + ifname,
               -rc, "bpf_xdp_detach");
    return false;
  }
  *removed = id;
  return true;
}

// ---- handles -------------------------------------------------------------------

// Deletes the socket (libxdp detaches its program with the last socket), the
// UMEM registration (closing the fd) and the memory.
void Destroy(Xsk* x, bool detach) {
  if (detach) DetachView(x->view);
  else x->view.Reset();
  x->watch.Close();
  if (x->socket) xsk_socket__delete(x->socket);
  if (x->umem) xsk_umem__delete(x->umem);
  if (x->area) munmap(x->area, x->areaLen);
  x->socket = nullptr;
  x->umem = nullptr;
  x->area = nullptr;
}

void CloseEnvXsks(void* arg) {
  g_xsks.CloseEnv(static_cast<napi_env>(arg), [](Xsk* x) { Destroy(x, false); });
}

// The fill ring normally has room for every released frame: at most
// frameCount entries are in it, and at most about frameCount more were taken
// by the kernel without it having published its consumer index yet (it does
// so lazily), so a ring of 2 x frameCount suffices. Should the kernel lag
// further, frames wait here and go back at the next release or receive.
void FlushPending(Xsk* x) {
  const uint32_t want = static_cast<uint32_t>(x->pending.size());
  if (want == 0) return;
  uint32_t k = xsk_prod_nb_free(&x->fill, want);
  if (k > want) k = want;
  uint32_t idx = 0;
  if (k == 0 || xsk_ring_prod__reserve(&x->fill, k, &idx) != k) return;
  for (uint32_t i = 0; i < k; i++) *xsk_ring_prod__fill_addr(&x->fill, idx + i) = x->pending[i];
  xsk_ring_prod__submit(&x->fill, k);
  x->pending.erase(x->pending.begin(), x->pending.begin() + k);
}

// ---- exported functions ----------------------------------------------------------

// openXsk(ifname, queue, frameCount, frameSize, mode (0 skb, 1 drv), zeroCopy):
// { handle, umem: Buffer, staleProgramId }
Napi::Value OpenXsk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "openXsk";
  if (MissingArgs(info, 6, fn)) return env.Undefined();
  std::string ifname;
  int64_t queue, frameCount, frameSize, mode;
  bool zeroCopy;
  if (!ArgString(info, 0, fn, "ifname", &ifname) || !ArgInt(info, 1, fn, "queue", 0, 65535, &queue) ||
      !ArgInt(info, 2, fn, "frameCount", 64, 1 << 18, &frameCount) ||
      !ArgInt(info, 3, fn, "frameSize", 2048, 4096, &frameSize) || !ArgInt(info, 4, fn, "mode", 0, 1, &mode) ||
      !ArgBool(info, 5, fn, "zeroCopy", &zeroCopy))
    return env.Undefined();
  const long page = sysconf(_SC_PAGESIZE);
  if ((frameCount & (frameCount - 1)) != 0 || (frameSize != 2048 && frameSize != 4096) || frameSize > page) {
    ThrowRange(env, std::string(fn) +
                        ": frameCount must be a power of two (64..262144) and frameSize 2048 or 4096 (the "
                        "kernel's aligned UMEM chunks are a power of two from 2048 to the page size, " +
                        std::to_string(page) + "); got frameCount " + std::to_string(frameCount) +
                        ", frameSize " + std::to_string(frameSize));
    return env.Undefined();
  }
  const unsigned ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) {
    ThrowErrno(env, fn, "if_nametoindex", errno);
    return env.Undefined();
  }
  t_warnings.clear();
  libxdp_set_print(XdpPrint);
  libbpf_set_print(BpfPrint);

  auto x = std::make_unique<Xsk>();
  x->env = env;
  x->frameSize = static_cast<uint32_t>(frameSize);
  x->areaLen = static_cast<size_t>(frameCount) * static_cast<size_t>(frameSize);
  void* area = mmap(nullptr, x->areaLen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) {
    ThrowErrno(env, fn, "mmap", errno);
    return env.Undefined();
  }
  x->area = static_cast<uint8_t*>(area);
  // A child forked while the socket is open (child_process) gets no copy of
  // the pinned frames.
  madvise(area, x->areaLen, MADV_DONTFORK);

  xsk_umem_config uc{};
  // Twice the frames: see FlushPending.
  uc.fill_size = static_cast<uint32_t>(frameCount) * 2;
  uc.comp_size = kCompRingSize;
  uc.frame_size = static_cast<uint32_t>(frameSize);
  uc.frame_headroom = 0;
  uc.flags = 0;
  int rc = xsk_umem__create(&x->umem, area, x->areaLen, &x->fill, &x->comp, &uc);
  if (rc != 0) {
    x->umem = nullptr;
    Destroy(x.get(), false);
    ThrowCoded(env,
               "registering a UMEM of " + std::to_string(x->areaLen) + " bytes failed" +
                   (rc == -ENOBUFS || rc == -EPERM || rc == -ENOMEM
                        ? " (the pinned UMEM counts against RLIMIT_MEMLOCK without CAP_IPC_LOCK)"
                        : ""),
               -rc, "setsockopt");
    return env.Undefined();
  }

  xsk_socket_config sc{};
  sc.rx_size = static_cast<uint32_t>(frameCount);
  sc.tx_size = 0;
  sc.libxdp_flags = 0;  // libxdp loads and attaches its default XSK program
  sc.xdp_flags = mode == 1 ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  sc.bind_flags = zeroCopy ? XDP_ZEROCOPY : XDP_COPY;
  uint32_t staleId = 0;
  const auto deadline = std::chrono::steady_clock::now() + kBusyRetryFor;
  for (;;) {
    uint32_t removed = 0;
    if (!ClearStaleXskProgram(env, ifindex, ifname, &removed)) {
      Destroy(x.get(), false);
      return env.Undefined();
    }
    if (removed) staleId = removed;
    t_warnings.clear();
    rc = xsk_socket__create(&x->socket, ifname.c_str(), static_cast<uint32_t>(queue), x->umem, &x->rx, nullptr, &sc);
    if (rc != -EBUSY || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kBusyRetryStep);
  }
  if (rc != 0) {
    x->socket = nullptr;
    const int err = -rc;
    const std::string where = ifname + " queue " + std::to_string(queue);
    std::string msg;
    if (err == EOPNOTSUPP && zeroCopy)
      msg = "zero-copy was refused on " + where +
            ": its driver has no AF_XDP zero-copy support (open it in copy mode)";
    else if (err == EOPNOTSUPP && mode == 1)
      msg = "native XDP (drv mode) was refused on " + where + ": its driver has no XDP support (use skb mode)";
    else if (err == ERANGE && mode == 1)
      msg = "native XDP (drv mode) was refused on " + where +
            ": the MTU is too large for the driver's XDP (on veth the peer's MTU must be <= 3506); use skb mode";
    else if (err == EBUSY)
      msg = where + " is busy: another AF_XDP socket is bound to it (or one closed moments ago is still "
                    "being released), or another XDP program is attached";
    else if (err == EINVAL)
      msg = "the kernel refused " + where + " (no such queue, or the ring sizes)";
    else if (err == EPERM || err == EACCES)
      msg = "opening an AF_XDP socket on " + where + " needs CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF (root)";
    else
      msg = "xsk_socket__create failed on " + where;
    Destroy(x.get(), false);
    ThrowCoded(env, msg, err, "xsk_socket__create");
    return env.Undefined();
  }
  t_warnings.clear();

  // Every frame goes to the fill ring: the kernel owns them all until one is received.
  uint32_t idx = 0;
  if (xsk_ring_prod__reserve(&x->fill, static_cast<uint32_t>(frameCount), &idx) !=
      static_cast<uint32_t>(frameCount)) {
    Destroy(x.get(), false);
    ThrowCoded(env, "the fill ring has no room for every frame", ENOSPC, "xsk_ring_prod__reserve");
    return env.Undefined();
  }
  for (uint32_t i = 0; i < static_cast<uint32_t>(frameCount); i++)
    *xsk_ring_prod__fill_addr(&x->fill, idx + i) = static_cast<uint64_t>(i) * x->frameSize;
  xsk_ring_prod__submit(&x->fill, static_cast<uint32_t>(frameCount));

  x->fd = xsk_socket__fd(x->socket);
  Napi::Buffer<uint8_t> umem = Napi::Buffer<uint8_t>::New(env, x->area, x->areaLen, [](Napi::Env, uint8_t*) {});
  if (env.IsExceptionPending()) {
    Destroy(x.get(), false);
    return env.Undefined();
  }
  x->view = Napi::Reference<Napi::ArrayBuffer>::New(umem.ArrayBuffer(), 1);
  const int fd = x->fd;
  g_xsks.Add(fd, std::move(x));
  Napi::Object out = Napi::Object::New(env);
  out.Set("handle", Napi::Number::New(env, fd));
  out.Set("umem", umem);
  out.Set("staleProgramId", Napi::Number::New(env, staleId));
  return out;
}

// xskReceive(handle, addrs: Int32Array, lens: Int32Array, max, stamp?: Float64Array):
// n. Peeks up to max rx descriptors; frame i is umem[addrs[i], addrs[i] + lens[i]).
// The frames stay held until xskRelease. When n > 0 and stamp is given,
// stamp[0..1] = CLOCK_REALTIME seconds and nanoseconds, read after the peek.
Napi::Value XskReceive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "xskReceive";
  if (MissingArgs(info, 4, fn)) return env.Undefined();
  Xsk* x = g_xsks.Arg(info, 0, fn);
  int32_t* addrs;
  int32_t* lens;
  size_t addrsLen, lensLen;
  int64_t max;
  if (!x || !ArgInt32Array(info, 1, fn, "addrs", &addrs, &addrsLen) ||
      !ArgInt32Array(info, 2, fn, "lens", &lens, &lensLen) || !ArgInt(info, 3, fn, "max", 0, 1 << 20, &max))
    return env.Undefined();
  if (static_cast<size_t>(max) > addrsLen || static_cast<size_t>(max) > lensLen) {
    ThrowRange(env, std::string(fn) + ": max = " + std::to_string(max) + " is beyond addrs (" +
                        std::to_string(addrsLen) + ") or lens (" + std::to_string(lensLen) + ")");
    return env.Undefined();
  }
  double* stamp = nullptr;
  if (info.Length() > 4 && !info[4].IsUndefined()) {
    Napi::Value v = info[4];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        v.As<Napi::Float64Array>().ElementLength() < 2) {
      ThrowType(env, std::string(fn) + ": stamp must be a Float64Array of at least 2 elements");
      return env.Undefined();
    }
    stamp = v.As<Napi::Float64Array>().Data();
  }
  FlushPending(x);
  uint32_t idx = 0;
  const uint32_t n = xsk_ring_cons__peek(&x->rx, static_cast<uint32_t>(max), &idx);
  for (uint32_t i = 0; i < n; i++) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&x->rx, idx + i);
    const uint64_t addr = xsk_umem__add_offset_to_addr(d->addr);
    uint32_t len = d->len;
    // Never hand out a range outside the UMEM (the kernel does not produce one).
    if (addr >= x->areaLen || len > x->areaLen - addr) {
      addrs[i] = 0;
      lens[i] = 0;
      continue;
    }
    addrs[i] = static_cast<int32_t>(addr);
    lens[i] = static_cast<int32_t>(len);
  }
  x->held += n;
  if (n > 0 && stamp) {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    stamp[0] = static_cast<double>(ts.tv_sec);
    stamp[1] = static_cast<double>(ts.tv_nsec);
  }
  return Napi::Number::New(env, n);
}

// xskRelease(handle): n. Gives every held frame back to the fill ring (one
// submit) and releases their rx descriptors.
Napi::Value XskRelease(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "xskRelease";
  if (MissingArgs(info, 1, fn)) return env.Undefined();
  Xsk* x = g_xsks.Arg(info, 0, fn);
  if (!x) return env.Undefined();
  const uint32_t n = x->held;
  if (n == 0 && x->pending.empty()) return Napi::Number::New(env, 0);
  const uint32_t first = x->rx.cached_cons - n;
  const uint64_t mask = ~static_cast<uint64_t>(x->frameSize - 1);
  uint32_t fillIdx = 0;
  if (x->pending.empty() && xsk_ring_prod__reserve(&x->fill, n, &fillIdx) == n) {
    for (uint32_t i = 0; i < n; i++) {
      const xdp_desc* d = xsk_ring_cons__rx_desc(&x->rx, first + i);
      *xsk_ring_prod__fill_addr(&x->fill, fillIdx + i) = xsk_umem__extract_addr(d->addr) & mask;
    }
    xsk_ring_prod__submit(&x->fill, n);
  } else {
    for (uint32_t i = 0; i < n; i++)
      x->pending.push_back(xsk_umem__extract_addr(xsk_ring_cons__rx_desc(&x->rx, first + i)->addr) & mask);
    FlushPending(x);
  }
  xsk_ring_cons__release(&x->rx, n);
  x->held = 0;
  return Napi::Number::New(env, n);
}

// xskBacklog(handle): UMEM frames the kernel cannot fill now: received and
// not yet taken off the rx ring, held by JavaScript, or waiting for room in
// the fill ring. Over the frame count, how full the socket's buffer is.
Napi::Value XskBacklog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "xskBacklog";
  if (MissingArgs(info, 1, fn)) return env.Undefined();
  Xsk* x = g_xsks.Arg(info, 0, fn);
  if (!x) return env.Undefined();
  const uint32_t frames = static_cast<uint32_t>(x->areaLen / x->frameSize);
  const uint32_t waiting = xsk_cons_nb_avail(&x->rx, frames);
  return Napi::Number::New(env, static_cast<double>(waiting) + x->held + x->pending.size());
}

// xskStats(handle): XDP_STATISTICS, totals since open (the kernel never resets them).
Napi::Value XskStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "xskStats";
  if (MissingArgs(info, 1, fn)) return env.Undefined();
  Xsk* x = g_xsks.Arg(info, 0, fn);
  if (!x) return env.Undefined();
  xdp_statistics st{};
  socklen_t len = sizeof st;
  if (getsockopt(x->fd, SOL_XDP, XDP_STATISTICS, &st, &len) != 0) {
    ThrowErrno(env, fn, "getsockopt", errno);
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("rxDropped", Napi::Number::New(env, static_cast<double>(st.rx_dropped)));
  out.Set("rxInvalid", Napi::Number::New(env, static_cast<double>(st.rx_invalid_descs)));
  out.Set("rxRingFull", Napi::Number::New(env, static_cast<double>(st.rx_ring_full)));
  out.Set("fillRingEmpty", Napi::Number::New(env, static_cast<double>(st.rx_fill_ring_empty_descs)));
  return out;
}

// pollXsk(handle, callback): calls callback() once, from the event loop, when
// the rx ring has descriptors (or the socket has an error). Re-arming while
// armed replaces the callback.
Napi::Value PollXsk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "pollXsk";
  if (MissingArgs(info, 2, fn)) return env.Undefined();
  Xsk* x = g_xsks.Arg(info, 0, fn);
  if (x) x->watch.Arm(env, fn, x->fd, info[1]);
  return env.Undefined();
}

// closeXsk(handle): detaches the UMEM view, deletes the socket (libxdp
// detaches its program when no other socket uses it) and frees the UMEM.
Napi::Value CloseXsk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "closeXsk";
  if (MissingArgs(info, 1, fn)) return env.Undefined();
  Xsk* x = g_xsks.Arg(info, 0, fn);
  if (!x) return env.Undefined();
  Destroy(g_xsks.Take(x->fd).get(), true);
  return env.Undefined();
}

}  // namespace

void InitXdp(Napi::Env env, Napi::Object exports) {
  napi_add_env_cleanup_hook(env, CloseEnvXsks, static_cast<napi_env>(env));
  exports.Set("openXsk", Napi::Function::New(env, OpenXsk, "openXsk"));
  exports.Set("xskReceive", Napi::Function::New(env, XskReceive, "xskReceive"));
  exports.Set("xskRelease", Napi::Function::New(env, XskRelease, "xskRelease"));
  exports.Set("xskStats", Napi::Function::New(env, XskStats, "xskStats"));
  exports.Set("xskBacklog", Napi::Function::New(env, XskBacklog, "xskBacklog"));
  exports.Set("pollXsk", Napi::Function::New(env, PollXsk, "pollXsk"));
  exports.Set("closeXsk", Napi::Function::New(env, CloseXsk, "closeXsk"));
  exports.Set("XDP_PACKET_HEADROOM", Napi::Number::New(env, XDP_PACKET_HEADROOM));
}

}  // namespace nm
