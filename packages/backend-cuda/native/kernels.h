// Host-side launchers of the backend's kernels (kernels.cu). One source for CUDA and HIP:
// every launcher enqueues on `stream` and returns the launch status without synchronising.
#pragma once
#include <cstddef>
#include <cstdint>
#include "gpu_compat.h"

namespace cwts {

/** An empty kernel: the launch-latency probe. */
gpuError_t launchNoop(gpuStream_t stream);

/**
 * Rolling mean and population variance: outputs i in [0, N - W + 1) over x[i, i + W), with the
 * JS oracle's rules (float64 state, exact add/remove update, corrected two-pass restarts,
 * all-equal windows exact, NaN windows NaN, variance >= 0).
 */
gpuError_t launchRollingMoments(const float* x, size_t length, uint32_t window, float* mean, float* variance, gpuStream_t stream);

/**
 * Centres each of `rows` rows of length `dim` and scales it to unit norm (float64 sums); a row
 * with zero variance or a non-finite value becomes all zeros, so it scores 0 against everything.
 */
gpuError_t launchNormalizeRows(const float* x, uint32_t rows, uint32_t dim, float* out, gpuStream_t stream);

/** Clamps `count` floats to [-1, 1] (correlations after the dot products). */
gpuError_t launchClamp(float* x, size_t count, gpuStream_t stream);

/**
 * C = alpha * A x op(B) + beta * C, row-major. A is m x k; B is k x n, or n x k when `transB`
 * (then op(B) = B^T). beta == 0 never reads C. Callers handle alpha == 0 with launchScale.
 * `variant` picks the kernel (0, the default, to sgemmVariantCount() - 1; see kernels.cu,
 * "sgemm variants"); an unknown id returns gpuErrorInvalidValue without launching.
 */
gpuError_t launchSgemm(int m, int n, int k, float alpha, const float* A, const float* B, bool transB, float beta, float* C, gpuStream_t stream,
                       int variant = 0);

/** Number of sgemm variants (ids 0 .. count - 1) and a short description of one (null if unknown). */
int sgemmVariantCount();
const char* sgemmVariantName(int variant);

/** C = beta * C, or zeros when beta == 0 (C not read): sgemm's alpha == 0 case. */
gpuError_t launchScale(float* C, size_t count, float beta, gpuStream_t stream);

/**
 * Monte Carlo path losses: losses[p] = -(drift + sum_t sum_j v[j] z[p][t][j]), z the contract's
 * Philox4x32-10 + Box-Muller draw in float64 (as the JS oracle computes it).
 */
gpuError_t launchMonteCarloLosses(const double* v, uint32_t factors, uint32_t paths, uint32_t horizon, uint32_t seedLo, uint32_t seedHi,
                                  double drift, double* losses, gpuStream_t stream);

}  // namespace cwts
