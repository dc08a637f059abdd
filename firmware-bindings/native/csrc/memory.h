// Bulk memory copies for the data path.
#pragma once

#include <napi.h>

namespace nm {
void InitMemory(Napi::Env env, Napi::Object exports);
}
