#include "stages.h"

namespace vtepd {
void InitDecap(Napi::Env env, Napi::Object exports) {}
}  // namespace vtepd
