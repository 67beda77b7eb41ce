// @cwts/backend-vulkan native addon: a Vulkan compute context exposed to JS.
//
// This header holds the one class, Context, that every file below implements a part of. The
// class stays whole (one object owns the device, its queue, pools and completion thread, and
// they must be torn down together), but its code is split by job so each file can be read
// alone:
//   devices.cpp / vk_loader.cpp  the Vulkan loader (dlopen) and instance, device enumeration
//   context_device.cpp           opening a device: queue, memory types, limits; teardown
//   context_pipelines.cpp        SPIR-V, pipeline cache, descriptor layouts, compute pipelines
//   context_buffers.cpp          device buffers, the temporary pool, host <-> device transfers
//   context_submit.cpp           recording, submission, the completion thread, device loss
//   context_ops.cpp              the kernels of the compute contract (scores, rolling, sgemm, VaR)
//   binding.cpp                  the N-API surface: class definition, probe(), module init
//
// Execution model
//  - Everything is recorded and submitted on the JS thread (command pool, descriptor pools and
//    the queue need external synchronisation; one thread owns them all). A call records one
//    command buffer (uploads of host arguments, dispatches, copies back) and submits it with a
//    fence; it never waits. A completion thread waits on the fences in submission order, runs
//    the host-side tail of the call (copy results into the JS arrays, top-k, VaR quantile) and
//    hands the submission back to the JS thread through a ThreadSafeFunction, which resolves
//    the Promise and recycles the command buffer, descriptor pool and temporary buffers.
//  - Every command buffer starts with a full memory barrier, so work submitted earlier on the
//    queue is ordered before it on the device while the host keeps submitting (host-side
//    staging copies and recording overlap device execution; calls pipeline).
//  - Host Float32Array arguments go through temporary buffers from a reuse pool. On devices
//    whose memory is host-visible and device-local (integrated GPUs, lavapipe) temporaries are
//    written and read in place; elsewhere through host-visible staging buffers and
//    vkCmdCopyBuffer.
//  - Device loss (from vkQueueSubmit or a fence), a hang past kernelTimeoutMs, or out of memory
//    at submit time mark the context lost: pending and later calls reject with code
//    VULKAN_DEVICE_LOST. Allocation failures reject or throw with code VULKAN_OUT_OF_MEMORY and
//    leave the context usable.
#pragma once

#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "devices.h"
#include "vk_loader.h"

// A named namespace (it was anonymous while all of this was one file): the parts of Context
// now live in several translation units and must link to each other.
namespace cwtsvk {

struct VkFailure : std::runtime_error {
  VkResult code;
  std::string jsCode;
  VkFailure(VkResult c, const std::string& what, const char* js = nullptr)
      : std::runtime_error(what), code(c), jsCode(js ? js : codeFor(c)) {}
  static const char* codeFor(VkResult c) {
    if (c == VK_ERROR_DEVICE_LOST) return "VULKAN_DEVICE_LOST";
    if (c == VK_ERROR_OUT_OF_DEVICE_MEMORY || c == VK_ERROR_OUT_OF_HOST_MEMORY) return "VULKAN_OUT_OF_MEMORY";
    return "VULKAN_ERROR";
  }
};

#define VK_CHECK(expr, what)                                                                        \
  do {                                                                                              \
    VkResult _r = (expr);                                                                           \
    if (_r != VK_SUCCESS) throw VkFailure(_r, std::string(what) + " failed: " + resultName(_r));    \
  } while (0)

inline Napi::Error makeError(Napi::Env env, const std::string& msg, const std::string& code) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

struct Buf {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize capacity = 0;
  size_t byteLength = 0;
  uint8_t* mapped = nullptr;  // persistently mapped when host-visible and coherent
  bool host = false;          // allocated as a staging/host temporary
  uint64_t lastUse = 0;       // serial of the last submission that used it
  uint64_t version = 0;       // bumped whenever its contents may change
};

struct Range {
  Buf* buf = nullptr;
};

struct PendingCopyOut {
  Buf* src;        // device temp or user buffer
  Buf* staging;    // host-visible staging (nullptr when src is mapped)
  VkDeviceSize srcOffset;
  size_t bytes;
  int dst = -1;    // index into Sub::dsts of the JS array that receives the bytes, or -1 (host work)
  bool snapshot = false;  // src is a mapped user buffer: copy it out on the completion thread
};

// A JS typed array that receives a call's results. It is written only on the JS thread, in
// finalize(), after checking that it is still attached and long enough: the caller may detach
// (transfer) its ArrayBuffer while the call is in flight, so no other thread ever holds a
// pointer into JS memory. The bytes come from a PendingCopyOut (`out` >= 0: its staging or
// mapped temporary, alive until finalize) or from `data` (host-side results, snapshots).
struct JsDst {
  Napi::ObjectReference ref;
  std::string what;
  size_t bytes = 0;
  int out = -1;
  std::vector<uint8_t> data;
};

struct Sub {
  VkCommandBuffer cb = VK_NULL_HANDLE;
  // The descriptor set of the last dispatch: a kernel split into several dispatches over the
  // same buffers (see Context::loopBudget_) binds it again instead of allocating one per
  // dispatch from the small per-submission pool.
  struct {
    uint32_t bindings = 0;
    Buf* bufs[3] = {};
    VkDescriptorSet set = VK_NULL_HANDLE;
  } lastSet;
  VkFence fence = VK_NULL_HANDLE;
  VkDescriptorPool dpool = VK_NULL_HANDLE;
  VkQueryPool qpool = VK_NULL_HANDLE;
  uint64_t serial = 0;
  std::vector<Buf*> temps;
  std::vector<PendingCopyOut> outs;
  std::vector<JsDst> dsts;                              // JS arrays written in finalize()
  std::function<void()> host;                           // completion thread, after the fence
  std::function<Napi::Value(Napi::Env)> result;         // JS thread
  std::unique_ptr<Napi::Promise::Deferred> deferred;
  std::vector<Napi::ObjectReference> refs;
  void* owner = nullptr;
  bool timed = false;
  bool dispatched = false;
  std::string error, errorCode;
  double gpuNs = -1;
};

struct Kernel {
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;
  uint32_t bindings = 0;
};

enum KernelId { K_NOOP, K_NORMALIZE, K_NORMROWS, K_SCORES, K_SCORES_DRANGE, K_ROLLING, K_ROLLING_UNROLLED, K_SGEMM, K_SGEMM_DIRECT, K_MCVAR, K_COUNT };

inline uint32_t floorPow2(uint32_t v) {
  uint32_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}


class Context : public Napi::ObjectWrap<Context> {
 public:
  // binding.cpp
  static Napi::Function Init(Napi::Env env);
  Context(const Napi::CallbackInfo& info);
  ~Context() override;

 private:
  // ---------------------------------------------------------------- state
  InstanceHandle inst_;
  DeviceInfo dev_;
  DeviceFns d{};
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  VkCommandPool cmdPool_ = VK_NULL_HANDLE;
  VkPipelineCache pcache_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout dsl_[4] = {};
  Kernel kernels_[K_COUNT];
  bool useSubgroupNormalize_ = false;
  bool sgemmDirect_ = false;
  VkPhysicalDeviceMemoryProperties memProps_{};
  int devType_ = -1, hostType_ = -1;
  bool directTemps_ = false;  // temporaries are host-visible device-local: no staging
  uint32_t wg_ = 64, normWg_ = 64, sgemmTx_ = 16, sgemmTy_ = 16, scoresQb_ = 8;
  uint32_t maxGroups_[3] = {65535, 65535, 65535};
  // Loop iterations one invocation may run, all its loops together; 0 = no limit. llvmpipe
  // (lavapipe) ends every loop of an invocation once the invocation has run 65535 loop
  // iterations in all (gallivm's LP_MAX_TGSI_LOOP_ITERATIONS: one counter per shader run,
  // decremented at every loop's back edge), silently: past it the results are wrong, not an
  // error. On CPU devices the kernels split their long loops (across dispatches, or unrolled
  // 16 values per iteration) to stay within 3/4 of that, and reject the shapes that cannot.
  uint32_t loopBudget_ = 0;
  static constexpr uint32_t kLlvmpipeLoopLimit = 65535;
  uint64_t maxBufferBytes_ = 0;
  uint64_t memoryLimit_ = 0, memoryInUse_ = 0;
  uint64_t kernelTimeoutNs_ = 60'000'000'000ull;
  float timestampPeriod_ = 1.0f;
  bool timestamps_ = false;

  std::unordered_map<uint32_t, Buf*> buffers_;
  uint32_t nextId_ = 1;
  std::multimap<VkDeviceSize, Buf*> freeHost_, freeDev_;
  uint64_t pooledBytes_ = 0;
  std::vector<Sub*> freeSubs_;
  std::vector<std::pair<uint64_t, Buf*>> deferredFree_;
  struct NormCache {
    uint32_t id = 0;
    uint64_t version = 0;
    uint32_t K = 0, D = 0;
    Buf* data = nullptr;
  } normCache_;

  uint64_t nextSerial_ = 1, completedSerial_ = 0;
  uint32_t inFlight_ = 0;
  double lastKernelNs_ = -1;
  std::atomic<uint32_t> validationMessages_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Sub*> queue_inflight_;
  bool stop_ = false;
  std::thread completer_;
  std::atomic<bool> lost_{false};
  std::string lostReason_;
  std::mutex lostMu_;
  Napi::ThreadSafeFunction tsfn_;
  bool tsfnReffed_ = false;
  bool destroyed_ = false;
  bool cleanupHook_ = false;
  napi_env env_ = nullptr;

  // ---------------------------------------------------------------- context_device.cpp
  static VKAPI_ATTR VkBool32 VKAPI_CALL debugCallback(VkDebugUtilsMessageSeverityFlagBitsEXT sev, VkDebugUtilsMessageTypeFlagsEXT,
                                                     const VkDebugUtilsMessengerCallbackDataEXT* data, void* user);
  void init(Napi::Env env, Napi::Object opts);
  static void cleanupHook(void* p);
  void teardown();
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Destroy(const Napi::CallbackInfo& info);

  // ---------------------------------------------------------------- context_pipelines.cpp
  void createPipelineCache(Napi::Object opts);
  void createKernels(const std::string& dir);
  std::vector<uint32_t> readSpirv(const std::string& path);
  void makeKernel(KernelId id, const std::string& path, uint32_t bindings, uint32_t pushBytes, std::vector<uint32_t> spec);
  Napi::Value PipelineCacheData(const Napi::CallbackInfo& info);

  // ---------------------------------------------------------------- context_buffers.cpp
  void freeBuf(Buf* b);
  Buf* allocBuf(size_t bytes, bool host, bool mapUserBuffer = false);
  /** A pooled temporary; host = host-visible (staging, or a direct temp on UMA devices). */
  Buf* acquireTemp(Sub* s, size_t bytes, bool host);
  void releaseTemp(Buf* b);
  void trimPool();
  void retire(Buf* b);
  Buf* userBuf(Napi::Env env, uint32_t id);
  /** A kernel input: a device buffer id (no transfer) or a Float32Array moved for the call. */
  Buf* input(Napi::Env env, Sub* s, Napi::Value v, size_t bytes, const char* what);
  /** A kernel output of `bytes`, readable on the host after completion (mapped, or staged). */
  Buf* output(Sub* s, size_t bytes);
  /**
   * After the kernels: make `src` readable from the host. `jsDst` (a typed array, or an empty
   * value for host work) receives a copy on the JS thread at completion; `userSrc` marks a user
   * buffer (its bytes are snapshotted on the completion thread, before later work can change them).
   */
  void readBack(Sub* s, Buf* src, size_t bytes, Napi::Value jsDst, VkDeviceSize srcOffset = 0, bool userSrc = false, const char* what = "output");
  /** A JS array that receives `bytes` of host-side results (written to Sub::dsts[i].data) at completion. */
  int jsOutput(Sub* s, Napi::Value jsDst, size_t bytes, const char* what);
  /** JS thread: copies every JsDst into its array; false (with the reason) when one was detached or shrank. */
  bool copyToJs(Napi::Env env, Sub* s, std::string* why);
  const uint8_t* hostView(const PendingCopyOut& o) const;
  /** The bytes of a JS typed array (a SharedArrayBuffer's too), valid during this JS call only. */
  static uint8_t* viewData(Napi::Value v, size_t* len);
  Napi::Value CreateBuffer(const Napi::CallbackInfo& info);
  Napi::Value FreeBuffer(const Napi::CallbackInfo& info);
  Napi::Value Upload(const Napi::CallbackInfo& info);
  Napi::Value Download(const Napi::CallbackInfo& info);
  Napi::Value Copy(const Napi::CallbackInfo& info);

  // ---------------------------------------------------------------- context_submit.cpp
  void checkAlive(Napi::Env env);
  void markLost(const std::string& why);
  Sub* begin(Napi::Env env);
  void barrier(Sub* s);
  void abort(Sub* s);
  void destroySub(Sub* s);
  void dispatch(Sub* s, KernelId id, std::initializer_list<Buf*> bufs, const void* push, uint32_t pushBytes, uint32_t gx, uint32_t gy = 1, uint32_t gz = 1);
  Napi::Value submit(Napi::Env env, Sub* s);
  void completerLoop();
  void finalize(Napi::Env env, Sub* s);
  Napi::Value resolved(Napi::Env env, Napi::Value v);
  void markStart(Sub* s);
  Napi::Value SimulateDeviceLost(const Napi::CallbackInfo& info);

  // Templates, so here: every JS entry point that records work goes through them.
  template <typename F>
  Napi::Value guarded(Napi::Env env, F&& f) {
    try {
      return f();
    } catch (const VkFailure& e) {
      throw makeError(env, e.what(), e.jsCode);
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw makeError(env, e.what(), "VULKAN_ERROR");
    }
  }

  /** Records with `s`, aborting it (temporaries back to the pool) if recording throws. */
  template <typename F>
  Napi::Value record(Napi::Env env, F&& f) {
    return guarded(env, [&]() -> Napi::Value {
      Sub* s = begin(env);
      s->owner = this;
      try {
        f(s);
      } catch (...) {
        abort(s);
        throw;
      }
      return submit(env, s);
    });
  }

  // ---------------------------------------------------------------- context_ops.cpp
  Napi::Value Noop(const Napi::CallbackInfo& info);
  uint32_t groupsFor(uint64_t items, uint32_t per, int axis = 0);
  /** Throws a VULKAN_BAD_ARGUMENT naming the device's loop limit when `iterations` exceed loopBudget_. */
  void requireLoopBudget(Napi::Env env, uint64_t iterations, const std::string& what);
  // Short rows: one invocation per row (no barriers; lavapipe and GPUs alike prefer it). Long
  // rows: one workgroup per row with a subgroup (or shared-memory) reduction.
  static constexpr uint32_t kRowsVariantMaxDim = 256;
  void normalize(Sub* s, Buf* src, Buf* dst, uint32_t rows, uint32_t dim, bool transposed);
  Napi::Value PatternScores(const Napi::CallbackInfo& info);
  Napi::Value RollingMoments(const Napi::CallbackInfo& info);
  Napi::Value Sgemm(const Napi::CallbackInfo& info);
  Napi::Value MonteCarlo(const Napi::CallbackInfo& info);

  // ---------------------------------------------------------------- binding.cpp
  Napi::Value GetLost(const Napi::CallbackInfo& info);
  Napi::Value GetLastKernelNs(const Napi::CallbackInfo& info);
  Napi::Value GetValidationMessages(const Napi::CallbackInfo& info);
  Napi::Value GetInFlight(const Napi::CallbackInfo& info);
  Napi::Value GetMemoryInUse(const Napi::CallbackInfo& info);
};

}  // namespace cwtsvk
