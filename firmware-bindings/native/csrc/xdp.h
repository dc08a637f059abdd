// AF_XDP capture: an XSK socket on one queue of an interface, frames in a
// UMEM the addon allocates (see xdp.cc).
#pragma once

#include <napi.h>

namespace nm {
void InitXdp(Napi::Env env, Napi::Object exports);
}
