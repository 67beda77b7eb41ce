// Runs native/kernels.cu under the CPU emulation (cuda_shim.h) and prints one JSON object with
// the worst deviations from straightforward float64 references. test/kernels.emulated.test.ts
// builds and runs it and judges the numbers (and compares the Monte Carlo losses with the JS
// oracle's Philox draw).
#define CWTS_CPU_EMULATION 1
#include "cuda_shim.h"
#include "../../native/kernels.cu"

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>

using namespace cwts;

static std::mt19937 rng(15);
static std::vector<float> randomVec(size_t n) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Worst |got - want| / (rel * magnitude) over C, as the conformance suite judges sgemm.
static double sgemmCase(int m, int n, int k, float alpha, float beta, bool transB, int offsetFloats, int variant) {
  std::vector<float> Abuf = randomVec(size_t(m) * k + offsetFloats), B = randomVec(size_t(k) * n), C0 = randomVec(size_t(m) * n);
  const float* A = Abuf.data() + offsetFloats;  // an offset of 1 float forces the scalar path
  std::vector<float> C = C0;
  if (launchSgemm(m, n, k, alpha, A, B.data(), transB, beta, C.data(), nullptr, variant) != gpuSuccess) return INFINITY;
  double worst = 0;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0, mag = 0;
      for (int p = 0; p < k; ++p) {
        const double b = transB ? B[size_t(j) * k + p] : B[size_t(p) * n + j];
        s += double(A[size_t(i) * k + p]) * b;
        mag += std::fabs(double(A[size_t(i) * k + p]) * b);
      }
      const double want = alpha * s + (beta != 0 ? beta * C0[size_t(i) * n + j] : 0.0);
      mag = std::fabs(alpha) * mag + std::fabs(beta * C0[size_t(i) * n + j]);
      const double tol = 1e-4 * std::max(1.0, k / 1024.0) * mag + 1e-30;
      worst = std::max(worst, std::fabs(C[size_t(i) * n + j] - want) / tol);
    }
  return worst;
}

// Rolling moments vs per-window two-pass float64; NaN and constant windows must match exactly.
static std::string rollingCase(size_t N, uint32_t W) {
  std::vector<float> x(N);
  double level = 100;
  std::uniform_real_distribution<double> d(-0.5, 0.5);
  for (size_t i = 0; i < N; ++i) {
    level += d(rng);
    x[i] = (i % 5000) < 700 ? 42.0f : static_cast<float>(level);
  }
  if (N > 3000) x[2999] = NAN;
  const size_t outs = N - W + 1;
  std::vector<float> mean(outs), var(outs);
  launchRollingMoments(x.data(), N, W, mean.data(), var.data(), nullptr);
  // Reference from long double prefix sums (64-bit mantissa: exact enough for these values),
  // prefix counts of non-finite values and the run of equal values ending at each index.
  std::vector<long double> s1(N + 1, 0), s2(N + 1, 0);
  std::vector<size_t> badCount(N + 1, 0), run(N, 1);
  for (size_t i = 0; i < N; ++i) {
    const bool bad = !std::isfinite(x[i]);
    badCount[i + 1] = badCount[i] + (bad ? 1 : 0);
    s1[i + 1] = s1[i] + (bad ? 0 : x[i]);
    s2[i + 1] = s2[i] + (bad ? 0 : (long double)x[i] * x[i]);
    if (i > 0 && x[i] == x[i - 1]) run[i] = run[i - 1] + 1;
  }
  double worstMean = 0, worstVar = 0;
  size_t nanMismatch = 0, constMismatch = 0;
  for (size_t i = 0; i < outs; ++i) {
    if (badCount[i + W] - badCount[i] > 0) {
      if (!(std::isnan(mean[i]) && std::isnan(var[i]))) ++nanMismatch;
      continue;
    }
    const long double m = (s1[i + W] - s1[i]) / W;
    long double v = (s2[i + W] - s2[i]) / W - m * m;
    if (v < 0) v = 0;
    if (run[i + W - 1] >= W && !(mean[i] == x[i] && var[i] == 0.0f)) ++constMismatch;
    worstMean = std::max(worstMean, double(std::fabs(mean[i] - m) / (std::fabs(m) + std::sqrt(v))));
    worstVar = std::max(worstVar, double(std::fabs(var[i] - v) / (v + m * m)));
  }
  char buf[256];
  std::snprintf(buf, sizeof buf, "{\"N\":%zu,\"W\":%u,\"worstMeanRel\":%.3e,\"worstVarRel\":%.3e,\"nanMismatch\":%zu,\"constMismatch\":%zu}", N, W, worstMean,
                worstVar, nanMismatch, constMismatch);
  return buf;
}

// Normalise + transposed sgemm + clamp, as patternScores runs them, vs textbook Pearson.
static std::string scoresCase(uint32_t K, uint32_t D, uint32_t B, int variant) {
  std::vector<float> stored = randomVec(size_t(K) * D), queries = randomVec(size_t(B) * D);
  for (uint32_t d = 0; d < D; ++d) stored[d] = 3.5f;   // row 0: constant
  stored[size_t(1) * D + D / 2] = INFINITY;            // row 1: non-finite
  std::vector<float> sn(size_t(K) * D), qn(size_t(B) * D), scores(size_t(B) * K);
  launchNormalizeRows(stored.data(), K, D, sn.data(), nullptr);
  launchNormalizeRows(queries.data(), B, D, qn.data(), nullptr);
  launchSgemm(int(B), int(K), int(D), 1.0f, qn.data(), sn.data(), true, 0.0f, scores.data(), nullptr, variant);
  launchClamp(scores.data(), scores.size(), nullptr);
  double worst = 0, worstZero = 0;
  for (uint32_t b = 0; b < B; ++b)
    for (uint32_t k = 0; k < K; ++k) {
      const float got = scores[size_t(b) * K + k];
      if (k < 2) {
        worstZero = std::max(worstZero, double(std::fabs(got)));
        continue;
      }
      double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
      for (uint32_t d = 0; d < D; ++d) {
        const double x = queries[size_t(b) * D + d], y = stored[size_t(k) * D + d];
        sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y;
      }
      const double r = (D * sxy - sx * sy) / std::sqrt((D * sxx - sx * sx) * (D * syy - sy * sy));
      worst = std::max(worst, std::fabs(got - r));
    }
  char buf[200];
  std::snprintf(buf, sizeof buf, "{\"variant\":%d,\"K\":%u,\"D\":%u,\"B\":%u,\"worstAbs\":%.3e,\"worstZeroRow\":%.3e}", variant, K, D, B, worst,
                worstZero);
  return buf;
}

int main() {
  std::string out = "{\"sgemm\":[";
  struct S { int m, n, k; float alpha, beta; bool transB; int off; };
  // Edges on every side, k = 1, k not a multiple of 4 or of the slab (scalar loads), many slabs
  // (pipeline wrap-around), an unaligned A (scalar path), beta 0 / non-zero / negative, B^T.
  const S cases[] = {
      {1, 1, 1, 1, 0, false, 0},      {3, 5, 7, 0.5f, -2, false, 0},  {130, 129, 17, 1, 0, false, 0}, {256, 260, 64, 1, 0.5f, false, 0},
      {128, 128, 16, 2, 0, false, 1}, {385, 2, 300, 1, 0, false, 0},  {2, 300, 33, 1, 1, false, 0},   {130, 136, 40, 1, 0, true, 0},
      {37, 1000, 37, 1, 0, true, 0},  {300, 140, 9, -1, 3, false, 0}, {70, 67, 1, 1, 0.25f, false, 0}, {200, 136, 96, 1, 0.25f, false, 0},
      {129, 131, 50, 1, -1, true, 1}, {64, 260, 1, 1, 0, true, 0},
      // k long enough for split-k slices (the last one short), on both load paths and B^T.
      {70, 132, 1100, 1, 0.5f, false, 0}, {33, 64, 1037, -1, 0, true, 0},
      // More tile-rows than a raster group (8), the last group partial.
      {1300, 260, 8, 1, 0.5f, false, 0},
  };
  const int variants = sgemmVariantCount();
  bool first = true;
  for (int variant = 0; variant < variants; ++variant)
    for (const S& c : cases) {
      char buf[240];
      std::snprintf(buf, sizeof buf, "%s{\"variant\":%d,\"m\":%d,\"n\":%d,\"k\":%d,\"transB\":%s,\"offset\":%d,\"worstOverTol\":%.4f}", first ? "" : ",",
                    variant, c.m, c.n, c.k, c.transB ? "true" : "false", c.off, sgemmCase(c.m, c.n, c.k, c.alpha, c.beta, c.transB, c.off, variant));
      out += buf;
      first = false;
    }
  // beta = 0 must not read C (C starts as NaN), on every variant; scale handles alpha = 0.
  bool betaZeroOk = true;
  for (int variant = 0; variant < variants; ++variant) {
    std::vector<float> Cn(16, NAN), A1(16, 1.0f), B1(20, 1.0f);
    launchSgemm(4, 4, 4, 1.0f, A1.data(), B1.data(), false, 0.0f, Cn.data(), nullptr, variant);
    betaZeroOk = betaZeroOk && std::all_of(Cn.begin(), Cn.end(), [](float v) { return v == 4.0f; });
    std::vector<float> Ct(15, NAN);
    launchSgemm(3, 5, 4, 1.0f, A1.data(), B1.data(), true, 0.0f, Ct.data(), nullptr, variant);
    betaZeroOk = betaZeroOk && std::all_of(Ct.begin(), Ct.end(), [](float v) { return v == 4.0f; });
  }
  std::vector<float> Cs(16, 3.0f);
  launchScale(Cs.data(), Cs.size(), 2.0f, nullptr);
  bool scaleOk = std::all_of(Cs.begin(), Cs.end(), [](float v) { return v == 6.0f; });
  std::vector<float> one(1, 1.0f), cOne(1, 0.0f);
  const bool unknownRejected = launchSgemm(1, 1, 1, 1.0f, one.data(), one.data(), false, 0.0f, cOne.data(), nullptr, variants) != gpuSuccess &&
                               launchSgemm(1, 1, 1, 1.0f, one.data(), one.data(), false, 0.0f, cOne.data(), nullptr, -1) != gpuSuccess && cOne[0] == 0.0f;
  out += std::string("],\"betaZeroIgnoresC\":") + (betaZeroOk ? "true" : "false") + ",\"scaleOk\":" + (scaleOk ? "true" : "false");
  out += std::string(",\"unknownVariantRejected\":") + (unknownRejected ? "true" : "false");
  out += ",\"variants\":[";
  for (int variant = 0; variant < variants; ++variant) out += std::string(variant ? "," : "") + "\"" + sgemmVariantName(variant) + "\"";
  out += "]";
  out += ",\"rolling\":[" + rollingCase(20000, 1) + "," + rollingCase(20000, 3) + "," + rollingCase(20000, 100) + "," + rollingCase(300000, 1000) + "," +
         rollingCase(20000, 4000) + "]";
  out += ",\"scores\":[";
  for (int variant = 0; variant < variants; ++variant)
    out += (variant ? "," : "") + scoresCase(300, 37, 9, variant) + "," + scoresCase(129, 64, 130, variant);
  out += "]";
  // Monte Carlo: losses for a fixed problem, compared in TypeScript with the oracle's Philox draw.
  const uint32_t F = 6, paths = 1000, horizon = 2, seedLo = 0x89abcdef, seedHi = 0x01234567;
  const double v[F] = {0.5, -1.25, 2.0, 0.001, -3.0, 1.0};
  std::vector<double> losses(paths);
  launchMonteCarloLosses(v, F, paths, horizon, seedLo, seedHi, 0.125, losses.data(), nullptr);
  out += ",\"monteCarlo\":{\"F\":6,\"paths\":1000,\"horizon\":2,\"seedLo\":" + std::to_string(seedLo) + ",\"seedHi\":" + std::to_string(seedHi) +
         ",\"drift\":0.125,\"v\":[0.5,-1.25,2.0,0.001,-3.0,1.0],\"losses\":[";
  for (uint32_t p = 0; p < paths; ++p) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s%.17g", p ? "," : "", losses[p]);
    out += buf;
  }
  out += "]}";
  out += ",\"asyncLeftover\":" + std::to_string(cwts_emu::asyncLeftover) + "}";
  std::puts(out.c_str());
  return 0;
}
