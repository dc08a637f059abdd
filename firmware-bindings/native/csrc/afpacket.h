// AF_PACKET capture with a TPACKET_V3 memory-mapped ring (see afpacket.cc).
#pragma once

#include <napi.h>

namespace nm {
void InitAfPacket(Napi::Env env, Napi::Object exports);
}
