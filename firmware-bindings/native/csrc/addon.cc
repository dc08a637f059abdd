// @netmirror/native: the few things JavaScript cannot do, or cannot do fast.
// Each area registers its own functions; see bpf.cc, sockets.cc, memory.cc, afpacket.cc and xdp.cc.
#include <napi.h>

#include "afpacket.h"
#include "bpf.h"
#include "memory.h"
#include "sockets.h"
#include "xdp.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  nm::InitBpf(env, exports);
  nm::InitSockets(env, exports);
  nm::InitMemory(env, exports);
  nm::InitAfPacket(env, exports);
  nm::InitXdp(env, exports);
  return exports;
}

NODE_API_MODULE(netmirror_native, Init)
