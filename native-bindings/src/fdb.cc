#include "stages.h"

namespace vtepd {
void InitFdb(Napi::Env env, Napi::Object exports) {}
}  // namespace vtepd
