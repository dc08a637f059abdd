// AF_PACKET capture with a TPACKET_V3 memory-mapped receive ring.
//
// The kernel fills fixed-size blocks of variable-size frames and retires a
// block when it is full or when the retire timeout passes. nextBlock hands the
// next retired block to JavaScript as a Buffer *view* over the ring (no copy
// per packet or per block); TypeScript walks its tpacket3_hdr records
// (src/afpacket.ts). releaseBlock gives the block back to the kernel and
// detaches the view, so a stale Buffer reads as empty instead of reading
// memory the kernel is writing again.
//
// One block is held at a time per ring, in ring order. nextBlock with a
// timeout blocks the calling thread for at most that long; with 0 it only
// looks. An event loop instead calls pollRing, which calls back once the ring
// has a block for user space (libuv watches the socket), and then nextBlock(0).
#include "afpacket.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "args.h"
#include "fd-watch.h"
#include "handles.h"
#include "sockets.h"

namespace nm {
namespace {

constexpr unsigned kReserve = 4;

struct Ring {
  int fd;
  FdWatch watch;  // pollRing
  napi_env env;
  uint8_t* map;
  size_t mapLen;
  uint32_t blockSize;
  uint32_t blockCount;
  uint32_t current = 0;  // next block to hand out (ring order)
  bool held = false;     // `current` is handed out and not yet released
  Napi::Reference<Napi::ArrayBuffer> view;  // the held block's view, detached on release
};

// Rings this addon opened, keyed by their fd (the handle JavaScript holds).
HandleTable<Ring> g_rings("packet ring");

tpacket_block_desc* Block(Ring* r, uint32_t i) {
  return reinterpret_cast<tpacket_block_desc*>(r->map + static_cast<size_t>(i) * r->blockSize);
}

void Destroy(Ring* r, bool detach) {
  if (detach) DetachView(r->view);
  else r->view.Reset();
  r->watch.Close();
  munmap(r->map, r->mapLen);
  close(r->fd);
}

void CloseEnvRings(void* arg) {
  g_rings.CloseEnv(static_cast<napi_env>(arg), [](Ring* r) { Destroy(r, false); });
}

// openPacketRing(ifname, blockSize, blockCount, frameSize, timeoutMs,
//                fanoutGroup, fanoutMode, promiscuous): handle
// fanoutGroup -1: no fanout. Every frame gets kReserve bytes of headroom
// after the sockaddr_ll, room to put back the VLAN tag the kernel took out.
Napi::Value OpenPacketRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "openPacketRing";
  if (MissingArgs(info, 8, fn)) return env.Undefined();
  std::string ifname;
  int64_t blockSize, blockCount, frameSize, timeoutMs, group, mode;
  bool promiscuous;
  const long page = sysconf(_SC_PAGESIZE);
  if (!ArgString(info, 0, fn, "ifname", &ifname) ||
      !ArgInt(info, 1, fn, "blockSize", page, 1 << 30, &blockSize) ||
      !ArgInt(info, 2, fn, "blockCount", 1, 1 << 20, &blockCount) ||
      !ArgInt(info, 3, fn, "frameSize", TPACKET_ALIGNMENT, 1 << 30, &frameSize) ||
      !ArgInt(info, 4, fn, "timeoutMs", 1, 60000, &timeoutMs) ||
      !ArgInt(info, 5, fn, "fanoutGroup", -1, 0xffff, &group) ||
      !ArgInt(info, 6, fn, "fanoutMode", 0, 0xffff, &mode) || !ArgBool(info, 7, fn, "promiscuous", &promiscuous))
    return env.Undefined();
  if (blockSize % page != 0 || frameSize % TPACKET_ALIGNMENT != 0 || blockSize % frameSize != 0 ||
      blockSize * blockCount > (int64_t{1} << 34)) {
    ThrowRange(env, std::string(fn) + ": blockSize must be a multiple of the page size (" + std::to_string(page) +
                        ") and of frameSize, frameSize a multiple of " + std::to_string(TPACKET_ALIGNMENT) +
                        ", and the ring at most 16 GiB; got blockSize " + std::to_string(blockSize) +
                        ", blockCount " + std::to_string(blockCount) + ", frameSize " + std::to_string(frameSize));
    return env.Undefined();
  }
  const unsigned ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) {
    ThrowErrno(env, fn, "if_nametoindex", errno);
    return env.Undefined();
  }

  // Protocol 0: nothing is queued until bind() names ETH_P_ALL and the
  // interface, so no other interface's packets reach the ring first.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowErrno(env, fn, "socket", errno);
    return env.Undefined();
  }
  auto fail = [&](const char* call) {
    int err = errno;
    close(fd);
    ThrowErrno(env, fn, call, err);
    return env.Undefined();
  };
  int version = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0) return fail("setsockopt");
  const unsigned reserve = kReserve;
  if (setsockopt(fd, SOL_PACKET, PACKET_RESERVE, &reserve, sizeof reserve) != 0) return fail("setsockopt");
  tpacket_req3 req{};
  req.tp_block_size = static_cast<unsigned>(blockSize);
  req.tp_block_nr = static_cast<unsigned>(blockCount);
  req.tp_frame_size = static_cast<unsigned>(frameSize);
  req.tp_frame_nr = static_cast<unsigned>(blockSize / frameSize * blockCount);
  req.tp_retire_blk_tov = static_cast<unsigned>(timeoutMs);
  req.tp_sizeof_priv = 0;
  req.tp_feature_req_word = 0;
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0) return fail("setsockopt");
  const size_t mapLen = static_cast<size_t>(blockSize) * static_cast<size_t>(blockCount);
  void* map = mmap(nullptr, mapLen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0);
  if (map == MAP_FAILED) map = mmap(nullptr, mapLen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return fail("mmap");
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = static_cast<int>(ifindex);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
    munmap(map, mapLen);
    return fail("bind");
  }
  if (promiscuous) {
    // Per socket: the kernel drops the membership when the socket closes.
    packet_mreq mr{};
    mr.mr_ifindex = static_cast<int>(ifindex);
    mr.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0) {
      munmap(map, mapLen);
      return fail("setsockopt");
    }
  }
  if (group >= 0) {
    int arg = static_cast<int>(group | (mode << 16));
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) {
      munmap(map, mapLen);
      return fail("setsockopt");
    }
  }
  auto ring = std::make_unique<Ring>();
  ring->fd = fd;
  ring->env = env;
  ring->map = static_cast<uint8_t*>(map);
  ring->mapLen = mapLen;
  ring->blockSize = static_cast<uint32_t>(blockSize);
  ring->blockCount = static_cast<uint32_t>(blockCount);
  g_rings.Add(fd, std::move(ring));
  return Napi::Number::New(env, fd);
}

// nextBlock(handle, timeoutMs): null on timeout, else
// { view: Buffer (the block, blk_len bytes), packets, seq, firstOffset }.
// Offsets inside the view (firstOffset, tp_next_offset) are from the block start.
Napi::Value NextBlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "nextBlock";
  if (MissingArgs(info, 2, fn)) return env.Undefined();
  Ring* r = g_rings.Arg(info, 0, fn);
  int64_t timeoutMs;
  if (!r || !ArgInt(info, 1, fn, "timeoutMs", 0, 3600000, &timeoutMs)) return env.Undefined();
  if (r->held) {
    Napi::Error::New(env, std::string(fn) + ": the previous block was not released (call releaseBlock first)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  tpacket_block_desc* b = Block(r, r->current);
  if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
    pollfd p{r->fd, POLLIN | POLLERR, 0};
    int n;
    do {
      n = poll(&p, 1, static_cast<int>(timeoutMs));
    } while (n < 0 && errno == EINTR);  // a signal restarts the full wait: bounded by the caller's loop
    if (n < 0) {
      ThrowErrno(env, fn, "poll", errno);
      return env.Undefined();
    }
    if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) return env.Null();
  }
  const tpacket_hdr_v1& h = b->hdr.bh1;
  uint32_t len = h.blk_len;
  if (len > r->blockSize) len = r->blockSize;  // never trust a length beyond the block
  Napi::Buffer<uint8_t> view =
      Napi::Buffer<uint8_t>::New(env, reinterpret_cast<uint8_t*>(b), len, [](Napi::Env, uint8_t*) {});
  if (env.IsExceptionPending()) return env.Undefined();
  r->view = Napi::Reference<Napi::ArrayBuffer>::New(view.ArrayBuffer(), 1);
  r->held = true;
  Napi::Object out = Napi::Object::New(env);
  out.Set("view", view);
  out.Set("packets", Napi::Number::New(env, h.num_pkts));
  out.Set("seq", Napi::Number::New(env, static_cast<double>(h.seq_num)));
  out.Set("firstOffset", Napi::Number::New(env, h.offset_to_first_pkt));
  return out;
}

// releaseBlock(handle): gives the held block back to the kernel.
Napi::Value ReleaseBlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "releaseBlock";
  if (MissingArgs(info, 1, fn)) return env.Undefined();
  Ring* r = g_rings.Arg(info, 0, fn);
  if (!r) return env.Undefined();
  if (!r->held) {
    Napi::Error::New(env, std::string(fn) + ": no block is held").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  DetachView(r->view);
  __atomic_store_n(&Block(r, r->current)->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  r->held = false;
  r->current = (r->current + 1) % r->blockCount;
  return env.Undefined();
}

// pollRing(handle, callback): calls callback() once, from the event loop,
// when the socket is readable (a block is ready for user space, or an error
// is pending). Re-arming while armed replaces the callback.
Napi::Value PollRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "pollRing";
  if (MissingArgs(info, 2, fn)) return env.Undefined();
  Ring* r = g_rings.Arg(info, 0, fn);
  if (r) r->watch.Arm(env, fn, r->fd, info[1]);
  return env.Undefined();
}

// setRingFilter(handle, program | null): attaches a classic BPF program
// (struct sock_filter bytes) to the socket, replacing the previous one in one
// step, or detaches it (null: every packet again).
Napi::Value SetRingFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "setRingFilter";
  if (MissingArgs(info, 2, fn)) return env.Undefined();
  Ring* r = g_rings.Arg(info, 0, fn);
  if (!r) return env.Undefined();
  if (info[1].IsNull()) {
    int unused = 0;
    if (setsockopt(r->fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof unused) != 0 && errno != ENOENT)
      ThrowErrno(env, fn, "setsockopt", errno);
    return env.Undefined();
  }
  uint8_t* prog;
  size_t len;
  if (ArgBytes(info, 1, fn, "program", &prog, &len)) AttachFilter(env, fn, r->fd, prog, len);
  return env.Undefined();
}

// ringBacklog(handle): how many blocks, from the next one in ring order
// (the held one included), the kernel has handed to user space and not got
// back: how full the ring is, for a consumer deciding whether it can wait.
Napi::Value RingBacklog(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "ringBacklog";
  if (MissingArgs(info, 1, fn)) return env.Undefined();
  Ring* r = g_rings.Arg(info, 0, fn);
  if (!r) return env.Undefined();
  uint32_t n = 0;
  while (n < r->blockCount &&
         (__atomic_load_n(&Block(r, (r->current + n) % r->blockCount)->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
          TP_STATUS_USER))
    n++;
  return Napi::Number::New(env, n);
}

// packetStats(handle): { packets, drops, freezeQueueCount } since the last
// call (the kernel resets its counters on every read). packets includes drops.
Napi::Value PacketStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "packetStats";
  if (MissingArgs(info, 1, fn)) return env.Undefined();
  Ring* r = g_rings.Arg(info, 0, fn);
  if (!r) return env.Undefined();
  tpacket_stats_v3 st{};
  socklen_t len = sizeof st;
  if (getsockopt(r->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) {
    ThrowErrno(env, fn, "getsockopt", errno);
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("packets", Napi::Number::New(env, st.tp_packets));
  out.Set("drops", Napi::Number::New(env, st.tp_drops));
  out.Set("freezeQueueCount", Napi::Number::New(env, st.tp_freeze_q_cnt));
  return out;
}

// closeRing(handle): detaches any held view, unmaps the ring, closes the socket.
Napi::Value CloseRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "closeRing";
  if (MissingArgs(info, 1, fn)) return env.Undefined();
  Ring* r = g_rings.Arg(info, 0, fn);
  if (!r) return env.Undefined();
  Destroy(g_rings.Take(r->fd).get(), true);
  return env.Undefined();
}

}  // namespace

void InitAfPacket(Napi::Env env, Napi::Object exports) {
  napi_add_env_cleanup_hook(env, CloseEnvRings, static_cast<napi_env>(env));
  exports.Set("openPacketRing", Napi::Function::New(env, OpenPacketRing, "openPacketRing"));
  exports.Set("nextBlock", Napi::Function::New(env, NextBlock, "nextBlock"));
  exports.Set("releaseBlock", Napi::Function::New(env, ReleaseBlock, "releaseBlock"));
  exports.Set("packetStats", Napi::Function::New(env, PacketStats, "packetStats"));
  exports.Set("closeRing", Napi::Function::New(env, CloseRing, "closeRing"));
  exports.Set("pollRing", Napi::Function::New(env, PollRing, "pollRing"));
  exports.Set("ringBacklog", Napi::Function::New(env, RingBacklog, "ringBacklog"));
  exports.Set("setRingFilter", Napi::Function::New(env, SetRingFilter, "setRingFilter"));
}

}  // namespace nm
