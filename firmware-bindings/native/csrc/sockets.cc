#include "sockets.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <linux/filter.h>

#include "args.h"

namespace nm {
namespace {

constexpr unsigned kMaxBatch = 1024;  // messages per sendBatch call (UIO_MAXIOV)

// File descriptors this addon opened and has not closed, with the Node
// environment (main thread or worker) that opened each. closeSocket and
// sendBatch refuse any other fd, so a stale or mistyped number can never
// close or write into a descriptor that belongs to libuv, a file or stdio.
// When an environment shuts down (a worker exits), its sockets are closed.
std::mutex g_fds_mutex;
std::unordered_map<int, napi_env> g_fds;

void CloseEnvFds(void* arg) {
  napi_env env = static_cast<napi_env>(arg);
  std::lock_guard<std::mutex> lock(g_fds_mutex);
  for (auto it = g_fds.begin(); it != g_fds.end();) {
    if (it->second == env) {
      close(it->first);
      it = g_fds.erase(it);
    } else {
      ++it;
    }
  }
}

bool OwnedFd(Napi::Env env, const char* fn, int fd, bool remove) {
  std::lock_guard<std::mutex> lock(g_fds_mutex);
  auto it = g_fds.find(fd);
  if (it == g_fds.end()) {
    ThrowType(env, std::string(fn) + ": fd " + std::to_string(fd) +
                       " is not a socket opened by @netmirror/native (or it was closed)");
    return false;
  }
  if (remove) g_fds.erase(it);
  return true;
}

bool ArgFamily(const Napi::CallbackInfo& info, size_t i, const char* fn, int* af) {
  int64_t f;
  if (!ArgInt(info, i, fn, "family", 4, 6, &f)) return false;
  if (f != 4 && f != 6) {
    ThrowRange(info.Env(), std::string(fn) + ": family must be 4 or 6, got " + std::to_string(f));
    return false;
  }
  *af = f == 4 ? AF_INET : AF_INET6;
  return true;
}

// sndbuf > 0: the socket's send buffer. SO_SNDBUFFORCE ignores
// net.core.wmem_max but needs CAP_NET_ADMIN; SO_SNDBUF otherwise. On failure
// closes fd and throws.
bool SetSendBuffer(Napi::Env env, const char* fn, int fd, int64_t sndbuf) {
  if (sndbuf <= 0) return true;
  int v = static_cast<int>(sndbuf);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) == 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v) == 0)
    return true;
  int err = errno;
  close(fd);
  ThrowErrno(env, fn, "setsockopt", err);
  return false;
}

Napi::Value Register(Napi::Env env, int fd) {
  std::lock_guard<std::mutex> lock(g_fds_mutex);
  g_fds[fd] = env;
  return Napi::Number::New(env, fd);
}

// openUdpSocket(family, sndbuf): fd. sndbuf 0 keeps the kernel default.
Napi::Value OpenUdpSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "openUdpSocket";
  if (MissingArgs(info, 2, fn)) return env.Undefined();
  int af;
  int64_t sndbuf;
  if (!ArgFamily(info, 0, fn, &af) || !ArgInt(info, 1, fn, "sndbuf", 0, INT32_MAX / 2, &sndbuf))
    return env.Undefined();
  int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    ThrowErrno(env, fn, "socket", errno);
    return env.Undefined();
  }
  if (!SetSendBuffer(env, fn, fd, sndbuf)) return env.Undefined();
  return Register(env, fd);
}

// openRawIpSocket(family, protocol): fd. The kernel builds the IP header.
Napi::Value OpenRawIpSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "openRawIpSocket";
  if (MissingArgs(info, 2, fn)) return env.Undefined();
  int af;
  int64_t proto;
  if (!ArgFamily(info, 0, fn, &af) || !ArgInt(info, 1, fn, "protocol", 1, 254, &proto))
    return env.Undefined();
  int fd = socket(af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, static_cast<int>(proto));
  if (fd < 0) {
    ThrowErrno(env, fn, "socket", errno);
    return env.Undefined();
  }
  return Register(env, fd);
}

// openPacketSendSocket(ifname, sndbuf): { fd, sockaddr }. An AF_PACKET
// SOCK_RAW socket for sending whole frames out of ifname (a monitor port)
// with sendBatch: sockaddr is the sockaddr_ll to send to. Protocol 0: it
// receives nothing, so nothing queues up on it.
Napi::Value OpenPacketSendSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "openPacketSendSocket";
  if (MissingArgs(info, 2, fn)) return env.Undefined();
  std::string ifname;
  int64_t sndbuf;
  if (!ArgString(info, 0, fn, "ifname", &ifname) || !ArgInt(info, 1, fn, "sndbuf", 0, INT32_MAX / 2, &sndbuf))
    return env.Undefined();
  const unsigned ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) {
    ThrowErrno(env, fn, "if_nametoindex", errno);
    return env.Undefined();
  }
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowErrno(env, fn, "socket", errno);
    return env.Undefined();
  }
  if (!SetSendBuffer(env, fn, fd, sndbuf)) return env.Undefined();
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = static_cast<int>(ifindex);
  sll.sll_protocol = 0;  // the kernel reads the EtherType from the frame
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", Register(env, fd));
  out.Set("sockaddr", Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(&sll), sizeof sll));
  return out;
}

// closeSocket(fd): undefined
Napi::Value CloseSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "closeSocket";
  if (MissingArgs(info, 1, fn)) return env.Undefined();
  int64_t fd;
  if (!ArgInt(info, 0, fn, "fd", 0, INT32_MAX, &fd) || !OwnedFd(env, fn, static_cast<int>(fd), true))
    return env.Undefined();
  // Linux releases the descriptor even when close() reports an error (EINTR,
  // EIO), so it is gone from the table either way; only report the error.
  if (close(static_cast<int>(fd)) != 0 && errno != EINTR) {
    ThrowErrno(env, fn, "close", errno);
  }
  return env.Undefined();
}

// makeSockaddr(address, port): Buffer holding a sockaddr_in or sockaddr_in6.
// IPv6 accepts a zone: "fe80::1%eth0" or "fe80::1%2".
Napi::Value MakeSockaddr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "makeSockaddr";
  if (MissingArgs(info, 2, fn)) return env.Undefined();
  std::string addr;
  int64_t port;
  if (!ArgString(info, 0, fn, "address", &addr) || !ArgInt(info, 1, fn, "port", 0, 65535, &port))
    return env.Undefined();

  sockaddr_in sin{};
  if (inet_pton(AF_INET, addr.c_str(), &sin.sin_addr) == 1) {
    sin.sin_family = AF_INET;
    sin.sin_port = htons(static_cast<uint16_t>(port));
    return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(&sin), sizeof sin);
  }
  sockaddr_in6 sin6{};
  std::string host = addr;
  uint32_t scope = 0;
  size_t pct = addr.find('%');
  if (pct != std::string::npos) {
    host = addr.substr(0, pct);
    std::string zone = addr.substr(pct + 1);
    char* end = nullptr;
    unsigned long z = zone.empty() ? 0 : std::strtoul(zone.c_str(), &end, 10);
    if (!zone.empty() && end && *end == '\0' && z <= UINT32_MAX) {
      scope = static_cast<uint32_t>(z);
    } else {
      scope = zone.empty() ? 0 : if_nametoindex(zone.c_str());
      if (scope == 0) {
        ThrowType(env, std::string(fn) + ": unknown IPv6 zone \"" + zone + "\" in \"" + addr + "\"");
        return env.Undefined();
      }
    }
  }
  if (inet_pton(AF_INET6, host.c_str(), &sin6.sin6_addr) != 1) {
    ThrowType(env, std::string(fn) + ": \"" + addr + "\" is not an IPv4 or IPv6 address literal");
    return env.Undefined();
  }
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(static_cast<uint16_t>(port));
  sin6.sin6_scope_id = scope;
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(&sin6), sizeof sin6);
}

// Checks a sockaddr Buffer (makeSockaddr's, or openPacketSendSocket's
// sockaddr_ll) and copies it into aligned storage.
bool ArgSockaddr(const Napi::CallbackInfo& info, size_t i, const char* fn, sockaddr_storage* ss,
                 socklen_t* sslen) {
  uint8_t* data;
  size_t len;
  if (!ArgBytes(info, i, fn, "sockaddr", &data, &len)) return false;
  sa_family_t fam = 0;
  if (len >= sizeof fam) std::memcpy(&fam, data, sizeof fam);
  if (!((fam == AF_INET && len == sizeof(sockaddr_in)) ||
        (fam == AF_INET6 && len == sizeof(sockaddr_in6)) || (fam == AF_PACKET && len == sizeof(sockaddr_ll)))) {
    ThrowType(info.Env(), std::string(fn) + ": sockaddr is not a sockaddr_in, sockaddr_in6 or sockaddr_ll (" +
                              std::to_string(len) + " bytes, family " + std::to_string(fam) +
                              "); build it with makeSockaddr() or openPacketSendSocket()");
    return false;
  }
  std::memset(ss, 0, sizeof *ss);
  std::memcpy(ss, data, len);
  *sslen = static_cast<socklen_t>(len);
  return true;
}

// The arguments sendBatch and sendBatchAsync share: (fd, sockaddr, buf,
// offsets, lengths, start, count), checked, with every message's bytes
// resolved to an iovec (at most `limit` of them) before anything is sent.
struct Batch {
  int fd;
  sockaddr_storage ss;
  socklen_t sslen;
  std::vector<iovec> iov;
};

bool ParseBatch(const Napi::CallbackInfo& info, const char* fn, size_t limit, Batch* out) {
  Napi::Env env = info.Env();
  int64_t fd, start, count;
  uint8_t* buf;
  size_t buflen;
  int32_t *offsets, *lengths;
  size_t noff, nlen;
  if (!ArgInt(info, 0, fn, "fd", 0, INT32_MAX, &fd) || !ArgSockaddr(info, 1, fn, &out->ss, &out->sslen) ||
      !ArgBytes(info, 2, fn, "buf", &buf, &buflen) || !ArgInt32Array(info, 3, fn, "offsets", &offsets, &noff) ||
      !ArgInt32Array(info, 4, fn, "lengths", &lengths, &nlen) ||
      !ArgInt(info, 5, fn, "start", 0, INT32_MAX, &start) || !ArgInt(info, 6, fn, "count", 0, INT32_MAX, &count) ||
      !OwnedFd(env, fn, static_cast<int>(fd), false))
    return false;
  const size_t n_arr = noff < nlen ? noff : nlen;
  if (static_cast<size_t>(start + count) > n_arr) {
    ThrowRange(env, std::string(fn) + ": messages [" + std::to_string(start) + ", " + std::to_string(start + count) +
                        ") exceed offsets (" + std::to_string(noff) + ") or lengths (" + std::to_string(nlen) + ")");
    return false;
  }
  const size_t n = static_cast<size_t>(count) < limit ? static_cast<size_t>(count) : limit;
  out->fd = static_cast<int>(fd);
  out->iov.resize(n);
  for (size_t j = 0; j < n; j++) {
    const size_t i = static_cast<size_t>(start) + j;
    const int64_t off = offsets[i], len = lengths[i];
    if (off < 0 || len < 0 || off + len > static_cast<int64_t>(buflen)) {
      ThrowRange(env, std::string(fn) + ": message " + std::to_string(i) + " [offset " + std::to_string(off) +
                          ", length " + std::to_string(len) + "] is outside buf (length " + std::to_string(buflen) + ")");
      return false;
    }
    out->iov[j].iov_base = buf + off;
    out->iov[j].iov_len = static_cast<size_t>(len);
  }
  return true;
}

// Points msgs[0..n) at iov[0..n), all to one address.
void FillMessages(mmsghdr* msgs, iovec* iov, size_t n, sockaddr_storage* ss, socklen_t sslen) {
  for (size_t j = 0; j < n; j++) {
    msghdr& h = msgs[j].msg_hdr;
    h.msg_name = ss;
    h.msg_namelen = sslen;
    h.msg_iov = &iov[j];
    h.msg_iovlen = 1;
    h.msg_control = nullptr;
    h.msg_controllen = 0;
    h.msg_flags = 0;
    msgs[j].msg_len = 0;
  }
}

// sendBatch(fd, sockaddr, buf, offsets, lengths, start, count): number
//
// One sendmmsg() of messages [start, start + min(count, 1024)). Returns how
// many the kernel took (possibly fewer), or -errno when it took none.
Napi::Value SendBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "sendBatch";
  if (MissingArgs(info, 7, fn)) return env.Undefined();
  // Per-thread scratch: no allocation per call beyond the iovec list, safe under worker_threads.
  thread_local Batch batch;
  thread_local mmsghdr msgs[kMaxBatch];
  if (!ParseBatch(info, fn, kMaxBatch, &batch)) return env.Undefined();
  const size_t n = batch.iov.size();
  if (n == 0) return Napi::Number::New(env, 0);
  FillMessages(msgs, batch.iov.data(), n, &batch.ss, batch.sslen);
  int sent;
  do {
    sent = sendmmsg(batch.fd, msgs, static_cast<unsigned>(n), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  return Napi::Number::New(env, sent < 0 ? -errno : sent);
}


// attachSocketFilter(fd, program): SO_ATTACH_FILTER with a classic BPF
// program (struct sock_filter array). A socket that only sends (raw UDP or GRE
// for mirroring) attaches "ret 0" so the kernel queues none of the host's
// incoming packets of that protocol to it.
Napi::Value AttachSocketFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "attachSocketFilter";
  if (MissingArgs(info, 2, fn)) return env.Undefined();
  int64_t fd;
  uint8_t* prog;
  size_t len;
  if (!ArgInt(info, 0, fn, "fd", 0, INT32_MAX, &fd) || !OwnedFd(env, fn, static_cast<int>(fd), false) ||
      !ArgBytes(info, 1, fn, "program", &prog, &len))
    return env.Undefined();
  AttachFilter(env, fn, static_cast<int>(fd), prog, len);
  return env.Undefined();
}

// setSocketOption(fd, level, name, value): an integer socket option.
Napi::Value SetSocketOption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "setSocketOption";
  if (MissingArgs(info, 4, fn)) return env.Undefined();
  int64_t fd, level, name, value;
  if (!ArgInt(info, 0, fn, "fd", 0, INT32_MAX, &fd) || !OwnedFd(env, fn, static_cast<int>(fd), false) ||
      !ArgInt(info, 1, fn, "level", 0, INT32_MAX, &level) || !ArgInt(info, 2, fn, "name", 0, INT32_MAX, &name) ||
      !ArgInt(info, 3, fn, "value", INT32_MIN, INT32_MAX, &value))
    return env.Undefined();
  int v = static_cast<int>(value);
  if (setsockopt(static_cast<int>(fd), static_cast<int>(level), static_cast<int>(name), &v, sizeof v) != 0) {
    ThrowErrno(env, fn, "setsockopt", errno);
  }
  return env.Undefined();
}


// sendBatchAsync(fd, sockaddr, buf, offsets, lengths, start, count, done):
// the same messages as sendBatch, sent from a libuv worker thread so the
// kernel's send path (on loopback, the whole receive path too) does not run
// on the capture thread. All `count` messages are attempted: a full socket
// buffer is waited out with poll() (bounded), and the worker stops at the
// first other error. done(sent, errno): errno (0 if none) is the error of
// message start+sent. The caller must not touch those bytes until done.
class SendWorker : public Napi::AsyncWorker {
 public:
  SendWorker(Napi::Function done, Batch batch, Napi::Object keepBuf)
      : Napi::AsyncWorker(done, "netmirror.sendBatchAsync"), batch_(std::move(batch)) {
    keep_ = Napi::Persistent(keepBuf);
  }

  void Execute() override {
    const size_t total = batch_.iov.size();
    std::vector<mmsghdr> msgs(total < kMaxBatch ? total : kMaxBatch);
    int stalls = 0;
    while (sent_ < total) {
      const size_t n = total - sent_ < kMaxBatch ? total - sent_ : kMaxBatch;
      FillMessages(msgs.data(), &batch_.iov[sent_], n, &batch_.ss, batch_.sslen);
      int r = sendmmsg(batch_.fd, msgs.data(), static_cast<unsigned>(n), MSG_NOSIGNAL);
      if (r > 0) {
        sent_ += static_cast<size_t>(r);
        stalls = 0;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == ENOBUFS) && stalls < kMaxStalls) {
        pollfd p{batch_.fd, POLLOUT, 0};
        poll(&p, 1, 10);
        stalls++;
        continue;
      }
      err_ = r < 0 ? errno : EIO;
      break;
    }
  }

  void OnOK() override {
    keep_.Reset();
    Callback().Call({Napi::Number::New(Env(), static_cast<double>(sent_)), Napi::Number::New(Env(), err_)});
  }

 private:
  static constexpr int kMaxStalls = 100;  // ~1 s of a full socket buffer, then report EAGAIN
  Batch batch_;
  Napi::ObjectReference keep_;
  size_t sent_ = 0;
  int err_ = 0;
};

Napi::Value SendBatchAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "sendBatchAsync";
  if (MissingArgs(info, 8, fn)) return env.Undefined();
  Batch batch;
  if (!ParseBatch(info, fn, SIZE_MAX, &batch)) return env.Undefined();
  if (!info[7].IsFunction()) {
    ThrowType(env, std::string(fn) + ": done must be a function");
    return env.Undefined();
  }
  (new SendWorker(info[7].As<Napi::Function>(), std::move(batch), info[2].As<Napi::Object>()))->Queue();
  return env.Undefined();
}

}  // namespace

void AttachFilter(Napi::Env env, const char* fn, int fd, const uint8_t* prog, size_t len) {
  if (len == 0 || len % sizeof(sock_filter) != 0 || len / sizeof(sock_filter) > BPF_MAXINSNS) {
    ThrowRange(env, std::string(fn) + ": program must be 1-4096 instructions of 8 bytes, got " +
                        std::to_string(len) + " bytes");
    return;
  }
  std::vector<sock_filter> insns(len / sizeof(sock_filter));
  std::memcpy(insns.data(), prog, len);
  sock_fprog fprog{static_cast<unsigned short>(insns.size()), insns.data()};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0)
    ThrowErrno(env, fn, "setsockopt", errno);
}

void InitSockets(Napi::Env env, Napi::Object exports) {
  napi_add_env_cleanup_hook(env, CloseEnvFds, static_cast<napi_env>(env));
  exports.Set("openUdpSocket", Napi::Function::New(env, OpenUdpSocket, "openUdpSocket"));
  exports.Set("openRawIpSocket", Napi::Function::New(env, OpenRawIpSocket, "openRawIpSocket"));
  exports.Set("openPacketSendSocket", Napi::Function::New(env, OpenPacketSendSocket, "openPacketSendSocket"));
  exports.Set("closeSocket", Napi::Function::New(env, CloseSocket, "closeSocket"));
  exports.Set("makeSockaddr", Napi::Function::New(env, MakeSockaddr, "makeSockaddr"));
  exports.Set("sendBatch", Napi::Function::New(env, SendBatch, "sendBatch"));
  exports.Set("sendBatchAsync", Napi::Function::New(env, SendBatchAsync, "sendBatchAsync"));
  exports.Set("attachSocketFilter", Napi::Function::New(env, AttachSocketFilter, "attachSocketFilter"));
  exports.Set("setSocketOption", Napi::Function::New(env, SetSocketOption, "setSocketOption"));
  exports.Set("sendBatchMax", Napi::Number::New(env, kMaxBatch));
}

}  // namespace nm
