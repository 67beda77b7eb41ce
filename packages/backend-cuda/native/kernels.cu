// The backend's kernels, one source for CUDA (nvcc) and HIP (hipcc): only gpu_compat.h differs.
// Semantics follow the JS oracle in @cwts/core (packages/core/src/compute/kernels/*); each
// kernel's comment names the rule it mirrors.
#include "kernels.h"

#include <cstdint>

// Kernel launch. CUDA and HIP use the triple-chevron syntax; the CPU emulation used by the tests
// (test/kernel-emulation) supplies its own CWTS_LAUNCH and runs each block on host threads.
#ifndef CWTS_LAUNCH
#define CWTS_LAUNCH(kernel, grid, block, stream) kernel<<<(grid), (block), 0, (stream)>>>
#endif

namespace cwts {
namespace {

constexpr int kBlock = 256;

inline unsigned gridFor(size_t work, int block, unsigned cap = 65535u * 16u) {
  size_t g = (work + block - 1) / block;
  if (g < 1) g = 1;
  return static_cast<unsigned>(g > cap ? cap : g);
}

__global__ void noopKernel() {}

// ------------------------------------------------------------------------------ rolling moments
// The window at i, corrected two-pass in float64: (mean, M2).
__device__ void exactWindow(const float* __restrict__ x, size_t i, uint32_t W, double& m, double& m2) {
  const double w = static_cast<double>(W);
  const size_t in = i + W - 1;
  double sum = 0.0;
  for (size_t j = i; j <= in; ++j) sum += x[j];
  const double m0 = sum / w;
  double sd = 0.0, sd2 = 0.0;
  for (size_t j = i; j <= in; ++j) {
    const double d = x[j] - m0;
    sd += d;
    sd2 += d * d;
  }
  m = m0 + sd / w;
  m2 = sd2 - (sd * sd) / w;
}

// The oracle's float32 restart rule (ILL_CONDITIONED_F32 in @cwts/core's
// kernels/rolling-moments.ts, kRollingIllConditioned in CPU SIMD): a window whose
// (steps + W) * M2max >= 2^24 * (M2 + W mean^2) is recomputed, or a fat-finger print leaving the
// window leaves its rounding in M2 (variance up to 50x too large for as long as the run lasts).
constexpr double kRollingIllConditioned = 16777216.0;

// One thread owns a run of `chunk` consecutive outputs: the run's first window is computed with
// the corrected two-pass formula, later ones slide with the exact add/remove update of
// (mean, M2) in float64, as rollingMomentsKernel in the oracle does (which re-anchors every
// max(W, 1024) outputs; here every run start, chunk >= W keeps the total work O(N)), and
// restart where the update is ill-conditioned (steps bounded by chunk). All-equal windows and
// non-finite values follow the oracle exactly.
__global__ void rollingKernel(const float* __restrict__ x, size_t outputs, uint32_t W, size_t chunk,
                              float* __restrict__ outMean, float* __restrict__ outVar) {
  const size_t runs = (outputs + chunk - 1) / chunk;
  const double w = static_cast<double>(W);
  const float nan = __int_as_float(0x7fc00000);
  for (size_t r = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; r < runs;
       r += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t i0 = r * chunk;
    const size_t i1 = i0 + chunk < outputs ? i0 + chunk : outputs;
    // lastBad: last index < i0 + W - 1 holding a non-finite value (or none); eqRun: length of the
    // run of equal values ending at the window's newest index.
    long long lastBad = -1;
    size_t eqRun = 0;
    for (size_t j = i0; j + 1 < i0 + W; ++j) {
      const float v = x[j];
      if (!isfinite(v)) lastBad = static_cast<long long>(j);
      eqRun = (j > i0 && v == x[j - 1]) ? eqRun + 1 : 1;
    }
    bool valid = false;
    double m = 0.0, m2 = 0.0;
    double m2max = 0.0;  // largest M2 since the last exact window
    double limit = 0.0;  // (chunk + W) m2max / kRollingIllConditioned
    const double steps = static_cast<double>(chunk) + w;
    for (size_t i = i0; i < i1; ++i) {
      const size_t in = i + W - 1;
      const float xin = x[in];
      if (!isfinite(xin)) lastBad = static_cast<long long>(in);
      eqRun = (in > i0 && xin == x[in - 1]) ? eqRun + 1 : 1;
      if (lastBad >= static_cast<long long>(i)) {
        outMean[i] = nan;
        outVar[i] = nan;
        valid = false;
        continue;
      }
      if (eqRun >= W) {
        m = xin;
        m2 = 0.0;
        m2max = 0.0;
        limit = 0.0;
        valid = true;
        outMean[i] = xin;
        outVar[i] = 0.0f;
        continue;
      }
      if (!valid) {
        exactWindow(x, i, W, m, m2);
        m2max = m2 > 0.0 ? m2 : 0.0;
        limit = steps * m2max / kRollingIllConditioned;
        valid = true;
      } else {
        const double xo = x[i - 1];
        const double delta = static_cast<double>(xin) - xo;
        const double nm = m + delta / w;
        m2 += delta * (static_cast<double>(xin) - nm + xo - m);
        m = nm;
        if (m2 > m2max) {
          m2max = m2;
          limit = steps * m2max / kRollingIllConditioned;
        }
        // M2 fell far below what it was rounded against (a negative M2, pure rounding, too).
        if (!(m2 > limit) && m2 + w * m * m < limit) {
          exactWindow(x, i, W, m, m2);
          m2max = m2 > 0.0 ? m2 : 0.0;
          limit = steps * m2max / kRollingIllConditioned;
        }
      }
      outMean[i] = static_cast<float>(m);
      outVar[i] = m2 > 0.0 ? static_cast<float>(m2 / w) : 0.0f;
    }
  }
}

// ------------------------------------------------------------------------------ pattern scores
// Block-wide float64 sum through shared memory (no shuffles: HIP wavefronts are 32 or 64 wide).
__device__ double blockSum(double v, double* red) {
  red[threadIdx.x] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
    __syncthreads();
  }
  const double total = red[0];
  __syncthreads();
  return total;
}

// One block per row: float64 mean and sum of squared deviations, as centre() in the oracle. A
// float64 sum of equal float32 values is exact in any order, so an all-equal row has ss == 0
// exactly; a non-finite value makes the sum non-finite. Either way the row becomes zeros.
__global__ void normalizeRowsKernel(const float* __restrict__ x, uint32_t rows, uint32_t D, float* __restrict__ out) {
  __shared__ double red[kBlock];
  for (uint32_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* src = x + static_cast<size_t>(row) * D;
    float* dst = out + static_cast<size_t>(row) * D;
    double s = 0.0;
    for (uint32_t i = threadIdx.x; i < D; i += blockDim.x) s += src[i];
    const double sum = blockSum(s, red);
    const bool finiteSum = isfinite(sum);
    const double mean = sum / D;
    double ss = 0.0;
    if (finiteSum) {
      for (uint32_t i = threadIdx.x; i < D; i += blockDim.x) {
        const double d = src[i] - mean;
        ss += d * d;
      }
    }
    const double total = blockSum(ss, red);
    const double inv = (finiteSum && total > 0.0) ? 1.0 / sqrt(total) : 0.0;
    for (uint32_t i = threadIdx.x; i < D; i += blockDim.x) dst[i] = inv == 0.0 ? 0.0f : static_cast<float>((src[i] - mean) * inv);
  }
}

__global__ void clampKernel(float* __restrict__ x, size_t count) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < count; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    x[i] = fminf(1.0f, fmaxf(-1.0f, x[i]));
  }
}

__global__ void scaleKernel(float* __restrict__ c, size_t count, float beta) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < count; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    c[i] = beta == 0.0f ? 0.0f : beta * c[i];
  }
}

// ------------------------------------------------------------------------------ sgemm
// 128 x 128 block tile, BK = 8, 256 threads, each thread an 8 x 8 register tile made of two
// 4-row by two 4-column groups 64 apart (so float4 shared-memory reads of a warp hit distinct
// banks and C is stored as float4s). Shared memory is double-buffered: the next k-slab is
// fetched into registers (float4 global loads when K and N are multiples of 4) while the current
// one is multiplied, then stored to the other buffer; one barrier per slab.
constexpr int BM = 128, BN = 128, BK = 8, PAD = 4;

template <bool TRANS_B, bool VEC>
__global__ void __launch_bounds__(256) sgemmKernel(int M, int N, int K, float alpha, const float* __restrict__ A,
                                                   const float* __restrict__ B, float beta, float* __restrict__ C, bool swapGrid) {
  __shared__ __align__(16) float As[2][BK][BM + PAD];
  __shared__ __align__(16) float Bs[2][BK][BN + PAD];
  const int tid = threadIdx.x;
  const int tx = tid & 15, ty = tid >> 4;
  const int tileM = swapGrid ? blockIdx.x : blockIdx.y;
  const int tileN = swapGrid ? blockIdx.y : blockIdx.x;
  const int bm = tileM * BM, bn = tileN * BN;

  // Global -> register mapping of one slab: A is BM x BK (a row and 4 consecutive k per
  // thread); B is BK x BN (a k row and 4 consecutive n), or for B^T BN x BK like A.
  const int aRow = tid >> 1, aCol = (tid & 1) * 4;
  const int bRow = TRANS_B ? (tid >> 1) : (tid >> 5);
  const int bCol = TRANS_B ? (tid & 1) * 4 : (tid & 31) * 4;
  float ra[4], rb[4];

  auto loadA = [&](int k0) {
    const int r = bm + aRow, c = k0 + aCol;
    if (VEC) {
      if (r < M && c < K) {
        const float4 v = *reinterpret_cast<const float4*>(A + static_cast<size_t>(r) * K + c);
        ra[0] = v.x; ra[1] = v.y; ra[2] = v.z; ra[3] = v.w;
      } else {
        ra[0] = ra[1] = ra[2] = ra[3] = 0.0f;
      }
    } else {
#pragma unroll
      for (int i = 0; i < 4; ++i) ra[i] = (r < M && c + i < K) ? A[static_cast<size_t>(r) * K + c + i] : 0.0f;
    }
  };
  auto loadB = [&](int k0) {
    if (TRANS_B) {
      const int nIdx = bn + bRow, c = k0 + bCol;
      if (VEC) {
        if (nIdx < N && c < K) {
          const float4 v = *reinterpret_cast<const float4*>(B + static_cast<size_t>(nIdx) * K + c);
          rb[0] = v.x; rb[1] = v.y; rb[2] = v.z; rb[3] = v.w;
        } else {
          rb[0] = rb[1] = rb[2] = rb[3] = 0.0f;
        }
      } else {
#pragma unroll
        for (int i = 0; i < 4; ++i) rb[i] = (nIdx < N && c + i < K) ? B[static_cast<size_t>(nIdx) * K + c + i] : 0.0f;
      }
    } else {
      const int r = k0 + bRow, c = bn + bCol;
      if (VEC) {
        if (r < K && c < N) {
          const float4 v = *reinterpret_cast<const float4*>(B + static_cast<size_t>(r) * N + c);
          rb[0] = v.x; rb[1] = v.y; rb[2] = v.z; rb[3] = v.w;
        } else {
          rb[0] = rb[1] = rb[2] = rb[3] = 0.0f;
        }
      } else {
#pragma unroll
        for (int i = 0; i < 4; ++i) rb[i] = (r < K && c + i < N) ? B[static_cast<size_t>(r) * N + c + i] : 0.0f;
      }
    }
  };
  auto store = [&](int buf) {
#pragma unroll
    for (int i = 0; i < 4; ++i) As[buf][aCol + i][aRow] = ra[i];
    if (TRANS_B) {
#pragma unroll
      for (int i = 0; i < 4; ++i) Bs[buf][bCol + i][bRow] = rb[i];
    } else {
      *reinterpret_cast<float4*>(&Bs[buf][bRow][bCol]) = make_float4(rb[0], rb[1], rb[2], rb[3]);
    }
  };

  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

  loadA(0);
  loadB(0);
  store(0);
  __syncthreads();
  int buf = 0;
  for (int k0 = 0; k0 < K; k0 += BK) {
    const bool more = k0 + BK < K;
    if (more) {
      loadA(k0 + BK);
      loadB(k0 + BK);
    }
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      const float4 a0 = *reinterpret_cast<const float4*>(&As[buf][kk][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[buf][kk][64 + ty * 4]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[buf][kk][tx * 4]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[buf][kk][64 + tx * 4]);
      const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    if (more) {
      store(buf ^ 1);
      __syncthreads();
      buf ^= 1;
    }
  }

#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int r = bm + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
    if (r >= M) continue;
#pragma unroll
    for (int g = 0; g < 2; ++g) {
      const int c = bn + g * 64 + tx * 4;
      float* out = C + static_cast<size_t>(r) * N + c;
      if (VEC && c < N) {
        float4 v = make_float4(alpha * acc[i][g * 4], alpha * acc[i][g * 4 + 1], alpha * acc[i][g * 4 + 2], alpha * acc[i][g * 4 + 3]);
        if (beta != 0.0f) {
          const float4 old = *reinterpret_cast<const float4*>(out);
          v.x = fmaf(beta, old.x, v.x); v.y = fmaf(beta, old.y, v.y); v.z = fmaf(beta, old.z, v.z); v.w = fmaf(beta, old.w, v.w);
        }
        *reinterpret_cast<float4*>(out) = v;
      } else if (!VEC) {
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          if (c + j < N) {
            const float v = alpha * acc[i][g * 4 + j];
            out[j] = beta != 0.0f ? fmaf(beta, out[j], v) : v;
          }
        }
      }
    }
  }
}

// ------------------------------------------------------------------------------ sgemm variants
// Candidates to replace sgemmKernel, selected by a variant id (launchSgemm's last argument) so
// one device run can time them all against the vendor BLAS; variant 0 (sgemmKernel above) stays
// the default until a device measurement says otherwise. One template covers them:
//   - BM x BN block tile, k-slabs of 16, warps of 32 threads each owning a WM x WN sub-tile made
//     of 8 x 8 per-thread register tiles ((WM / 8) x (WN / 8) threads = one warp);
//   - shared tiles kept in the global layout, so a 16-byte chunk of global memory is a 16-byte
//     chunk of shared memory and can be copied without passing through registers: A (and B when
//     transposed) as rows of 16 k-values whose four 16-byte chunks are XOR-swizzled by row (so
//     the float4 reads of 8 different rows in a quarter warp hit 8 different bank groups), B as
//     rows of BN n-values;
//   - MODE kPipelined: STAGES slabs in flight, copied with cp.async on sm_80+ (zero-filled past
//     the matrix edge); elsewhere (HIP, older CUDA archs) the same code with plain loads and
//     stores. MODE kRegisterStaged: two slabs, the next one fetched into registers while the
//     current one is multiplied, as sgemmKernel does; every arch.
namespace sgemm_variants {

constexpr int kBK = 16;
enum Mode { kPipelined, kRegisterStaged };

// Async global -> shared copies. On sm_80+ cp.async (the copy bypasses registers; completion
// is per thread through commit/wait groups, and a barrier then makes it visible to the block).
// Under the CPU emulation the shim models the same semantics (copies land only at wait, so a
// missing wait or barrier reads stale shared memory and fails the tests); elsewhere a plain
// copy that is complete at once.
#if defined(CWTS_CPU_EMULATION)
__device__ __forceinline__ void copyAsync16(float* dst, const float* src, bool valid) { cwts_emu::asyncCopy(dst, src, 16, valid); }
__device__ __forceinline__ void copyAsync4(float* dst, const float* src, bool valid) { cwts_emu::asyncCopy(dst, src, 4, valid); }
__device__ __forceinline__ void asyncCommit() { cwts_emu::asyncCommit(); }
template <int PENDING>
__device__ __forceinline__ void asyncWait() { cwts_emu::asyncWait(PENDING); }
#elif !defined(CWTS_HIP) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
__device__ __forceinline__ void copyAsync16(float* dst, const float* src, bool valid) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void copyAsync4(float* dst, const float* src, bool valid) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(s), "l"(src), "r"(valid ? 4 : 0));
}
__device__ __forceinline__ void asyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int PENDING>
__device__ __forceinline__ void asyncWait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(PENDING)); }
#else
__device__ __forceinline__ void copyAsync16(float* dst, const float* src, bool valid) {
  *reinterpret_cast<float4*>(dst) = valid ? *reinterpret_cast<const float4*>(src) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
}
__device__ __forceinline__ void copyAsync4(float* dst, const float* src, bool valid) { *dst = valid ? *src : 0.0f; }
__device__ __forceinline__ void asyncCommit() {}
template <int PENDING>
__device__ __forceinline__ void asyncWait() {}
#endif

// Position of k-chunk q (4 floats) of row r in a k-major tile: rows of kBK floats, chunks
// swizzled so rows r..r+7 read at the same q land in 8 distinct 16-byte bank groups.
__device__ __forceinline__ int kMajor(int r, int q) { return r * kBK + ((q ^ ((r >> 1) & 3)) << 2); }

// SPLIT: split-k. Block z multiplies k in [z * kSlice, (z + 1) * kSlice) and adds alpha times
// its partial product to C with atomics; the launcher has already scaled C by beta. The float
// sums then happen in a run-dependent order: results are within tolerance, not bit-reproducible.
// GROUP > 0: blocks walk the output GROUP tile-rows at a time, column by column (the
// "grouped" raster), so blocks running together share rows of A and columns of B in L2.
template <int BM, int BN, int WM, int WN, int STAGES, Mode MODE, int MIN_BLOCKS, bool SPLIT, int GROUP, bool TRANS_B, bool VEC>
__global__ void __launch_bounds__((BM / WM) * (BN / WN) * 32, MIN_BLOCKS) tiledKernel(int M, int N, int K, float alpha, const float* __restrict__ A,
                                                                            const float* __restrict__ B, float beta, float* __restrict__ C,
                                                                            bool swapGrid, int kSlice) {
  constexpr int kThreads = (BM / WM) * (BN / WN) * 32;
  constexpr int kColThreads = WN / 8, kRowThreads = WM / 8;
  static_assert(kColThreads * kRowThreads == 32, "a warp's threads must tile its sub-tile with 8 x 8 register tiles");
  static_assert(BM % WM == 0 && BN % WN == 0, "warp tiles must tile the block tile");
  static_assert(MODE == kPipelined ? STAGES >= 2 : STAGES == 2, "register staging is double-buffered");
  constexpr int kChunksA = BM * kBK / 4, kChunksB = BN * kBK / 4;  // 4-float chunks per slab
  static_assert(kChunksA % kThreads == 0 && kChunksB % kThreads == 0, "each thread copies whole chunks");
  constexpr int kPerA = kChunksA / kThreads, kPerB = kChunksB / kThreads;
  __shared__ __align__(16) float As[STAGES][BM * kBK];
  __shared__ __align__(16) float Bs[STAGES][BN * kBK];

  const int tid = threadIdx.x;
  const int warp = tid >> 5, lane = tid & 31;
  const int wm = (warp / (BN / WN)) * WM, wn = (warp % (BN / WN)) * WN;
  const int ty = lane / kColThreads, tx = lane % kColThreads;
  int tileM = swapGrid ? blockIdx.x : blockIdx.y;
  int tileN = swapGrid ? blockIdx.y : blockIdx.x;
  if (GROUP > 0) {
    // The grid holds exactly tilesM x tilesN blocks; re-map their linear id.
    const int tilesM = (M + BM - 1) / BM, tilesN = (N + BN - 1) / BN;
    const int id = static_cast<int>(blockIdx.y * gridDim.x + blockIdx.x);
    const int perGroup = GROUP * tilesN, firstM = (id / perGroup) * GROUP;
    const int rows = tilesM - firstM < GROUP ? tilesM - firstM : GROUP;
    tileM = firstM + (id % perGroup) % rows;
    tileN = (id % perGroup) / rows;
  }
  const int bm = tileM * BM, bn = tileN * BN;
  const size_t ldb = TRANS_B ? static_cast<size_t>(K) : static_cast<size_t>(N);
  // This block's k range (all of k without split-k); kSlice is a multiple of kBK, so float4
  // alignment holds at kBegin. K stays the row stride of A and B^T.
  const int kBegin = SPLIT ? static_cast<int>(blockIdx.z) * kSlice : 0;
  const int kEnd = SPLIT ? (K - kBegin < kSlice ? K : kBegin + kSlice) : K;

  // Chunk c of a slab starting at k0: where it lives in shared memory, where it comes from,
  // and which of its 4 floats exist (the rest are zeros). A and B^T: row c / 4, k-chunk c % 4;
  // B: k-row c / (BN / 4), n-chunk c % (BN / 4).
  struct Chunk {
    int dst;
    const float* src;
    int valid;  // number of leading floats inside the matrix: 0..4
  };
  auto chunkA = [&](int c, int k0) -> Chunk {
    const int r = c >> 2, q = c & 3, gr = bm + r, gk = k0 + q * 4;
    const int v = gr < M ? (kEnd - gk >= 4 ? 4 : (kEnd - gk > 0 ? kEnd - gk : 0)) : 0;
    return {kMajor(r, q), A + (v ? static_cast<size_t>(gr) * K + gk : 0), v};
  };
  auto chunkB = [&](int c, int k0) -> Chunk {
    if (TRANS_B) {
      const int r = c >> 2, q = c & 3, gn = bn + r, gk = k0 + q * 4;
      const int v = gn < N ? (kEnd - gk >= 4 ? 4 : (kEnd - gk > 0 ? kEnd - gk : 0)) : 0;
      return {kMajor(r, q), B + (v ? static_cast<size_t>(gn) * ldb + gk : 0), v};
    }
    const int r = c / (BN / 4), q = c % (BN / 4), gk = k0 + r, gn = bn + q * 4;
    const int v = gk < kEnd ? (N - gn >= 4 ? 4 : (N - gn > 0 ? N - gn : 0)) : 0;
    return {r * BN + q * 4, B + (v ? static_cast<size_t>(gk) * ldb + gn : 0), v};
  };
  // Pipelined: issue the copies of one slab into stage s (16-byte copies on the float4 path,
  // 4-byte ones with per-element bounds otherwise).
  auto copyChunk = [&](float* tile, const Chunk& ch) {
    if (VEC) {
      copyAsync16(&tile[ch.dst], ch.src, ch.valid == 4);
    } else {
#pragma unroll
      for (int e = 0; e < 4; ++e) copyAsync4(&tile[ch.dst + e], ch.src + (e < ch.valid ? e : 0), e < ch.valid);
    }
  };
  auto issue = [&](int k0, int s) {
#pragma unroll
    for (int i = 0; i < kPerA; ++i) copyChunk(As[s], chunkA(tid + i * kThreads, k0));
#pragma unroll
    for (int i = 0; i < kPerB; ++i) copyChunk(Bs[s], chunkB(tid + i * kThreads, k0));
  };
  // Register staging: fetch one slab into registers, later store it to stage s.
  float4 regA[MODE == kRegisterStaged ? kPerA : 1], regB[MODE == kRegisterStaged ? kPerB : 1];
  auto fetch4 = [&](const Chunk& ch) -> float4 {
    if (VEC) return ch.valid == 4 ? *reinterpret_cast<const float4*>(ch.src) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    return make_float4(ch.valid > 0 ? ch.src[0] : 0.0f, ch.valid > 1 ? ch.src[1] : 0.0f, ch.valid > 2 ? ch.src[2] : 0.0f,
                       ch.valid > 3 ? ch.src[3] : 0.0f);
  };
  auto fetch = [&](int k0) {
#pragma unroll
    for (int i = 0; i < (MODE == kRegisterStaged ? kPerA : 0); ++i) regA[i] = fetch4(chunkA(tid + i * kThreads, k0));
#pragma unroll
    for (int i = 0; i < (MODE == kRegisterStaged ? kPerB : 0); ++i) regB[i] = fetch4(chunkB(tid + i * kThreads, k0));
  };
  auto put = [&](int s) {
#pragma unroll
    for (int i = 0; i < (MODE == kRegisterStaged ? kPerA : 0); ++i) *reinterpret_cast<float4*>(&As[s][chunkA(tid + i * kThreads, 0).dst]) = regA[i];
#pragma unroll
    for (int i = 0; i < (MODE == kRegisterStaged ? kPerB : 0); ++i) *reinterpret_cast<float4*>(&Bs[s][chunkB(tid + i * kThreads, 0).dst]) = regB[i];
  };

  // This thread's rows: wm + ty + i * kRowThreads (interleaved, so a quarter warp reads distinct
  // or identical rows, never conflicting ones). Columns: for B two groups of 4 consecutive n
  // (float4 reads and C stores), WN / 2 apart; for B^T wn + tx + j * kColThreads (interleaved,
  // like the rows, because B^T is k-major in shared memory too).
  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

  // Shared-memory offsets from two per-thread values: for d a multiple of 4, row base + d has
  // the swizzle of base XOR (d / 2) & 3, so with i, j, q unrolled every other term is a constant.
  static_assert(kRowThreads % 4 == 0 && kColThreads % 4 == 0, "the swizzle identity needs row and column strides that are multiples of 4");
  const int aRow0 = wm + ty, aSw = (aRow0 >> 1) & 3;
  const int bCol0 = wn + tx, bSw = (bCol0 >> 1) & 3;
  auto aAt = [&](int i, int q) { return (aRow0 + i * kRowThreads) * kBK + ((q ^ aSw ^ ((i * kRowThreads / 2) & 3)) << 2); };
  auto btAt = [&](int j, int q) { return (bCol0 + j * kColThreads) * kBK + ((q ^ bSw ^ ((j * kColThreads / 2) & 3)) << 2); };

  auto multiply = [&](int s) {
    const float* as = As[s];
    const float* bs = Bs[s];
#pragma unroll
    for (int q = 0; q < kBK / 4; ++q) {
      float a[8][4];
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        const float4 v = *reinterpret_cast<const float4*>(&as[aAt(i, q)]);
        a[i][0] = v.x; a[i][1] = v.y; a[i][2] = v.z; a[i][3] = v.w;
      }
      if (TRANS_B) {
        // One column's 4 k-values at a time: 4 registers of B live instead of 32.
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          const float4 v = *reinterpret_cast<const float4*>(&bs[btAt(j, q)]);
          const float b[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
          for (int e = 0; e < 4; ++e)
#pragma unroll
            for (int i = 0; i < 8; ++i) acc[i][j] = fmaf(a[i][e], b[e], acc[i][j]);
        }
      } else {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float4 b0 = *reinterpret_cast<const float4*>(&bs[(q * 4 + e) * BN + wn + tx * 4]);
          const float4 b1 = *reinterpret_cast<const float4*>(&bs[(q * 4 + e) * BN + wn + WN / 2 + tx * 4]);
          const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
          for (int i = 0; i < 8; ++i)
#pragma unroll
            for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i][e], b[j], acc[i][j]);
        }
      }
    }
  };

  const int slabs = (kEnd - kBegin + kBK - 1) / kBK;
  if (MODE == kPipelined) {
    // Slab t lives in stage t % STAGES. Every iteration commits one group (empty past the
    // end), so waiting until at most STAGES - 2 groups are pending means slab t has landed; the
    // barrier then publishes it to the block and also retires the reads of the stage the next
    // copy overwrites (the one multiplied in the previous iteration).
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
      if (s < slabs) issue(kBegin + s * kBK, s);
      asyncCommit();
    }
    for (int t = 0; t < slabs; ++t) {
      asyncWait<STAGES - 2>();
      __syncthreads();
      const int next = t + STAGES - 1;
      if (next < slabs) issue(kBegin + next * kBK, next % STAGES);
      asyncCommit();
      multiply(t % STAGES);
    }
    asyncWait<0>();
  } else {
    fetch(kBegin);
    put(0);
    __syncthreads();
    for (int t = 0; t < slabs; ++t) {
      const bool more = t + 1 < slabs;
      if (more) fetch(kBegin + (t + 1) * kBK);
      multiply(t & 1);
      if (more) {
        put((t + 1) & 1);
        __syncthreads();
      }
    }
  }

  auto storeOne = [&](float* p, float v) {
    if (SPLIT) atomicAdd(p, v);
    else *p = beta != 0.0f ? fmaf(beta, *p, v) : v;
  };
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int r = bm + wm + ty + i * kRowThreads;
    if (r >= M) continue;
    float* row = C + static_cast<size_t>(r) * N;
    if (!TRANS_B) {
#pragma unroll
      for (int g = 0; g < 2; ++g) {
        const int c = bn + wn + g * (WN / 2) + tx * 4;
        if (VEC && !SPLIT && c < N) {
          float4 v = make_float4(alpha * acc[i][g * 4], alpha * acc[i][g * 4 + 1], alpha * acc[i][g * 4 + 2], alpha * acc[i][g * 4 + 3]);
          if (beta != 0.0f) {
            const float4 old = *reinterpret_cast<const float4*>(row + c);
            v.x = fmaf(beta, old.x, v.x); v.y = fmaf(beta, old.y, v.y); v.z = fmaf(beta, old.z, v.z); v.w = fmaf(beta, old.w, v.w);
          }
          *reinterpret_cast<float4*>(row + c) = v;
        } else if (!VEC || SPLIT) {
#pragma unroll
          for (int j = 0; j < 4; ++j)
            if (c + j < N) storeOne(row + c + j, alpha * acc[i][g * 4 + j]);
        }
      }
    } else {
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const int c = bn + wn + tx + j * kColThreads;
        if (c < N) storeOne(row + c, alpha * acc[i][j]);
      }
    }
  }
}

using KernelFn = void (*)(int, int, int, float, const float*, const float*, float, float*, bool, int);

struct Variant {
  const char* name;
  int bm, bn;
  KernelFn kernels[2][2];  // [transB][vec]
  unsigned threads;
  bool split;
};

// MIN_BLOCKS > 1 asks the compiler to fit that many blocks per SM in the register file
// (__launch_bounds__), trading registers for resident warps. SPLIT: split-k; GROUP: grouped
// raster (see tiledKernel).
template <int BM, int BN, int WM, int WN, int STAGES, Mode MODE, int MIN_BLOCKS = 1, bool SPLIT = false, int GROUP = 0>
inline Variant variant(const char* name) {
  return {name,
          BM,
          BN,
          {{tiledKernel<BM, BN, WM, WN, STAGES, MODE, MIN_BLOCKS, SPLIT, GROUP, false, false>,
            tiledKernel<BM, BN, WM, WN, STAGES, MODE, MIN_BLOCKS, SPLIT, GROUP, false, true>},
           {tiledKernel<BM, BN, WM, WN, STAGES, MODE, MIN_BLOCKS, SPLIT, GROUP, true, false>,
            tiledKernel<BM, BN, WM, WN, STAGES, MODE, MIN_BLOCKS, SPLIT, GROUP, true, true>}},
          static_cast<unsigned>((BM / WM) * (BN / WN) * 32),
          SPLIT};
}

// Split-k slices: enough blocks to fill a large GPU (about 512, 4 per SM of an H100) when the
// output tiles alone are fewer, and at least 256 k per slice so the atomics stay a small part
// of the work; a multiple of kBK. Returns the slice length; *splits the block count along z.
inline int splitKSlice(unsigned tiles, int k, int* splits) {
  int n = static_cast<int>((512u + tiles - 1) / tiles);
  if (n > k / 256) n = k / 256;
  if (n > 16) n = 16;
  if (n < 1) n = 1;
  const int slice = ((k + n - 1) / n + kBK - 1) / kBK * kBK;
  *splits = (k + slice - 1) / slice;
  return slice;
}

}  // namespace sgemm_variants

// ------------------------------------------------------------------------------ Monte Carlo
// Philox4x32-10 exactly as philox.ts: key bumped by (W0, W1) before every round but the first.
__device__ __forceinline__ uint4 philox4x32_10(uint4 c, uint32_t k0, uint32_t k1) {
#pragma unroll
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    const uint32_t hi0 = __umulhi(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
    const uint32_t hi1 = __umulhi(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
    c = make_uint4(hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0);
  }
  return c;
}

// One thread per path. u = (x + 0.5) / 2^32 is exact in float64; log, sqrt, cos and sin in
// float64 as normalsFromBlock computes them (V8 and the device libm differ by a few ULPs), and
// the sum runs in the oracle's order (t, then j).
__global__ void monteCarloKernel(const double* __restrict__ v, uint32_t F, uint32_t paths, uint32_t horizon, uint32_t seedLo,
                                 uint32_t seedHi, double drift, double* __restrict__ losses) {
  const double inv32 = 2.3283064365386962890625e-10;  // 2^-32
  const double twoPi = 6.283185307179586;               // 2 * Math.PI
  for (uint64_t p = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; p < paths;
       p += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
    double acc = 0.0;
    for (uint32_t t = 0; t < horizon; ++t) {
      for (uint32_t blk = 0; blk * 4u < F; ++blk) {
        const uint4 x = philox4x32_10(make_uint4(static_cast<uint32_t>(p), t, blk, 0u), seedLo, seedHi);
        const uint32_t j0 = blk * 4u;
        const double r0 = sqrt(-2.0 * log((x.x + 0.5) * inv32));
        const double a0 = twoPi * ((x.y + 0.5) * inv32);
        acc += v[j0] * (r0 * cos(a0));
        if (j0 + 1 < F) acc += v[j0 + 1] * (r0 * sin(a0));
        if (j0 + 2 < F) {
          const double r1 = sqrt(-2.0 * log((x.z + 0.5) * inv32));
          const double a1 = twoPi * ((x.w + 0.5) * inv32);
          acc += v[j0 + 2] * (r1 * cos(a1));
          if (j0 + 3 < F) acc += v[j0 + 3] * (r1 * sin(a1));
        }
      }
    }
    losses[p] = -(drift + acc);
  }
}

}  // namespace

gpuError_t launchNoop(gpuStream_t stream) {
  CWTS_LAUNCH(noopKernel, 1, 1, stream)();
  return gpuGetLastError();
}

gpuError_t launchRollingMoments(const float* x, size_t length, uint32_t window, float* mean, float* variance, gpuStream_t stream) {
  const size_t outputs = length - window + 1;
  // A run restarts with an O(W) two-pass, so runs of at least W outputs keep the work O(N);
  // at least 64 so short windows still give each thread a useful sliding run.
  size_t chunk = window < 64 ? 64 : window;
  // Enough runs to fill the device when the series is long but the window too.
  const size_t minRuns = 4096;
  if ((outputs + chunk - 1) / chunk < minRuns && outputs / minRuns >= 64 && outputs / minRuns < chunk) chunk = outputs / minRuns;
  const size_t runs = (outputs + chunk - 1) / chunk;
  CWTS_LAUNCH(rollingKernel, gridFor(runs, 128), 128, stream)(x, outputs, window, chunk, mean, variance);
  return gpuGetLastError();
}

gpuError_t launchNormalizeRows(const float* x, uint32_t rows, uint32_t dim, float* out, gpuStream_t stream) {
  const unsigned grid = rows < 65535u * 4u ? rows : 65535u * 4u;
  CWTS_LAUNCH(normalizeRowsKernel, grid, kBlock, stream)(x, rows, dim, out);
  return gpuGetLastError();
}

gpuError_t launchClamp(float* x, size_t count, gpuStream_t stream) {
  CWTS_LAUNCH(clampKernel, gridFor(count, kBlock), kBlock, stream)(x, count);
  return gpuGetLastError();
}

gpuError_t launchScale(float* c, size_t count, float beta, gpuStream_t stream) {
  CWTS_LAUNCH(scaleKernel, gridFor(count, kBlock), kBlock, stream)(c, count, beta);
  return gpuGetLastError();
}

namespace {
// Variant 0 is sgemmKernel (the default); ids 1.. index this table. Ids are stable: device
// figures are recorded by id and name.
const sgemm_variants::Variant kSgemmVariants[] = {
    sgemm_variants::variant<64, 64, 32, 64, 4, sgemm_variants::kPipelined>("64x64 tile, 2 warps of 32x64, k16, 4-stage cp.async"),
    sgemm_variants::variant<128, 64, 32, 64, 4, sgemm_variants::kPipelined>("128x64 tile, 4 warps of 32x64, k16, 4-stage cp.async"),
    sgemm_variants::variant<128, 128, 32, 64, 2, sgemm_variants::kRegisterStaged>("128x128 tile, 8 warps of 32x64, k16, register-staged"),
    sgemm_variants::variant<128, 128, 32, 64, 3, sgemm_variants::kPipelined>("128x128 tile, 8 warps of 32x64, k16, 3-stage cp.async"),
    sgemm_variants::variant<128, 128, 64, 32, 3, sgemm_variants::kPipelined>("128x128 tile, 8 warps of 64x32, k16, 3-stage cp.async"),
    sgemm_variants::variant<128, 128, 32, 64, 3, sgemm_variants::kPipelined, 2>(
        "128x128 tile, 8 warps of 32x64, k16, 3-stage cp.async, 2 blocks/SM (<= 128 registers)"),
    sgemm_variants::variant<64, 64, 32, 64, 4, sgemm_variants::kPipelined, 6>("64x64 tile, 2 warps of 32x64, k16, 4-stage cp.async, 6 blocks/SM"),
    sgemm_variants::variant<128, 128, 32, 64, 3, sgemm_variants::kPipelined, 1, true>(
        "128x128 tile, 8 warps of 32x64, k16, 3-stage cp.async, split-k to ~512 blocks (atomics)"),
    sgemm_variants::variant<128, 128, 32, 64, 3, sgemm_variants::kPipelined, 1, false, 8>(
        "128x128 tile, 8 warps of 32x64, k16, 3-stage cp.async, grouped raster (8 tile-rows)"),
};
constexpr int kSgemmVariantTable = static_cast<int>(sizeof(kSgemmVariants) / sizeof(kSgemmVariants[0]));
}  // namespace

int sgemmVariantCount() { return 1 + kSgemmVariantTable; }

const char* sgemmVariantName(int variant) {
  if (variant == 0) return "128x128 tile, 256 threads of 8x8, k8, register-staged (default)";
  return variant > 0 && variant <= kSgemmVariantTable ? kSgemmVariants[variant - 1].name : nullptr;
}

gpuError_t launchSgemm(int m, int n, int k, float alpha, const float* A, const float* B, bool transB, float beta, float* C, gpuStream_t stream,
                       int variant) {
  if (variant < 0 || variant > kSgemmVariantTable) return gpuErrorInvalidValue;
  const int bm = variant == 0 ? BM : kSgemmVariants[variant - 1].bm;
  const int bn = variant == 0 ? BN : kSgemmVariants[variant - 1].bn;
  const unsigned tilesM = static_cast<unsigned>((m + bm - 1) / bm);
  const unsigned tilesN = static_cast<unsigned>((n + bn - 1) / bn);
  // gridDim.y is limited to 65535: the larger tile count goes on x.
  const bool swapGrid = tilesM > tilesN;
  const dim3 grid(swapGrid ? tilesM : tilesN, swapGrid ? tilesN : tilesM);
  if (grid.y > 65535u) return gpuErrorInvalidValue;
  // float4 paths need rows of A, B and C that start 16-byte aligned: K and N multiples of 4 and
  // base pointers from the device allocator (256-byte aligned).
  const bool vec = (k % 4 == 0) && (n % 4 == 0) && (reinterpret_cast<uintptr_t>(A) % 16 == 0) &&
                   (reinterpret_cast<uintptr_t>(B) % 16 == 0) && (reinterpret_cast<uintptr_t>(C) % 16 == 0);
  if (variant == 0) {
    void (*kernel)(int, int, int, float, const float*, const float*, float, float*, bool) =
        transB ? (vec ? sgemmKernel<true, true> : sgemmKernel<true, false>) : (vec ? sgemmKernel<false, true> : sgemmKernel<false, false>);
    CWTS_LAUNCH(kernel, grid, 256, stream)(m, n, k, alpha, A, B, beta, C, swapGrid);
  } else {
    const sgemm_variants::Variant& v = kSgemmVariants[variant - 1];
    int splits = 1, kSlice = k;
    if (v.split) {
      kSlice = sgemm_variants::splitKSlice(tilesM * tilesN, k, &splits);
      // The slices add into C: beta C first (zeros for beta = 0, C not read).
      if (beta != 1.0f) {
        const gpuError_t e = launchScale(C, static_cast<size_t>(m) * n, beta, stream);
        if (e != gpuSuccess) return e;
      }
    }
    CWTS_LAUNCH(v.kernels[transB ? 1 : 0][vec ? 1 : 0], dim3(grid.x, grid.y, static_cast<unsigned>(splits)), v.threads, stream)(
        m, n, k, alpha, A, B, beta, C, swapGrid, kSlice);
  }
  return gpuGetLastError();
}

gpuError_t launchMonteCarloLosses(const double* v, uint32_t factors, uint32_t paths, uint32_t horizon, uint32_t seedLo, uint32_t seedHi,
                                  double drift, double* losses, gpuStream_t stream) {
  CWTS_LAUNCH(monteCarloKernel, gridFor(paths, 128), 128, stream)(v, factors, paths, horizon, seedLo, seedHi, drift, losses);
  return gpuGetLastError();
}

}  // namespace cwts
