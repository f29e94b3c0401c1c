#include "stages.h"

namespace vtepd {
void InitReplicate(Napi::Env env, Napi::Object exports) {}
}  // namespace vtepd
