// The scalar kernel set: kernels_impl.h compiled with this file's flags (see CMakeLists.txt).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels.h"

#define CWTS_ISA_SCALAR 1
#define CWTS_ISA_NAME "scalar"

namespace {
#include "simd.h"
#include "kernels_impl.h"
}  // namespace

const cwts::KernelTable* cwts::table_scalar() { return &kTable; }
