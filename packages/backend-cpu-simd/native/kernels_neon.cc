// The neon kernel set: kernels_impl.h compiled with this file's flags (see CMakeLists.txt).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <arm_neon.h>
#include "kernels.h"

#define CWTS_ISA_NEON 1
#define CWTS_ISA_NAME "neon"

namespace {
#include "simd.h"
#include "kernels_impl.h"
}  // namespace

const cwts::KernelTable* cwts::table_neon() { return &kTable; }
