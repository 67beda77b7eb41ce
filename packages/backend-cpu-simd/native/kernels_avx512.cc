// The avx512 kernel set: kernels_impl.h compiled with this file's flags (see CMakeLists.txt).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <immintrin.h>
#include "kernels.h"

#define CWTS_ISA_AVX512 1
#define CWTS_ISA_NAME "avx512"

namespace {
#include "simd.h"
#include "kernels_impl.h"
}  // namespace

const cwts::KernelTable* cwts::table_avx512() { return &kTable; }
