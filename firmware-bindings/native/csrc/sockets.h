// Sockets Node's dgram cannot give: raw IP sockets, and sendmmsg() so one
// system call sends a whole batch of datagrams.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace nm {
void InitSockets(Napi::Env env, Napi::Object exports);

// SO_ATTACH_FILTER with a classic BPF program (struct sock_filter bytes, 1 to
// 4096 instructions), replacing fd's filter in one step. Throws a RangeError
// for a malformed program, an errno Error when the kernel refuses it.
void AttachFilter(Napi::Env env, const char* fn, int fd, const uint8_t* prog, size_t len);
}  // namespace nm
