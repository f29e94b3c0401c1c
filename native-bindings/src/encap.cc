#include "stages.h"

namespace vtepd {
void InitEncap(Napi::Env env, Napi::Object exports) {}
}  // namespace vtepd
