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
// Fibers. On x86-64 a minimal switch of the callee-saved registers and the stack pointer (no
// system call: ucontext's swapcontext saves the signal mask with one, which made the emulation
// of barrier-heavy kernels slow); elsewhere ucontext. The symbol is weak: every translation
// unit that includes this header emits it.
constexpr size_t kStack = 64 * 1024;
inline char* stackFor(unsigned t) {
  static std::vector<std::unique_ptr<char[]>> stacks;
  while (stacks.size() <= t) stacks.emplace_back(new char[kStack]);
  return stacks[t].get();
}
inline std::function<void()>* body = nullptr;
inline bool barrierHit = false;
inline bool finished = false;

#if defined(__x86_64__)
extern "C" void cwts_emu_switch(void** save, void* load);
asm(R"(
.text
.weak cwts_emu_switch
.hidden cwts_emu_switch
.type cwts_emu_switch,@function
cwts_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size cwts_emu_switch, .-cwts_emu_switch
.section .note.GNU-stack,"",@progbits
.text
)");
struct Fiber {
  void* sp = nullptr;
};
inline void* schedulerSp = nullptr;
inline Fiber* current = nullptr;
[[noreturn]] inline void fiberEntry() {
  (*body)();
  finished = true;
  cwts_emu_switch(&current->sp, schedulerSp);
  __builtin_unreachable();
}
inline void start(Fiber& f, char* stack) {
  uintptr_t top = (reinterpret_cast<uintptr_t>(stack) + kStack) & ~uintptr_t(15);
  void** p = reinterpret_cast<void**>(top);
  *--p = nullptr;                                          // fiberEntry's (absent) return address
  *--p = reinterpret_cast<void*>(&fiberEntry);             // where the first switch "returns"
  for (int i = 0; i < 6; ++i) *--p = nullptr;              // rbp rbx r12 r13 r14 r15
  f.sp = p;
}
inline void resume(Fiber& f) {
  current = &f;
  cwts_emu_switch(&schedulerSp, f.sp);
}
inline void yieldToScheduler() { cwts_emu_switch(&current->sp, schedulerSp); }
#else
struct Fiber {
  ucontext_t ctx;
};
inline ucontext_t scheduler;
inline Fiber* current = nullptr;
inline void fiberEntry() {
  (*body)();
  finished = true;
}
inline void start(Fiber& f, char* stack) {
  getcontext(&f.ctx);
  f.ctx.uc_stack.ss_sp = stack;
  f.ctx.uc_stack.ss_size = kStack;
  f.ctx.uc_link = &scheduler;
  makecontext(&f.ctx, fiberEntry, 0);
}
inline void resume(Fiber& f) {
  current = &f;
  swapcontext(&scheduler, &f.ctx);
}
inline void yieldToScheduler() { swapcontext(&current->ctx, &scheduler); }
#endif
}  // namespace cwts_emu

inline void __syncthreads() {
  cwts_emu::barrierHit = true;
  cwts_emu::yieldToScheduler();
}
// Blocks and threads run one at a time on one OS thread: a plain add is atomic here.
inline float atomicAdd(float* p, float v) {
  const float old = *p;
  *p = old + v;
  return old;
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
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

typedef int gpuError_t;
typedef void* gpuStream_t;
#define gpuSuccess 0
#define gpuErrorInvalidValue 1
#define gpuErrorMemoryAllocation 2
inline gpuError_t gpuGetLastError() { return gpuSuccess; }

// cp.async (sm_80+ global -> shared copies), as the kernels use it through copyAsync*/
// asyncCommit/asyncWait: a copy reads global memory when issued (inputs do not change during a
// kernel) but lands in shared memory only when its thread waits for its commit group, so a
// kernel that reads a stage before waiting, or before the barrier after the other threads'
// waits, reads stale data and fails. Copies with valid == false zero-fill, as a source size of
// 0 does. Copies still pending at a block's end are counted in asyncLeftover (a kernel bug).
namespace cwts_emu {
struct PendingCopy {
  void* dst;
  unsigned char bytes[16];
  unsigned n;
};
struct AsyncThread {
  std::vector<PendingCopy> open;                 // issued, not yet committed
  std::vector<std::vector<PendingCopy>> groups;  // committed, oldest first
};
inline std::vector<AsyncThread> asyncThreads;
inline size_t asyncLeftover = 0;
inline void asyncCopy(void* dst, const void* src, unsigned bytes, bool valid) {
  PendingCopy p{dst, {}, bytes};
  if (valid) std::memcpy(p.bytes, src, bytes);
  asyncThreads[threadIdx.x].open.push_back(p);
}
inline void asyncCommit() {
  AsyncThread& t = asyncThreads[threadIdx.x];
  t.groups.push_back(std::move(t.open));
  t.open.clear();
}
inline void asyncWait(int pending) {
  AsyncThread& t = asyncThreads[threadIdx.x];
  while (static_cast<int>(t.groups.size()) > pending) {
    for (const PendingCopy& p : t.groups.front()) std::memcpy(p.dst, p.bytes, p.n);
    t.groups.erase(t.groups.begin());
  }
}
inline void asyncBlockStart(unsigned threads) { asyncThreads.assign(threads, AsyncThread{}); }
inline void asyncBlockEnd() {
  for (const AsyncThread& t : asyncThreads) {
    asyncLeftover += t.open.size();
    for (const auto& g : t.groups) asyncLeftover += g.size();
  }
}
}  // namespace cwts_emu

namespace cwts_emu {
template <class... P>
struct Launch {
  void (*fn)(P...);
  dim3 grid, block;
  template <class... A>
  void operator()(A... args) const {
    std::vector<Fiber> fibers(block.x);
    std::vector<char> done(block.x);
    std::function<void()> run = [&]() { fn(static_cast<P>(args)...); };
    body = &run;
    blockDim = block;
    gridDim = grid;
    for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by) {
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        blockIdx = dim3(bx, by, bz);
        for (unsigned t = 0; t < block.x; ++t) {
          start(fibers[t], stackFor(t));
          done[t] = 0;
        }
        asyncBlockStart(block.x);
        // Round-robin: each fiber runs to its next barrier or its end; rounds until all ended.
        for (bool pending = true; pending;) {
          pending = false;
          for (unsigned t = 0; t < block.x; ++t) {
            if (done[t]) continue;
            threadIdx = dim3(t);
            barrierHit = false;
            finished = false;
            resume(fibers[t]);
            if (finished) done[t] = 1;
            else pending = true;
          }
        }
        asyncBlockEnd();
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

// ------------------------------------------------------------------------------ runtime
// A host-memory stand-in for the CUDA runtime, so the whole addon (native/addon.cpp: buffers,
// pinned staging pools, completions, error paths) builds and runs in tests without a GPU.
// "Device" memory is host memory; stream operations run when enqueued, which preserves stream
// order; events are complete as soon as recorded.
#include <cstdlib>
#define GPU_API_NAME "CUDA"
#define GPU_CODE_PREFIX "CUDA"
typedef int gpuEvent_t_;
typedef int* gpuEvent_t;
struct gpuDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  int multiProcessorCount, major, minor, warpSize;
  size_t sharedMemPerBlock;
  int l2CacheSize, memoryBusWidth, integrated;
};
enum gpuMemcpyKind { gpuMemcpyHostToDevice, gpuMemcpyDeviceToHost, gpuMemcpyDeviceToDevice };
#define gpuStreamNonBlocking 1
#define gpuEventDisableTiming 2
#define gpuEventDefault 0
namespace cwts_emu {
inline const size_t kDeviceBytes = size_t(1) << 30;  // the emulated device's memory
inline void* alloc(size_t n) {
  if (n > kDeviceBytes) return nullptr;
  return std::aligned_alloc(256, (n + 255) / 256 * 256);
}
}  // namespace cwts_emu
inline const char* gpuGetErrorName(gpuError_t e) { return e == 0 ? "cudaSuccess" : e == 2 ? "cudaErrorMemoryAllocation" : "cudaErrorInvalidValue"; }
inline const char* gpuGetErrorString(gpuError_t e) { return e == 0 ? "no error" : e == 2 ? "out of memory" : "invalid argument"; }
inline gpuError_t gpuGetDeviceCount(int* n) { *n = 1; return gpuSuccess; }
inline gpuError_t gpuGetDeviceProperties(gpuDeviceProp* p, int) {
  *p = gpuDeviceProp{};
  std::strcpy(p->name, "CPU emulation of a CUDA device");
  p->totalGlobalMem = cwts_emu::kDeviceBytes;
  p->multiProcessorCount = 1; p->major = 9; p->minor = 0; p->warpSize = 32; p->sharedMemPerBlock = 49152;
  return gpuSuccess;
}
inline gpuError_t gpuSetDevice(int) { return gpuSuccess; }
inline gpuError_t gpuDriverGetVersion(int* v) { *v = 13000; return gpuSuccess; }
inline gpuError_t gpuRuntimeGetVersion(int* v) { *v = 13000; return gpuSuccess; }
inline gpuError_t gpuMalloc(void** p, size_t n) { *p = cwts_emu::alloc(n); return *p ? gpuSuccess : gpuErrorMemoryAllocation; }
inline gpuError_t gpuFree(void* p) { std::free(p); return gpuSuccess; }
inline gpuError_t gpuHostAlloc(void** p, size_t n) { *p = cwts_emu::alloc(n); return *p ? gpuSuccess : gpuErrorMemoryAllocation; }
inline gpuError_t gpuFreeHost(void* p) { std::free(p); return gpuSuccess; }
inline gpuError_t gpuMemcpyAsync(void* d, const void* s, size_t n, gpuMemcpyKind, gpuStream_t) { std::memmove(d, s, n); return gpuSuccess; }
inline gpuError_t gpuMemsetAsync(void* d, int v, size_t n, gpuStream_t) { std::memset(d, v, n); return gpuSuccess; }
inline gpuError_t gpuStreamCreateWithFlags(gpuStream_t* s, unsigned) { *s = new int(0); return gpuSuccess; }
inline gpuError_t gpuStreamDestroy(gpuStream_t s) { delete static_cast<int*>(s); return gpuSuccess; }
inline gpuError_t gpuStreamSynchronize(gpuStream_t) { return gpuSuccess; }
inline gpuError_t gpuEventCreateWithFlags(gpuEvent_t* e, unsigned) { *e = new int(0); return gpuSuccess; }
inline gpuError_t gpuEventRecord(gpuEvent_t, gpuStream_t) { return gpuSuccess; }
inline gpuError_t gpuEventSynchronize(gpuEvent_t) { return gpuSuccess; }
inline gpuError_t gpuEventElapsedTime(float* ms, gpuEvent_t, gpuEvent_t) { *ms = 0; return gpuSuccess; }
inline gpuError_t gpuEventDestroy(gpuEvent_t e) { delete e; return gpuSuccess; }
