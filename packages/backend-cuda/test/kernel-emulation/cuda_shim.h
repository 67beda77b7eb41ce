// A CPU emulation of the CUDA execution model, enough to run native/kernels.cu on the host in
// tests (no GPU in CI). The blockDim.x threads of a block are fibers (ucontext) on one OS thread:
// each runs until its next __syncthreads or its end, and a barrier round ends when every fiber
// got there, which is the barrier's meaning. Blocks run one after another, so static storage
// stands in for __shared__. It checks the kernels' indexing, tiling, barriers and arithmetic,
// not their speed.
#pragma once
#include <ucontext.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct float4 { float x, y, z, w; };
struct uint4 { uint32_t x, y, z, w; };
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
inline uint4 make_uint4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return {a, b, c, d}; }

inline dim3 threadIdx, blockIdx, blockDim, gridDim;
namespace cwts_emu {
inline ucontext_t scheduler;
inline ucontext_t* running = nullptr;
inline std::function<void()>* body = nullptr;
inline void trampoline() { (*body)(); }
}  // namespace cwts_emu
namespace cwts_emu {
inline bool barrierHit = false;
}
inline void __syncthreads() {
  cwts_emu::barrierHit = true;
  swapcontext(cwts_emu::running, &cwts_emu::scheduler);
}
inline uint32_t __umulhi(uint32_t a, uint32_t b) { return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32); }
inline float __int_as_float(int i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}
using std::isfinite;

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

typedef int gpuError_t;
typedef void* gpuStream_t;
#define gpuSuccess 0
#define gpuErrorInvalidValue 1
#define gpuErrorMemoryAllocation 2
inline gpuError_t gpuGetLastError() { return gpuSuccess; }

namespace cwts_emu {
template <class... P>
struct Launch {
  void (*fn)(P...);
  dim3 grid, block;
  template <class... A>
  void operator()(A... args) const {
    constexpr size_t kStack = 256 * 1024;
    struct Fiber {
      ucontext_t ctx;
      std::unique_ptr<char[]> stack;
      bool done;
    };
    std::vector<Fiber> fibers(block.x);
    for (auto& f : fibers) f.stack.reset(new char[kStack]);
    std::function<void()> run = [&]() { fn(static_cast<P>(args)...); };
    body = &run;
    blockDim = block;
    gridDim = grid;
    for (unsigned by = 0; by < grid.y; ++by) {
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        blockIdx = dim3(bx, by);
        for (auto& f : fibers) {
          getcontext(&f.ctx);
          f.ctx.uc_stack.ss_sp = f.stack.get();
          f.ctx.uc_stack.ss_size = kStack;
          f.ctx.uc_link = &scheduler;
          makecontext(&f.ctx, trampoline, 0);
          f.done = false;
        }
        // Round-robin: a fiber that returns to the scheduler without having finished is waiting
        // at a barrier; one that finished returns through uc_link. Rounds until all are done.
        for (bool pending = true; pending;) {
          pending = false;
          for (unsigned t = 0; t < block.x; ++t) {
            Fiber& f = fibers[t];
            if (f.done) continue;
            threadIdx = dim3(t);
            running = &f.ctx;
            f.done = true;  // cleared below if it yielded at a barrier
            barrierHit = false;
            swapcontext(&scheduler, &f.ctx);
            if (barrierHit) {
              f.done = false;
              pending = true;
            }
          }
        }
      }
    }
  }
};
template <class... P>
Launch<P...> launcher(void (*fn)(P...), dim3 grid, dim3 block) {
  return Launch<P...>{fn, grid, block};
}
}  // namespace cwts_emu

#define CWTS_LAUNCH(kernel, grid, block, stream) ::cwts_emu::launcher(kernel, dim3(grid), dim3(block))
