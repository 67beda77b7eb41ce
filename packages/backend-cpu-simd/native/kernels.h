// Kernel table shared by the per-ISA translation units and the dispatcher.
// Every ISA TU (kernels_<isa>.cc) compiles kernels_impl.h inside an anonymous namespace with its
// own compiler flags and exports exactly one function returning its table; no inline function or
// template is shared between TUs compiled with different flags (that would let the linker pick
// an AVX-512 copy for the scalar path).
#pragma once
#include <cstddef>
#include <cstdint>

namespace cwts {

struct PatternJob {
  const float* stored;   // K x D
  int64_t K;
  int64_t D;
  const float* qn;       // B x D, centered and scaled to unit norm (zero rows for invalid queries)
  const uint8_t* qvalid; // B
  const double* qsum;    // B: sum of each qn row (about 0; kept for exactness)
  int64_t B;
  int64_t topK;
  float* allScores;      // B x K or nullptr
};

// Per-task top-k state: B heaps of capacity topK.
struct TopKState {
  float* scores;   // B x topK
  int32_t* idx;    // B x topK
  int64_t* count;  // B
};

struct McJob {
  const double* v;   // F: factor^T weights
  int64_t F;
  double wm;         // weights . means
  int64_t horizon;
  uint32_t key0, key1;
  double* losses;    // paths
};

struct KernelTable {
  const char* name;
  int lanes;  // float lanes per vector
  // Scores stored windows [k0, k1); returns false when a stored window in the range has a
  // non-finite value (then *badIndex holds the first such window).
  bool (*patternRange)(const PatternJob& job, int64_t k0, int64_t k1, TopKState st, float* scratch,
                       int64_t* badIndex);
  // Scratch floats patternRange needs for dimension D.
  int64_t (*patternScratch)(int64_t D);
  // Outputs [o0, o1) of the rolling mean / population variance. Returns false when the inputs
  // these outputs cover hold a non-finite value.
  bool (*rollingRange)(const float* x, int64_t n, int64_t w, int64_t o0, int64_t o1, float* mean,
                       float* var);
  // Float64 rolling mean and population variance over outputs [o0, o1); `var` may be null (mean
  // only, a simple moving average). Same semantics as rollingRange, float64 in and out.
  void (*rolling64Range)(const double* x, int64_t w, int64_t o0, int64_t o1, double* mean, double* var);
  // C[m0:m1, n0:n1] = alpha * A B + beta * C (row-major, leading dims k, n, n).
  void (*sgemmTile)(int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b,
                    float beta, float* c, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
  void (*copyRange)(void* dst, const void* src, size_t bytes);
  void (*mcRange)(const McJob& job, int64_t p0, int64_t p1);
};

const KernelTable* table_scalar();
#if defined(CWTS_HAVE_AVX2_TU)
const KernelTable* table_avx2();
#endif
#if defined(CWTS_HAVE_AVX512_TU)
const KernelTable* table_avx512();
#endif
#if defined(CWTS_HAVE_NEON_TU)
const KernelTable* table_neon();
#endif

}  // namespace cwts
