// Classic BPF through libpcap: compile an expression exactly as tcpdump does,
// run a program over a batch of frames, print a program like `tcpdump -d`.
#pragma once

#include <napi.h>

namespace nm {
void InitBpf(Napi::Env env, Napi::Object exports);
}
