// Sockets Node's dgram cannot give: raw IP sockets, and sendmmsg() so one
// system call sends a whole batch of datagrams.
#pragma once

#include <napi.h>

namespace nm {
void InitSockets(Napi::Env env, Napi::Object exports);
}
