// Context, part 5 of 5 (see context.h): the kernels of the compute contract. Each records its
// inputs, dispatches and read-backs into one submission; host-side tails (top-k selection, the
// VaR quantile) run on the completion thread, never on the JS thread.

#include "context.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

namespace cwtsvk {

Napi::Value Context::Noop(const Napi::CallbackInfo& info) {
  return record(info.Env(), [&](Sub* s) { dispatch(s, K_NOOP, {}, nullptr, 0, 1); });
}

uint32_t Context::groupsFor(uint64_t items, uint32_t per, int axis) {
  uint64_t g = (items + per - 1) / per;
  if (g == 0) g = 1;
  return (uint32_t)std::min<uint64_t>(g, maxGroups_[axis]);
}

void Context::requireLoopBudget(Napi::Env env, uint64_t iterations, const std::string& what) {
  if (loopBudget_ == 0 || iterations <= loopBudget_) return;
  throw makeError(env,
                  what + " is past what this device runs in one shader invocation: it ends every loop after " +
                      std::to_string(kLlvmpipeLoopLimit) + " loop iterations per invocation (llvmpipe), and this call needs " +
                      std::to_string(iterations) + " (the backend allows " + std::to_string(loopBudget_) + ")",
                  "VULKAN_BAD_ARGUMENT");
}

void Context::normalize(Sub* s, Buf* src, Buf* dst, uint32_t rows, uint32_t dim, bool transposed) {
  if (dim <= kRowsVariantMaxDim) {
    uint32_t push[4] = {rows, dim, transposed ? 1u : 0u, 0};
    dispatch(s, K_NORMROWS, {src, dst}, push, sizeof push, groupsFor(rows, wg_));
    return;
  }
  uint32_t gx = std::min<uint32_t>(rows, maxGroups_[0]);
  uint32_t gy = (rows + gx - 1) / gx;
  uint32_t push[4] = {rows, dim, transposed ? 1u : 0u, gx};
  dispatch(s, K_NORMALIZE, {src, dst}, push, sizeof push, gx, gy);
}

// patternScores(stored, K, D, queries, B, topK, outIdx, outScores, allScores|undefined)
Napi::Value Context::PatternScores(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t K = info[1].As<Napi::Number>().Uint32Value(), D = info[2].As<Napi::Number>().Uint32Value();
  uint32_t B = info[4].As<Napi::Number>().Uint32Value(), topK = info[5].As<Napi::Number>().Uint32Value();
  if ((B + scoresQb_ - 1) / scoresQb_ > maxGroups_[1]) throw makeError(env, "too many queries for one call", "VULKAN_BAD_ARGUMENT");
  // Loop budget (loopBudget_): long rows are normalised one workgroup per row, 4 loops of
  // D / workgroup-size steps per invocation (+ the reductions); the scores split D into
  // dispatches of scores_drange.spv when one invocation's grid steps x D would not fit.
  if (D > kRowsVariantMaxDim) requireLoopBudget(env, 4ull * ((D + normWg_ - 1) / normWg_) + 256, "dim = " + std::to_string(D));
  const uint64_t scoresGridSteps = ((uint64_t)K + (uint64_t)groupsFor(K, wg_) * wg_ - 1) / ((uint64_t)groupsFor(K, wg_) * wg_);
  const uint32_t scoresDChunk =
      loopBudget_ ? (uint32_t)std::max<uint64_t>(1, std::min<uint64_t>(D, (loopBudget_ - 64) / scoresGridSteps - 16)) : D;
  Buf* freshCache = nullptr;
  uint32_t cacheId = 0;
  uint64_t cacheVersion = 0;
  Napi::Value r;
  try {
  r = record(env, [&](Sub* s) {
    Buf* snT = nullptr;
    size_t storedBytes = (size_t)K * D * 4;
    if (info[0].IsNumber()) {
      cacheId = info[0].As<Napi::Number>().Uint32Value();
      Buf* sb = userBuf(env, cacheId);
      cacheVersion = sb->version;
      if (normCache_.data && normCache_.id == cacheId && normCache_.version == sb->version && normCache_.K == K && normCache_.D == D) {
        snT = normCache_.data;  // the resident pattern store was normalised by an earlier call
        sb->lastUse = s->serial;
      }
    }
    if (!snT) {
      Buf* src = input(env, s, info[0], storedBytes, "stored");
      if (info[0].IsNumber()) {
        freshCache = allocBuf(storedBytes, false);
        snT = freshCache;
      } else {
        snT = acquireTemp(s, storedBytes, false);
      }
      normalize(s, src, snT, K, D, true);
    }
    snT->lastUse = s->serial;
    Buf* q = input(env, s, info[3], (size_t)B * D * 4, "queries");
    Buf* qn = acquireTemp(s, (size_t)B * D * 4, false);
    normalize(s, q, qn, B, D, false);
    Buf* scores = output(s, (size_t)B * K * 4);
    if (scoresDChunk >= D) {
      uint32_t push[3] = {K, D, B};
      dispatch(s, K_SCORES, {snT, qn, scores}, push, sizeof push, groupsFor(K, wg_), (B + scoresQb_ - 1) / scoresQb_);
    } else {
      for (uint64_t d0 = 0; d0 < D; d0 += scoresDChunk) {
        uint32_t push[5] = {K, D, B, (uint32_t)d0, (uint32_t)std::min<uint64_t>(scoresDChunk, D - d0)};
        dispatch(s, K_SCORES_DRANGE, {snT, qn, scores}, push, sizeof push, groupsFor(K, wg_), (B + scoresQb_ - 1) / scoresQb_);
      }
    }
    readBack(s, scores, (size_t)B * K * 4, info[8].IsTypedArray() ? info[8] : Napi::Value(), 0, false, "allScores");
    // The top-k is selected on the completion thread into addon memory (dsts[..].data) and
    // copied into the JS arrays on the JS thread (finalize), never written there from here.
    const int di = jsOutput(s, info[6], (size_t)B * topK * 4, "out.indices");
    const int ds = jsOutput(s, info[7], (size_t)B * topK * 4, "out.scores");
    s->host = [this, s, K, B, topK, di, ds]() {
      const float* sc = reinterpret_cast<const float*>(hostView(s->outs[0]));
      s->dsts[(size_t)di].data.resize((size_t)B * topK * 4);
      s->dsts[(size_t)ds].data.resize((size_t)B * topK * 4);
      int32_t* outIdx = reinterpret_cast<int32_t*>(s->dsts[(size_t)di].data.data());
      float* outScores = reinterpret_cast<float*>(s->dsts[(size_t)ds].data.data());
      std::vector<int32_t> idx(K);
      for (uint32_t b = 0; b < B; ++b) {
        const float* row = sc + (size_t)b * K;
        std::iota(idx.begin(), idx.end(), 0);
        auto key = [row](int32_t i) { float v = row[i]; return std::isnan(v) ? -INFINITY : v; };
        auto cmp = [&](int32_t a, int32_t c) {
          float x = key(a), y = key(c);
          return x > y || (x == y && a < c);
        };
        if (topK < K) std::partial_sort(idx.begin(), idx.begin() + topK, idx.end(), cmp);
        else std::sort(idx.begin(), idx.end(), cmp);
        for (uint32_t j = 0; j < topK; ++j) {
          outIdx[(size_t)b * topK + j] = idx[j];
          outScores[(size_t)b * topK + j] = row[idx[j]];
        }
      }
    };
  });
  } catch (...) {
    if (freshCache) freeBuf(freshCache);  // never submitted
    throw;
  }
  if (freshCache) {  // submitted: install the normalised copy of the resident store
    if (normCache_.data) retire(normCache_.data);
    normCache_ = NormCache{cacheId, cacheVersion, K, D, freshCache};
  }
  return r;
}

// rollingMoments(series, N, W, outMean, outVar)
Napi::Value Context::RollingMoments(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t N = info[1].As<Napi::Number>().Uint32Value(), W = info[2].As<Napi::Number>().Uint32Value();
  uint32_t M = N - W + 1;
  // Runs of CH outputs per invocation slide the window (O(1) per output); CH = 1 is the
  // plain two-pass per window, used for short windows.
  uint32_t ch = W >= 8 ? 32u : 1u;
  KernelId kernel = K_ROLLING;
  if (loopBudget_) {
    // Worst case per invocation (rolling.comp): for each run it owns (grid-stride: one until
    // the grid of maxComputeWorkGroupCount x workgroup invocations is full), the run's steps, 4
    // window loops for its first window and 3 for every later one that is recomputed, each
    // `windowLoop` iterations: W with plain loops, W / 16 + W % 16 unrolled.
    auto worstCase = [&](uint64_t runLength, uint64_t windowLoop) {
      const uint64_t runs = ((uint64_t)M + runLength - 1) / runLength;
      const uint64_t grid = (uint64_t)groupsFor(runs, wg_) * wg_;
      const uint64_t gridSteps = (runs + grid - 1) / grid;
      return gridSteps * (2 + runLength + (3 * runLength + 1) * windowLoop) + 8;
    };
    if (worstCase(ch, W) > loopBudget_) {
      // Long windows: the unrolled loops, and the longest run that fits.
      kernel = K_ROLLING_UNROLLED;
      const uint64_t windowLoop = W / 16 + W % 16;
      while (ch > 1 && worstCase(ch, windowLoop) > loopBudget_) --ch;
      requireLoopBudget(env, worstCase(ch, windowLoop), "window = " + std::to_string(W));
    }
  }
  return record(env, [&](Sub* s) {
    Buf* src = input(env, s, info[0], (size_t)N * 4, "series");
    Buf* om = output(s, (size_t)M * 4);
    Buf* ov = output(s, (size_t)M * 4);
    uint32_t push[3] = {M, W, ch};
    dispatch(s, kernel, {src, om, ov}, push, sizeof push, groupsFor((M + ch - 1) / ch, wg_));
    readBack(s, om, (size_t)M * 4, info[3], 0, false, "out.mean");
    readBack(s, ov, (size_t)M * 4, info[4], 0, false, "out.variance");
  });
}

// sgemm(m, n, k, alpha, beta, a, b, c, cIn?): a host `c` receives the result; C is read (beta != 0)
// from `cIn` when given (the caller's copy of `c` taken at the call's turn, src/call-order.ts).
Napi::Value Context::Sgemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t M = info[0].As<Napi::Number>().Uint32Value(), N = info[1].As<Napi::Number>().Uint32Value(), K = info[2].As<Napi::Number>().Uint32Value();
  float alpha = info[3].As<Napi::Number>().FloatValue(), beta = info[4].As<Napi::Number>().FloatValue();
  uint32_t gx = (N + sgemmTx_ * 4 - 1) / (sgemmTx_ * 4), gy = (M + sgemmTy_ * 4 - 1) / (sgemmTy_ * 4);
  if (gx > maxGroups_[0] || gy > maxGroups_[1]) throw makeError(env, "sgemm: matrix too large for one dispatch", "VULKAN_BAD_ARGUMENT");
  // Loop budget (loopBudget_): k in chunks, each a dispatch accumulating into C (beta = 1 after
  // the first). 16384 k steps are 16384 iterations of sgemm_direct's loop, or 1024 tiles of
  // sgemm.comp at <= 33 iterations each; the split adds one pass over C per chunk.
  const uint32_t kChunk = loopBudget_ ? 16384u : K;
  return record(env, [&](Sub* s) {
    const KernelId kernel = sgemmDirect_ ? K_SGEMM_DIRECT : K_SGEMM;
    Buf* C;
    size_t cBytes = (size_t)M * N * 4;
    if (info[7].IsNumber()) {
      C = input(env, s, info[7], cBytes, "c");
      C->version++;
    } else {
      C = beta != 0.0f ? input(env, s, info[8].IsTypedArray() ? info[8] : info[7], cBytes, "c") : output(s, cBytes);
      readBack(s, C, cBytes, info[7], 0, false, "c");
    }
    struct { uint32_t m, n, k; float alpha, beta; uint32_t k0, kc; } push{M, N, K, alpha, beta, 0, 0};
    if (alpha == 0.0f) {
      // BLAS: alpha = 0 reads neither A nor B (0 x NaN must not reach C): C = beta C with no k
      // range (kc = 0). A and B are not even moved; C stands in for their bindings.
      dispatch(s, kernel, {C, C, C}, &push, sizeof push, std::max(gx, 1u), std::max(gy, 1u));
      return;
    }
    Buf* A = input(env, s, info[5], (size_t)M * K * 4, "a");
    Buf* Bm = input(env, s, info[6], (size_t)K * N * 4, "b");
    for (uint64_t k0 = 0; k0 < K; k0 += kChunk) {  // 64-bit: k0 + kChunk must not wrap
      push.k0 = (uint32_t)k0;
      push.kc = (uint32_t)std::min<uint64_t>(kChunk, K - k0);
      push.beta = k0 == 0 ? beta : 1.0f;
      dispatch(s, kernel, {A, Bm, C}, &push, sizeof push, std::max(gx, 1u), std::max(gy, 1u));
    }
  });
}

// monteCarlo(v: Float32Array(F), F, paths, horizon, seedLo, seedHi, hm, confidence)
//   -> { var, cvar, meanLoss, stdLoss, stdLossSample }
Napi::Value Context::MonteCarlo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t F = info[1].As<Napi::Number>().Uint32Value(), P = info[2].As<Napi::Number>().Uint32Value(), H = info[3].As<Napi::Number>().Uint32Value();
  uint32_t lo = info[4].As<Napi::Number>().Uint32Value(), hi = info[5].As<Napi::Number>().Uint32Value();
  double hm = info[6].As<Napi::Number>().DoubleValue(), conf = info[7].As<Napi::Number>().DoubleValue();
  struct Out { double var = 0, cvar = 0, mean = 0, sd = 0, sds = 0; };
  auto out = std::make_shared<Out>();
  // Loop budget (loopBudget_): an invocation runs its grid steps x (1 + ceil(F / 4)) iterations
  // per horizon step; the horizon is split into dispatches of as many steps as fit.
  const uint64_t mcGroups = groupsFor(P, wg_);
  const uint64_t mcGridSteps = ((uint64_t)P + mcGroups * wg_ - 1) / (mcGroups * wg_);
  const uint64_t perHorizonStep = mcGridSteps * (1 + ((uint64_t)F + 3) / 4);
  requireLoopBudget(env, 16 + perHorizonStep, "factors = " + std::to_string(F));
  const uint32_t stepsPerDispatch = loopBudget_ ? (uint32_t)std::min<uint64_t>(H, (loopBudget_ - 16) / perHorizonStep) : H;
  return record(env, [&](Sub* s) {
    Buf* V = input(env, s, info[0], (size_t)std::max<uint32_t>(F, 1) * 4, "factor^T weights");
    Buf* S = output(s, (size_t)P * 4);
    for (uint64_t t0 = 0; t0 < H; t0 += stepsPerDispatch) {  // 64-bit: t0 + steps must not wrap
      uint32_t push[6] = {P, (uint32_t)std::min<uint64_t>(stepsPerDispatch, H - t0), F, lo, hi, (uint32_t)t0};
      dispatch(s, K_MCVAR, {V, S}, push, sizeof push, (uint32_t)mcGroups);
    }
    readBack(s, S, (size_t)P * 4, Napi::Value());
    s->host = [this, s, P, hm, conf, out]() {
      const float* sums = reinterpret_cast<const float*>(hostView(s->outs[0]));
      std::vector<double> loss(P);
      double sum = 0;
      for (uint32_t p = 0; p < P; ++p) {
        loss[p] = -(hm + (double)sums[p]);
        sum += loss[p];
      }
      double mean = sum / P, ss = 0;
      for (double x : loss) ss += (x - mean) * (x - mean);
      int64_t idx = (int64_t)std::ceil(conf * (double)P) - 1;
      idx = std::max<int64_t>(0, std::min<int64_t>(idx, (int64_t)P - 1));
      std::nth_element(loss.begin(), loss.begin() + idx, loss.end());
      double tail = 0;
      for (size_t i = (size_t)idx; i < P; ++i) tail += loss[i];
      out->var = loss[idx];
      out->cvar = tail / (double)(P - idx);
      out->mean = mean;
      out->sd = std::sqrt(ss / P);
      out->sds = P > 1 ? std::sqrt(ss / (P - 1)) : 0.0;
    };
    s->result = [out](Napi::Env e) -> Napi::Value {
      Napi::Object o = Napi::Object::New(e);
      o.Set("var", out->var);
      o.Set("cvar", out->cvar);
      o.Set("meanLoss", out->mean);
      o.Set("stdLoss", out->sd);
      o.Set("stdLossSample", out->sds);
      return o;
    };
  });
}

}  // namespace cwtsvk
