// The backend's kernels, one source for CUDA (nvcc) and HIP (hipcc): only gpu_compat.h differs.
// Semantics follow the JS oracle in @cwts/core (packages/core/src/compute/kernels/*); each
// kernel's comment names the rule it mirrors.
#include "kernels.h"

#include <cstdint>

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
// One thread owns a run of `chunk` consecutive outputs: the run's first window is computed with
// the corrected two-pass formula, later ones slide with the exact add/remove update of
// (mean, M2) in float64, as rollingMomentsKernel in the oracle does (which restarts every
// max(W, 1024) outputs; here a restart happens at every run start, chunk >= W keeps the total
// work O(N)). All-equal windows and non-finite values follow the oracle exactly.
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
        valid = true;
        outMean[i] = xin;
        outVar[i] = 0.0f;
        continue;
      }
      if (!valid) {
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
        valid = true;
      } else {
        const double xo = x[i - 1];
        const double delta = static_cast<double>(xin) - xo;
        const double nm = m + delta / w;
        m2 += delta * (static_cast<double>(xin) - nm + xo - m);
        m = nm;
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
  noopKernel<<<1, 1, 0, stream>>>();
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
  rollingKernel<<<gridFor(runs, 128), 128, 0, stream>>>(x, outputs, window, chunk, mean, variance);
  return gpuGetLastError();
}

gpuError_t launchNormalizeRows(const float* x, uint32_t rows, uint32_t dim, float* out, gpuStream_t stream) {
  const unsigned grid = rows < 65535u * 4u ? rows : 65535u * 4u;
  normalizeRowsKernel<<<grid, kBlock, 0, stream>>>(x, rows, dim, out);
  return gpuGetLastError();
}

gpuError_t launchClamp(float* x, size_t count, gpuStream_t stream) {
  clampKernel<<<gridFor(count, kBlock), kBlock, 0, stream>>>(x, count);
  return gpuGetLastError();
}

gpuError_t launchScale(float* c, size_t count, float beta, gpuStream_t stream) {
  scaleKernel<<<gridFor(count, kBlock), kBlock, 0, stream>>>(c, count, beta);
  return gpuGetLastError();
}

gpuError_t launchSgemm(int m, int n, int k, float alpha, const float* A, const float* B, bool transB, float beta, float* C, gpuStream_t stream) {
  const unsigned tilesM = static_cast<unsigned>((m + BM - 1) / BM);
  const unsigned tilesN = static_cast<unsigned>((n + BN - 1) / BN);
  // gridDim.y is limited to 65535: the larger tile count goes on x.
  const bool swapGrid = tilesM > tilesN;
  const dim3 grid(swapGrid ? tilesM : tilesN, swapGrid ? tilesN : tilesM);
  if (grid.y > 65535u) return gpuErrorInvalidValue;
  // float4 paths need rows of A, B and C that start 16-byte aligned: K and N multiples of 4 and
  // base pointers from the device allocator (256-byte aligned).
  const bool vec = (k % 4 == 0) && (n % 4 == 0) && (reinterpret_cast<uintptr_t>(A) % 16 == 0) &&
                   (reinterpret_cast<uintptr_t>(B) % 16 == 0) && (reinterpret_cast<uintptr_t>(C) % 16 == 0);
  if (transB) {
    if (vec) sgemmKernel<true, true><<<grid, 256, 0, stream>>>(m, n, k, alpha, A, B, beta, C, swapGrid);
    else sgemmKernel<true, false><<<grid, 256, 0, stream>>>(m, n, k, alpha, A, B, beta, C, swapGrid);
  } else {
    if (vec) sgemmKernel<false, true><<<grid, 256, 0, stream>>>(m, n, k, alpha, A, B, beta, C, swapGrid);
    else sgemmKernel<false, false><<<grid, 256, 0, stream>>>(m, n, k, alpha, A, B, beta, C, swapGrid);
  }
  return gpuGetLastError();
}

gpuError_t launchMonteCarloLosses(const double* v, uint32_t factors, uint32_t paths, uint32_t horizon, uint32_t seedLo, uint32_t seedHi,
                                  double drift, double* losses, gpuStream_t stream) {
  monteCarloKernel<<<gridFor(paths, 128), 128, 0, stream>>>(v, factors, paths, horizon, seedLo, seedHi, drift, losses);
  return gpuGetLastError();
}

}  // namespace cwts
