// @cwts/backend-vulkan native addon: a Vulkan compute context exposed to JS.
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
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "devices.h"
#include "vk_loader.h"

using namespace cwtsvk;

namespace {

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

Napi::Error makeError(Napi::Env env, const std::string& msg, const std::string& code) {
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
  uint8_t* hostDst;  // JS memory (kept alive by a reference) or nullptr (kept for host work)
};

struct Sub {
  VkCommandBuffer cb = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  VkDescriptorPool dpool = VK_NULL_HANDLE;
  VkQueryPool qpool = VK_NULL_HANDLE;
  uint64_t serial = 0;
  std::vector<Buf*> temps;
  std::vector<PendingCopyOut> outs;
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

enum KernelId { K_NOOP, K_NORMALIZE, K_NORMROWS, K_SCORES, K_ROLLING, K_SGEMM, K_SGEMM_DIRECT, K_MCVAR, K_COUNT };

uint32_t floorPow2(uint32_t v) {
  uint32_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}


class Context : public Napi::ObjectWrap<Context> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "VulkanContext",
                       {
                           InstanceMethod("info", &Context::Info),
                           InstanceMethod("createBuffer", &Context::CreateBuffer),
                           InstanceMethod("freeBuffer", &Context::FreeBuffer),
                           InstanceMethod("upload", &Context::Upload),
                           InstanceMethod("download", &Context::Download),
                           InstanceMethod("copy", &Context::Copy),
                           InstanceMethod("noop", &Context::Noop),
                           InstanceMethod("patternScores", &Context::PatternScores),
                           InstanceMethod("rollingMoments", &Context::RollingMoments),
                           InstanceMethod("sgemm", &Context::Sgemm),
                           InstanceMethod("monteCarlo", &Context::MonteCarlo),
                           InstanceMethod("pipelineCacheData", &Context::PipelineCacheData),
                           InstanceMethod("simulateDeviceLost", &Context::SimulateDeviceLost),
                           InstanceMethod("destroy", &Context::Destroy),
                           InstanceAccessor("lost", &Context::GetLost, nullptr),
                           InstanceAccessor("lastKernelNs", &Context::GetLastKernelNs, nullptr),
                           InstanceAccessor("validationMessages", &Context::GetValidationMessages, nullptr),
                           InstanceAccessor("inFlight", &Context::GetInFlight, nullptr),
                           InstanceAccessor("memoryInUse", &Context::GetMemoryInUse, nullptr),
                       });
  }

  Context(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Context>(info) {
    Napi::Env env = info.Env();
    Napi::Object opts = info[0].As<Napi::Object>();
    try {
      init(env, opts);
    } catch (const VkFailure& f) {
      teardown();
      throw makeError(env, f.what(), f.jsCode);
    } catch (const Napi::Error&) {
      teardown();
      throw;
    } catch (const std::exception& e) {
      teardown();
      throw makeError(env, e.what(), "VULKAN_ERROR");
    }
  }

  ~Context() override { teardown(); }

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

  // ---------------------------------------------------------------- init / teardown
  static VKAPI_ATTR VkBool32 VKAPI_CALL debugCallback(VkDebugUtilsMessageSeverityFlagBitsEXT sev, VkDebugUtilsMessageTypeFlagsEXT,
                                                     const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
    auto* self = static_cast<Context*>(user);
    self->validationMessages_++;
    fprintf(stderr, "[cwts vulkan validation %s] %s\n", sev >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
            data && data->pMessage ? data->pMessage : "");
    return VK_FALSE;
  }

  void init(Napi::Env env, Napi::Object opts) {
    env_ = env;
    bool validation = opts.Has("validation") && opts.Get("validation").ToBoolean().Value();
    std::string why = createInstance(inst_, validation, &Context::debugCallback, this);
    if (!why.empty()) throw VkFailure(VK_ERROR_INITIALIZATION_FAILED, why, "VULKAN_UNAVAILABLE");
    auto devs = enumerateDevices(inst_);
    if (devs.empty()) throw VkFailure(VK_ERROR_INITIALIZATION_FAILED, "no Vulkan physical devices", "VULKAN_UNAVAILABLE");
    int pick = -1;
    Napi::Value sel = opts.Get("device");
    auto listing = [&]() {
      std::string s;
      for (auto& dv : devs) s += (s.empty() ? "" : ", ") + std::to_string(dv.index) + ": " + dv.props.deviceName;
      return s;
    };
    if (sel.IsNumber()) {
      int64_t idx = sel.As<Napi::Number>().Int64Value();
      if (idx < 0 || idx >= (int64_t)devs.size())
        throw VkFailure(VK_ERROR_INITIALIZATION_FAILED, "device index " + std::to_string(idx) + " out of range (devices: " + listing() + ")", "VULKAN_UNAVAILABLE");
      pick = (int)idx;
    } else if (sel.IsString()) {
      std::string want = sel.As<Napi::String>().Utf8Value();
      auto lower = [](std::string s) { for (auto& c : s) c = (char)std::tolower((unsigned char)c); return s; };
      for (size_t i = 0; i < devs.size() && pick < 0; ++i)
        if (lower(devs[i].props.deviceName).find(lower(want)) != std::string::npos) pick = (int)i;
      if (pick < 0) throw VkFailure(VK_ERROR_INITIALIZATION_FAILED, "no Vulkan device name contains \"" + want + "\" (devices: " + listing() + ")", "VULKAN_UNAVAILABLE");
    } else {
      pick = pickDefault(devs);
      if (pick < 0) {
        std::string s;
        for (auto& dv : devs) s += std::string(s.empty() ? "" : "; ") + dv.props.deviceName + ": " + dv.whyNot;
        throw VkFailure(VK_ERROR_INITIALIZATION_FAILED, "no suitable Vulkan device (" + s + ")", "VULKAN_UNAVAILABLE");
      }
    }
    dev_ = devs[pick];
    if (!dev_.suitable) throw VkFailure(VK_ERROR_INITIALIZATION_FAILED, std::string(dev_.props.deviceName) + " is not usable: " + dev_.whyNot, "VULKAN_UNAVAILABLE");

    auto& lim = dev_.props.limits;
    if (opts.Has("memoryLimitBytes") && opts.Get("memoryLimitBytes").IsNumber())
      memoryLimit_ = (uint64_t)opts.Get("memoryLimitBytes").As<Napi::Number>().DoubleValue();
    if (opts.Has("kernelTimeoutMs") && opts.Get("kernelTimeoutMs").IsNumber())
      kernelTimeoutNs_ = (uint64_t)(opts.Get("kernelTimeoutMs").As<Napi::Number>().DoubleValue() * 1e6);

    // Device and queue.
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qci.queueFamilyIndex = (uint32_t)dev_.computeFamily;
    qci.queueCount = 1;
    qci.pQueuePriorities = &prio;
    VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    std::vector<const char*> dexts;
    {
      uint32_t n = 0;
      inst_.fn.vkEnumerateDeviceExtensionProperties(dev_.pd, nullptr, &n, nullptr);
      std::vector<VkExtensionProperties> ex(n);
      inst_.fn.vkEnumerateDeviceExtensionProperties(dev_.pd, nullptr, &n, ex.data());
      for (auto& e : ex)
        if (!std::strcmp(e.extensionName, "VK_KHR_portability_subset")) dexts.push_back("VK_KHR_portability_subset");
    }
    dci.enabledExtensionCount = (uint32_t)dexts.size();
    dci.ppEnabledExtensionNames = dexts.data();
    VK_CHECK(inst_.fn.vkCreateDevice(dev_.pd, &dci, nullptr, &device_), "vkCreateDevice");
    d.load(inst_.fn, device_);
    d.vkGetDeviceQueue(device_, (uint32_t)dev_.computeFamily, 0, &queue_);

    VkCommandPoolCreateInfo cpi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    cpi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    cpi.queueFamilyIndex = (uint32_t)dev_.computeFamily;
    VK_CHECK(d.vkCreateCommandPool(device_, &cpi, nullptr, &cmdPool_), "vkCreateCommandPool");

    // Pipeline cache, seeded from a previous run when the caller passes its bytes.
    VkPipelineCacheCreateInfo pci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    if (opts.Has("pipelineCache") && opts.Get("pipelineCache").IsBuffer()) {
      auto b = opts.Get("pipelineCache").As<Napi::Buffer<uint8_t>>();
      pci.initialDataSize = b.Length();
      pci.pInitialData = b.Data();
    }
    if (d.vkCreatePipelineCache(device_, &pci, nullptr, &pcache_) != VK_SUCCESS) {
      pci.initialDataSize = 0;  // incompatible or corrupt data: start empty
      pci.pInitialData = nullptr;
      VK_CHECK(d.vkCreatePipelineCache(device_, &pci, nullptr, &pcache_), "vkCreatePipelineCache");
    }

    // Memory types.
    inst_.fn.vkGetPhysicalDeviceMemoryProperties(dev_.pd, &memProps_);
    const VkMemoryPropertyFlags HV = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    for (uint32_t i = 0; i < memProps_.memoryTypeCount; ++i) {
      auto f = memProps_.memoryTypes[i].propertyFlags;
      if (devType_ < 0 && (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)) devType_ = (int)i;
    }
    bool uma = dev_.props.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU || dev_.props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
    // Host type: on UMA prefer device-local + host-visible (no staging); else host-cached (fast readback).
    int best = -1, bestScore = -1;
    for (uint32_t i = 0; i < memProps_.memoryTypeCount; ++i) {
      auto f = memProps_.memoryTypes[i].propertyFlags;
      if ((f & HV) != HV) continue;
      int score = 1;
      if (uma && (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)) score += 4;
      if (f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) score += 2;
      if (score > bestScore) best = (int)i, bestScore = score;
    }
    hostType_ = best;
    if (hostType_ < 0) throw VkFailure(VK_ERROR_INITIALIZATION_FAILED, "no host-visible coherent memory type", "VULKAN_UNAVAILABLE");
    if (devType_ < 0) devType_ = hostType_;
    directTemps_ = uma && (memProps_.memoryTypes[hostType_].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);

    // Limits -> workgroup sizes.
    maxGroups_[0] = lim.maxComputeWorkGroupCount[0];
    maxGroups_[1] = lim.maxComputeWorkGroupCount[1];
    maxGroups_[2] = lim.maxComputeWorkGroupCount[2];
    uint32_t maxInv = lim.maxComputeWorkGroupInvocations;
    uint32_t sg = dev_.subgroupSize ? dev_.subgroupSize : 32;
    wg_ = floorPow2(std::min<uint32_t>({256u, maxInv, lim.maxComputeWorkGroupSize[0]}));
    if (wg_ < sg && sg <= maxInv) wg_ = sg;
    normWg_ = std::max<uint32_t>(std::min<uint32_t>(64u, wg_), std::min<uint32_t>(sg, wg_));
    if (maxInv >= 256 && lim.maxComputeWorkGroupSize[0] >= 16 && lim.maxComputeWorkGroupSize[1] >= 16) sgemmTx_ = sgemmTy_ = 16;
    else sgemmTx_ = sgemmTy_ = 8;
    // CWTS_VULKAN_NO_SUBGROUPS=1 forces the shared-memory reductions (diagnostics and tests).
    const char* noSg = std::getenv("CWTS_VULKAN_NO_SUBGROUPS");
    useSubgroupNormalize_ = !(noSg && noSg[0] == '1') && (dev_.subgroupStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                            (dev_.subgroupOps & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) && (dev_.subgroupOps & VK_SUBGROUP_FEATURE_BASIC_BIT);
    // sgemm: shared-memory tiles on GPUs; on CPU devices (lavapipe) shared memory and barriers
    // cost more than they save, so the direct variant (measured 3x faster there).
    // CWTS_VULKAN_SGEMM=tiled|direct overrides (diagnostics and tests).
    sgemmDirect_ = dev_.props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
    if (const char* v = std::getenv("CWTS_VULKAN_SGEMM")) {
      if (!std::strcmp(v, "tiled")) sgemmDirect_ = false;
      if (!std::strcmp(v, "direct")) sgemmDirect_ = true;
    }
    maxBufferBytes_ = std::min<uint64_t>(lim.maxStorageBufferRange, 0xFFFFFFFCull);
    timestampPeriod_ = lim.timestampPeriod;
    timestamps_ = dev_.timestampValidBits > 0 && (lim.timestampComputeAndGraphics || dev_.timestampValidBits > 0);

    // Descriptor set layouts for 1..3 storage buffers.
    for (uint32_t n = 1; n <= 3; ++n) {
      VkDescriptorSetLayoutBinding b[3];
      for (uint32_t i = 0; i < n; ++i) {
        b[i] = {};
        b[i].binding = i;
        b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        b[i].descriptorCount = 1;
        b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
      }
      VkDescriptorSetLayoutCreateInfo li{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
      li.bindingCount = n;
      li.pBindings = b;
      VK_CHECK(d.vkCreateDescriptorSetLayout(device_, &li, nullptr, &dsl_[n]), "vkCreateDescriptorSetLayout");
    }

    std::string dir = opts.Get("shaderDir").As<Napi::String>().Utf8Value();
    makeKernel(K_NOOP, dir + "/noop.spv", 0, 0, {});
    makeKernel(K_NORMALIZE, dir + (useSubgroupNormalize_ ? "/normalize_sg.spv" : "/normalize.spv"), 2, 16, {normWg_});
    makeKernel(K_SCORES, dir + "/scores.spv", 3, 12, {wg_});
    makeKernel(K_NORMROWS, dir + "/normalize_rows.spv", 2, 16, {wg_});
    makeKernel(K_ROLLING, dir + "/rolling.spv", 3, 12, {wg_});
    makeKernel(K_SGEMM, dir + "/sgemm.spv", 3, 20, {sgemmTx_, sgemmTy_});
    makeKernel(K_SGEMM_DIRECT, dir + "/sgemm_direct.spv", 3, 20, {sgemmTx_, sgemmTy_});
    makeKernel(K_MCVAR, dir + "/mcvar.spv", 2, 24, {wg_});

    tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "cwts-vulkan-completion", 0, 1);
    tsfn_.Unref(env);
    completer_ = std::thread([this] { completerLoop(); });
    napi_add_env_cleanup_hook(env, &Context::cleanupHook, this);
    cleanupHook_ = true;
  }

  static void cleanupHook(void* p) {
    auto* self = static_cast<Context*>(p);
    self->cleanupHook_ = false;
    self->teardown();
  }

  std::vector<uint32_t> readSpirv(const std::string& path) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) throw VkFailure(VK_ERROR_INITIALIZATION_FAILED, "missing shader " + path, "VULKAN_UNAVAILABLE");
    size_t n = (size_t)f.tellg();
    if (n == 0 || n % 4) throw VkFailure(VK_ERROR_INITIALIZATION_FAILED, "bad SPIR-V file " + path, "VULKAN_UNAVAILABLE");
    std::vector<uint32_t> words(n / 4);
    f.seekg(0);
    f.read(reinterpret_cast<char*>(words.data()), (std::streamsize)n);
    return words;
  }

  void makeKernel(KernelId id, const std::string& path, uint32_t bindings, uint32_t pushBytes, std::vector<uint32_t> spec) {
    auto code = readSpirv(path);
    VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mi.codeSize = code.size() * 4;
    mi.pCode = code.data();
    VkShaderModule mod;
    VK_CHECK(d.vkCreateShaderModule(device_, &mi, nullptr, &mod), "vkCreateShaderModule");
    Kernel& k = kernels_[id];
    k.bindings = bindings;
    VkPipelineLayoutCreateInfo li{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    VkPushConstantRange pr{VK_SHADER_STAGE_COMPUTE_BIT, 0, pushBytes};
    if (bindings) {
      li.setLayoutCount = 1;
      li.pSetLayouts = &dsl_[bindings];
    }
    if (pushBytes) {
      li.pushConstantRangeCount = 1;
      li.pPushConstantRanges = &pr;
    }
    VkResult r = d.vkCreatePipelineLayout(device_, &li, nullptr, &k.layout);
    if (r != VK_SUCCESS) {
      d.vkDestroyShaderModule(device_, mod, nullptr);
      throw VkFailure(r, std::string("vkCreatePipelineLayout failed: ") + resultName(r));
    }
    std::vector<VkSpecializationMapEntry> entries;
    for (uint32_t i = 0; i < spec.size(); ++i) entries.push_back({i, i * 4, 4});
    VkSpecializationInfo si{(uint32_t)entries.size(), entries.data(), spec.size() * 4, spec.data()};
    VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = mod;
    ci.stage.pName = "main";
    ci.stage.pSpecializationInfo = spec.empty() ? nullptr : &si;
    ci.layout = k.layout;
    r = d.vkCreateComputePipelines(device_, pcache_, 1, &ci, nullptr, &k.pipeline);
    d.vkDestroyShaderModule(device_, mod, nullptr);
    if (r != VK_SUCCESS) throw VkFailure(r, "creating pipeline from " + path + " failed: " + resultName(r));
  }

  void freeBuf(Buf* b) {
    if (!b) return;
    if (b->mapped) d.vkUnmapMemory(device_, b->memory);
    if (b->buffer) d.vkDestroyBuffer(device_, b->buffer, nullptr);
    if (b->memory) d.vkFreeMemory(device_, b->memory, nullptr);
    memoryInUse_ -= b->capacity;
    delete b;
  }

  void teardown() {
    if (destroyed_) return;
    destroyed_ = true;
    if (cleanupHook_ && env_) {
      napi_remove_env_cleanup_hook(env_, &Context::cleanupHook, this);
      cleanupHook_ = false;
    }
    if (completer_.joinable()) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
      }
      cv_.notify_all();
      completer_.join();
    }
    if (device_) {
      d.vkDeviceWaitIdle(device_);
      for (auto* s : freeSubs_) destroySub(s);
      freeSubs_.clear();
      for (auto* s : queue_inflight_) destroySub(s);  // only after a hard stop
      queue_inflight_.clear();
      for (auto& kv : buffers_) freeBuf(kv.second);
      buffers_.clear();
      for (auto& kv : freeHost_) freeBuf(kv.second);
      for (auto& kv : freeDev_) freeBuf(kv.second);
      freeHost_.clear();
      freeDev_.clear();
      for (auto& p : deferredFree_) freeBuf(p.second);
      deferredFree_.clear();
      freeBuf(normCache_.data);
      normCache_.data = nullptr;
      for (auto& k : kernels_) {
        if (k.pipeline) d.vkDestroyPipeline(device_, k.pipeline, nullptr);
        if (k.layout) d.vkDestroyPipelineLayout(device_, k.layout, nullptr);
        k = Kernel{};
      }
      for (auto& l : dsl_)
        if (l) d.vkDestroyDescriptorSetLayout(device_, l, nullptr), l = VK_NULL_HANDLE;
      if (pcache_) d.vkDestroyPipelineCache(device_, pcache_, nullptr);
      if (cmdPool_) d.vkDestroyCommandPool(device_, cmdPool_, nullptr);
      d.vkDestroyDevice(device_, nullptr);
      device_ = VK_NULL_HANDLE;
    }
    inst_.destroy();
    if (tsfn_) {
      tsfn_.Release();
      tsfn_ = Napi::ThreadSafeFunction();
    }
  }

  void destroySub(Sub* s) {
    if (s->fence) d.vkDestroyFence(device_, s->fence, nullptr);
    if (s->dpool) d.vkDestroyDescriptorPool(device_, s->dpool, nullptr);
    if (s->qpool) d.vkDestroyQueryPool(device_, s->qpool, nullptr);
    if (s->cb) d.vkFreeCommandBuffers(device_, cmdPool_, 1, &s->cb);
    delete s;
  }

  // ---------------------------------------------------------------- memory
  Buf* allocBuf(size_t bytes, bool host, bool mapUserBuffer = false) {
    VkDeviceSize size = std::max<VkDeviceSize>(4, (bytes + 3) & ~VkDeviceSize(3));
    if (memoryLimit_ && memoryInUse_ + size > memoryLimit_)
      throw VkFailure(VK_ERROR_OUT_OF_DEVICE_MEMORY,
                      "out of device memory: allocating " + std::to_string(bytes) + " bytes would exceed memoryLimitBytes (" +
                          std::to_string(memoryLimit_) + ", " + std::to_string(memoryInUse_) + " in use)");
    auto* b = new Buf();
    VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bi.size = size;
    bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VkResult r = d.vkCreateBuffer(device_, &bi, nullptr, &b->buffer);
    if (r != VK_SUCCESS) {
      delete b;
      throw VkFailure(r, "vkCreateBuffer(" + std::to_string(bytes) + " bytes) failed: " + resultName(r));
    }
    VkMemoryRequirements req;
    d.vkGetBufferMemoryRequirements(device_, b->buffer, &req);
    int want = host ? hostType_ : devType_;
    int type = -1;
    if (want >= 0 && (req.memoryTypeBits & (1u << want))) type = want;
    for (uint32_t i = 0; type < 0 && i < memProps_.memoryTypeCount; ++i) {
      auto f = memProps_.memoryTypes[i].propertyFlags;
      bool ok = host ? (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) : true;
      if ((req.memoryTypeBits & (1u << i)) && ok) type = (int)i;
    }
    if (type < 0) {
      d.vkDestroyBuffer(device_, b->buffer, nullptr);
      delete b;
      throw VkFailure(VK_ERROR_FEATURE_NOT_PRESENT, "no memory type fits the buffer");
    }
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = (uint32_t)type;
    r = d.vkAllocateMemory(device_, &ai, nullptr, &b->memory);
    if (r != VK_SUCCESS) {
      d.vkDestroyBuffer(device_, b->buffer, nullptr);
      delete b;
      if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
        throw VkFailure(r, "out of device memory: allocating " + std::to_string(bytes) + " bytes failed (" + resultName(r) + ")");
      throw VkFailure(r, std::string("vkAllocateMemory failed: ") + resultName(r));
    }
    r = d.vkBindBufferMemory(device_, b->buffer, b->memory, 0);
    b->capacity = size;
    memoryInUse_ += size;
    if (r != VK_SUCCESS) {
      freeBuf(b);
      throw VkFailure(r, std::string("vkBindBufferMemory failed: ") + resultName(r));
    }
    auto f = memProps_.memoryTypes[type].propertyFlags;
    const VkMemoryPropertyFlags HV = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    if ((host || mapUserBuffer) && (f & HV) == HV) {
      void* p = nullptr;
      if (d.vkMapMemory(device_, b->memory, 0, VK_WHOLE_SIZE, 0, &p) == VK_SUCCESS) b->mapped = static_cast<uint8_t*>(p);
    }
    if (host && !b->mapped) {
      freeBuf(b);
      throw VkFailure(VK_ERROR_MEMORY_MAP_FAILED, "could not map a host-visible buffer");
    }
    b->host = host;
    b->byteLength = bytes;
    return b;
  }

  /** A pooled temporary; host = host-visible (staging, or a direct temp on UMA devices). */
  Buf* acquireTemp(Sub* s, size_t bytes, bool host) {
    auto& pool = host ? freeHost_ : freeDev_;
    auto it = pool.lower_bound(std::max<size_t>(4, bytes));
    Buf* b = nullptr;
    if (it != pool.end() && it->first <= std::max<VkDeviceSize>(bytes * 2, 65536)) {
      b = it->second;
      pooledBytes_ -= b->capacity;
      pool.erase(it);
    } else {
      size_t rounded = bytes <= 65536 ? 65536 : ((bytes + 65535) & ~size_t(65535));
      try {
        b = allocBuf(rounded, host);
      } catch (const VkFailure&) {
        trimPool();  // release cached temporaries and retry once at the exact size
        b = allocBuf(bytes, host);
      }
    }
    b->byteLength = bytes;
    s->temps.push_back(b);
    return b;
  }

  void releaseTemp(Buf* b) {
    const uint64_t cap = 512ull << 20;
    if (pooledBytes_ + b->capacity > cap) {
      freeBuf(b);
      return;
    }
    (b->host ? freeHost_ : freeDev_).emplace(b->capacity, b);
    pooledBytes_ += b->capacity;
  }

  void trimPool() {
    for (auto& kv : freeHost_) freeBuf(kv.second);
    for (auto& kv : freeDev_) freeBuf(kv.second);
    freeHost_.clear();
    freeDev_.clear();
    pooledBytes_ = 0;
  }

  void retire(Buf* b) {
    if (!b) return;
    if (b->lastUse <= completedSerial_) freeBuf(b);
    else deferredFree_.push_back({b->lastUse, b});
  }

  // ---------------------------------------------------------------- submissions
  void checkAlive(Napi::Env env) {
    if (destroyed_) throw makeError(env, "vulkan backend was disposed", "VULKAN_DISPOSED");
    if (lost_) {
      std::lock_guard<std::mutex> lk(lostMu_);
      throw makeError(env, "vulkan device lost (" + lostReason_ + "); the backend is unavailable", "VULKAN_DEVICE_LOST");
    }
  }

  void markLost(const std::string& why) {
    std::lock_guard<std::mutex> lk(lostMu_);
    if (!lost_) lostReason_ = why;
    lost_ = true;
  }

  Sub* begin(Napi::Env env) {
    checkAlive(env);
    Sub* s;
    if (!freeSubs_.empty()) {
      s = freeSubs_.back();
      freeSubs_.pop_back();
      d.vkResetFences(device_, 1, &s->fence);
      d.vkResetCommandBuffer(s->cb, 0);
      d.vkResetDescriptorPool(device_, s->dpool, 0);
    } else {
      s = new Sub();
      VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
      ai.commandPool = cmdPool_;
      ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
      ai.commandBufferCount = 1;
      VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
      VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 24};
      VkDescriptorPoolCreateInfo dpi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
      dpi.maxSets = 8;
      dpi.poolSizeCount = 1;
      dpi.pPoolSizes = &ps;
      VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
      qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
      qi.queryCount = 2;
      try {
        VK_CHECK(d.vkAllocateCommandBuffers(device_, &ai, &s->cb), "vkAllocateCommandBuffers");
        VK_CHECK(d.vkCreateFence(device_, &fi, nullptr, &s->fence), "vkCreateFence");
        VK_CHECK(d.vkCreateDescriptorPool(device_, &dpi, nullptr, &s->dpool), "vkCreateDescriptorPool");
        if (timestamps_) VK_CHECK(d.vkCreateQueryPool(device_, &qi, nullptr, &s->qpool), "vkCreateQueryPool");
      } catch (...) {
        destroySub(s);
        throw;
      }
    }
    s->serial = nextSerial_++;
    s->timed = false;
    s->dispatched = false;
    s->gpuNs = -1;
    s->error.clear();
    s->errorCode.clear();
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    d.vkBeginCommandBuffer(s->cb, &bi);
    if (s->qpool) d.vkCmdResetQueryPool(s->cb, s->qpool, 0, 2);
    barrier(s);  // order after everything submitted before (see header)
    return s;
  }

  void barrier(Sub* s) {
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    d.vkCmdPipelineBarrier(s->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                           VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
  }

  void abort(Sub* s) {
    d.vkEndCommandBuffer(s->cb);
    for (auto* b : s->temps) releaseTemp(b);
    s->temps.clear();
    s->outs.clear();
    s->host = nullptr;
    s->result = nullptr;
    s->refs.clear();
    s->deferred.reset();
    freeSubs_.push_back(s);
  }

  Buf* userBuf(Napi::Env env, uint32_t id) {
    auto it = buffers_.find(id);
    if (it == buffers_.end()) throw makeError(env, "unknown or freed device buffer id " + std::to_string(id), "VULKAN_BAD_BUFFER");
    return it->second;
  }

  /** A kernel input: a device buffer id (no transfer) or a Float32Array moved for the call. */
  Buf* input(Napi::Env env, Sub* s, Napi::Value v, size_t bytes, const char* what) {
    if (v.IsNumber()) {
      Buf* b = userBuf(env, v.As<Napi::Number>().Uint32Value());
      if (b->byteLength < bytes)
        throw makeError(env, std::string(what) + ": device buffer holds " + std::to_string(b->byteLength) + " bytes, " + std::to_string(bytes) + " needed", "VULKAN_BAD_BUFFER");
      b->lastUse = s->serial;
      return b;
    }
    if (!v.IsTypedArray()) throw makeError(env, std::string(what) + ": expected a Float32Array or a device buffer", "VULKAN_BAD_ARGUMENT");
    auto ta = v.As<Napi::TypedArray>();
    const uint8_t* src = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    size_t n = std::min(bytes, ta.ByteLength());
    if (directTemps_) {
      Buf* t = acquireTemp(s, bytes, true);
      std::memcpy(t->mapped, src, n);
      return t;
    }
    Buf* st = acquireTemp(s, bytes, true);
    std::memcpy(st->mapped, src, n);
    Buf* t = acquireTemp(s, bytes, false);
    VkBufferCopy c{0, 0, std::max<VkDeviceSize>(4, (n + 3) & ~size_t(3))};
    c.size = std::min<VkDeviceSize>(c.size, std::min(st->capacity, t->capacity));
    d.vkCmdCopyBuffer(s->cb, st->buffer, t->buffer, 1, &c);
    return t;
  }

  /** A kernel output of `bytes`, readable on the host after completion (mapped, or staged). */
  Buf* output(Sub* s, size_t bytes) { return acquireTemp(s, bytes, directTemps_); }

  /** After the kernels: make `src` readable from the host; hostDst (if set) receives a copy. */
  void readBack(Sub* s, Buf* src, size_t bytes, uint8_t* hostDst, VkDeviceSize srcOffset = 0) {
    PendingCopyOut o{src, nullptr, srcOffset, bytes, hostDst};
    if (!src->mapped) o.staging = acquireTemp(s, bytes, true);
    s->outs.push_back(o);
  }

  const uint8_t* hostView(const PendingCopyOut& o) const { return o.staging ? o.staging->mapped : o.src->mapped + o.srcOffset; }

  void dispatch(Sub* s, KernelId id, std::initializer_list<Buf*> bufs, const void* push, uint32_t pushBytes, uint32_t gx, uint32_t gy = 1, uint32_t gz = 1) {
    Kernel& k = kernels_[id];
    markStart(s);  // barrier (host-argument copies, previous kernel) and the start timestamp
    d.vkCmdBindPipeline(s->cb, VK_PIPELINE_BIND_POINT_COMPUTE, k.pipeline);
    if (k.bindings) {
      VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
      ai.descriptorPool = s->dpool;
      ai.descriptorSetCount = 1;
      ai.pSetLayouts = &dsl_[k.bindings];
      VkDescriptorSet set;
      VK_CHECK(d.vkAllocateDescriptorSets(device_, &ai, &set), "vkAllocateDescriptorSets");
      VkDescriptorBufferInfo infos[3];
      VkWriteDescriptorSet w[3];
      uint32_t i = 0;
      for (Buf* b : bufs) {
        infos[i] = {b->buffer, 0, VK_WHOLE_SIZE};
        w[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        w[i].dstSet = set;
        w[i].dstBinding = i;
        w[i].descriptorCount = 1;
        w[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        w[i].pBufferInfo = &infos[i];
        ++i;
      }
      d.vkUpdateDescriptorSets(device_, i, w, 0, nullptr);
      d.vkCmdBindDescriptorSets(s->cb, VK_PIPELINE_BIND_POINT_COMPUTE, k.layout, 0, 1, &set, 0, nullptr);
    }
    if (pushBytes) d.vkCmdPushConstants(s->cb, k.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, pushBytes, push);
    d.vkCmdDispatch(s->cb, gx, gy, gz);
  }

  Napi::Value submit(Napi::Env env, Sub* s) {
    if (s->timed) d.vkCmdWriteTimestamp(s->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, s->qpool, 1);
    if (!s->outs.empty()) {
      barrier(s);
      for (auto& o : s->outs) {
        if (!o.staging) continue;
        VkBufferCopy c{o.srcOffset, 0, o.bytes};
        if (c.size) d.vkCmdCopyBuffer(s->cb, o.src->buffer, o.staging->buffer, 1, &c);
      }
    }
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    d.vkCmdPipelineBarrier(s->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0,
                           nullptr, 0, nullptr);
    VkResult r = d.vkEndCommandBuffer(s->cb);
    if (r == VK_SUCCESS) {
      VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
      si.commandBufferCount = 1;
      si.pCommandBuffers = &s->cb;
      r = d.vkQueueSubmit(queue_, 1, &si, s->fence);
    }
    if (r != VK_SUCCESS) {
      if (r == VK_ERROR_DEVICE_LOST || r == VK_ERROR_OUT_OF_DEVICE_MEMORY) markLost(std::string("vkQueueSubmit: ") + resultName(r));
      abort(s);
      std::string code = r == VK_ERROR_DEVICE_LOST ? "VULKAN_DEVICE_LOST" : VkFailure::codeFor(r);
      throw makeError(env, std::string("vkQueueSubmit failed: ") + resultName(r) + (lost_ ? "; the backend is unavailable" : ""), lost_ ? "VULKAN_DEVICE_LOST" : code);
    }
    s->deferred.reset(new Napi::Promise::Deferred(Napi::Promise::Deferred::New(env)));
    Napi::Promise p = s->deferred->Promise();
    if (inFlight_++ == 0 && !tsfnReffed_) {
      // While work is in flight: keep the event loop alive (the TSFN) and this object alive
      // (a dropped, undisposed backend must not be collected under its completion thread).
      tsfn_.Ref(env);
      tsfnReffed_ = true;
      Ref();
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      queue_inflight_.push_back(s);
    }
    cv_.notify_one();
    return p;
  }

  void completerLoop() {
    for (;;) {
      Sub* s;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stop_ || !queue_inflight_.empty(); });
        if (queue_inflight_.empty()) return;
        s = queue_inflight_.front();
        queue_inflight_.pop_front();
      }
      VkResult r = VK_TIMEOUT;
      if (lost_) {
        r = VK_ERROR_DEVICE_LOST;
      } else {
        auto t0 = std::chrono::steady_clock::now();
        while ((r = d.vkWaitForFences(device_, 1, &s->fence, VK_TRUE, 200'000'000ull)) == VK_TIMEOUT) {
          uint64_t waited = (uint64_t)std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
          if (lost_) {
            r = VK_ERROR_DEVICE_LOST;
            break;
          }
          if (kernelTimeoutNs_ && waited > kernelTimeoutNs_) {
            markLost("no completion within " + std::to_string(kernelTimeoutNs_ / 1000000) + " ms (device hung)");
            r = VK_ERROR_DEVICE_LOST;
            break;
          }
        }
      }
      if (r == VK_SUCCESS) {
        if (s->timed) {
          uint64_t ts[2] = {0, 0};
          if (d.vkGetQueryPoolResults(device_, s->qpool, 0, 2, sizeof ts, ts, 8, VK_QUERY_RESULT_64_BIT) == VK_SUCCESS) {
            uint64_t mask = dev_.timestampValidBits >= 64 ? ~0ull : ((1ull << dev_.timestampValidBits) - 1);
            s->gpuNs = (double)((ts[1] - ts[0]) & mask) * timestampPeriod_;
          }
        }
        try {
          for (auto& o : s->outs)
            if (o.hostDst && o.bytes) std::memcpy(o.hostDst, hostView(o), o.bytes);
          if (s->host) s->host();
        } catch (const std::exception& e) {
          s->error = e.what();
          s->errorCode = "VULKAN_ERROR";
        }
      } else {
        if (r == VK_ERROR_DEVICE_LOST) markLost(lostReason_.empty() ? "VK_ERROR_DEVICE_LOST while waiting for a fence" : lostReason_);
        std::lock_guard<std::mutex> lk(lostMu_);
        s->error = "vulkan device lost (" + lostReason_ + "); the backend is unavailable";
        s->errorCode = "VULKAN_DEVICE_LOST";
      }
      napi_status st = tsfn_.BlockingCall(s, [](Napi::Env env, Napi::Function, Sub* sub) {
        if (!env) return;  // environment shutting down
        static_cast<Context*>(sub->owner)->finalize(env, sub);
      });
      (void)st;
    }
  }

  void finalize(Napi::Env env, Sub* s) {
    completedSerial_ = std::max(completedSerial_, s->serial);
    if (s->gpuNs >= 0) lastKernelNs_ = s->gpuNs;
    auto deferred = std::move(s->deferred);
    auto result = std::move(s->result);
    std::string err = s->error, code = s->errorCode;
    for (auto* b : s->temps) releaseTemp(b);
    s->temps.clear();
    s->outs.clear();
    s->host = nullptr;
    s->result = nullptr;
    s->refs.clear();
    if (!destroyed_) freeSubs_.push_back(s);
    for (size_t i = 0; i < deferredFree_.size();) {
      if (deferredFree_[i].first <= completedSerial_) {
        freeBuf(deferredFree_[i].second);
        deferredFree_[i] = deferredFree_.back();
        deferredFree_.pop_back();
      } else {
        ++i;
      }
    }
    bool idle = false;
    if (inFlight_ > 0 && --inFlight_ == 0 && tsfnReffed_) {
      tsfn_.Unref(env);
      tsfnReffed_ = false;
      idle = true;
    }
    if (deferred) {
      if (err.empty()) {
        try {
          deferred->Resolve(result ? result(env) : env.Undefined());
        } catch (const Napi::Error& e) {
          deferred->Reject(e.Value());
        }
      } else {
        deferred->Reject(makeError(env, err, code).Value());
      }
    }
    if (idle) Unref();  // last: after this the object may be collected
  }

  Napi::Value resolved(Napi::Env env, Napi::Value v) {
    auto dfd = Napi::Promise::Deferred::New(env);
    dfd.Resolve(v);
    return dfd.Promise();
  }

  void markStart(Sub* s) {
    barrier(s);
    if (!s->dispatched) {
      if (s->qpool) d.vkCmdWriteTimestamp(s->cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, s->qpool, 0);
      s->timed = s->qpool != VK_NULL_HANDLE;
      s->dispatched = true;
    }
  }

  static uint8_t* viewData(Napi::Value v, size_t* len) {
    auto ta = v.As<Napi::TypedArray>();
    *len = ta.ByteLength();
    return static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  }

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

  // ---------------------------------------------------------------- JS API
  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    auto& p = dev_.props;
    auto& l = p.limits;
    o.Set("index", dev_.index);
    o.Set("name", std::string(p.deviceName));
    o.Set("type", deviceTypeName(p.deviceType));
    o.Set("driverName", dev_.driverName);
    o.Set("driverInfo", dev_.driverInfo);
    o.Set("apiVersion", versionString(p.apiVersion));
    o.Set("vendorId", p.vendorID);
    o.Set("deviceId", p.deviceID);
    o.Set("memoryBytes", (double)dev_.deviceLocalBytes);
    o.Set("subgroupSize", dev_.subgroupSize);
    o.Set("subgroupArithmetic", useSubgroupNormalize_);
    o.Set("workgroupSize", wg_);
    o.Set("normalizeWorkgroupSize", normWg_);
    o.Set("sgemmWorkgroup", std::to_string(sgemmTx_) + "x" + std::to_string(sgemmTy_));
    o.Set("sgemmTile", std::to_string(sgemmTy_ * 4) + "x" + std::to_string(sgemmTx_ * 4));
    o.Set("scoresQueryBlock", scoresQb_);
    o.Set("sgemmVariant", sgemmDirect_ ? "direct" : "tiled");
    o.Set("maxBufferBytes", (double)maxBufferBytes_);
    o.Set("maxComputeWorkGroupInvocations", l.maxComputeWorkGroupInvocations);
    o.Set("maxComputeSharedMemorySize", l.maxComputeSharedMemorySize);
    o.Set("maxComputeWorkGroupCountX", l.maxComputeWorkGroupCount[0]);
    o.Set("maxStorageBufferRange", (double)l.maxStorageBufferRange);
    o.Set("timestamps", timestamps_);
    o.Set("timestampPeriodNs", timestampPeriod_);
    o.Set("unifiedMemory", directTemps_);
    o.Set("validation", inst_.validation);
    o.Set("queueFamily", dev_.computeFamily);
    return o;
  }

  Napi::Value CreateBuffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      checkAlive(env);
      double bytes = info[0].As<Napi::Number>().DoubleValue();
      if (!(bytes >= 0) || bytes > (double)maxBufferBytes_)
        throw makeError(env, "buffer size " + std::to_string((uint64_t)bytes) + " exceeds maxBufferBytes " + std::to_string(maxBufferBytes_), "VULKAN_BAD_ARGUMENT");
      Buf* b = allocBuf((size_t)bytes, false, true);
      b->byteLength = (size_t)bytes;
      uint32_t id = nextId_++;
      buffers_[id] = b;
      return Napi::Number::New(env, id);
    });
  }

  Napi::Value FreeBuffer(const Napi::CallbackInfo& info) {
    uint32_t id = info[0].As<Napi::Number>().Uint32Value();
    auto it = buffers_.find(id);
    if (it == buffers_.end() || destroyed_) return info.Env().Undefined();
    Buf* b = it->second;
    buffers_.erase(it);
    if (normCache_.id == id && normCache_.data) {
      retire(normCache_.data);
      normCache_ = NormCache{};
    }
    retire(b);
    return info.Env().Undefined();
  }

  Napi::Value Upload(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      checkAlive(env);
      Buf* b = userBuf(env, info[0].As<Napi::Number>().Uint32Value());
      size_t n;
      uint8_t* src = viewData(info[1], &n);
      size_t off = (size_t)info[2].As<Napi::Number>().Int64Value();
      if (off + n > b->byteLength) throw makeError(env, "upload past the end of the buffer", "VULKAN_BAD_ARGUMENT");
      b->version++;
      if (n == 0) return resolved(env, env.Undefined());
      if (b->mapped && b->lastUse <= completedSerial_) {  // idle and host-visible: write in place
        std::memcpy(b->mapped + off, src, n);
        return resolved(env, env.Undefined());
      }
      return record(env, [&](Sub* s) {
        Buf* st = acquireTemp(s, n, true);
        std::memcpy(st->mapped, src, n);
        markStart(s);
        VkBufferCopy c{0, off, n};
        d.vkCmdCopyBuffer(s->cb, st->buffer, b->buffer, 1, &c);
        b->lastUse = s->serial;
      });
    });
  }

  Napi::Value Download(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      checkAlive(env);
      Buf* b = userBuf(env, info[0].As<Napi::Number>().Uint32Value());
      size_t n;
      uint8_t* dst = viewData(info[1], &n);
      size_t off = (size_t)info[2].As<Napi::Number>().Int64Value();
      if (off + n > b->byteLength) throw makeError(env, "download past the end of the buffer", "VULKAN_BAD_ARGUMENT");
      if (n == 0) return resolved(env, env.Undefined());
      if (b->mapped && b->lastUse <= completedSerial_) {
        std::memcpy(dst, b->mapped + off, n);
        return resolved(env, env.Undefined());
      }
      return record(env, [&](Sub* s) {
        s->refs.push_back(Napi::Persistent(info[1].As<Napi::Object>()));
        markStart(s);
        readBack(s, b, n, dst, off);
        b->lastUse = s->serial;
      });
    });
  }

  Napi::Value Copy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      checkAlive(env);
      Buf* a = userBuf(env, info[0].As<Napi::Number>().Uint32Value());
      Buf* b = userBuf(env, info[1].As<Napi::Number>().Uint32Value());
      size_t n = (size_t)info[2].As<Napi::Number>().Int64Value();
      if (n > a->byteLength || n > b->byteLength) throw makeError(env, "copy past the end of a buffer", "VULKAN_BAD_ARGUMENT");
      b->version++;
      return record(env, [&](Sub* s) {
        markStart(s);
        if (n) {
          VkBufferCopy c{0, 0, n};
          d.vkCmdCopyBuffer(s->cb, a->buffer, b->buffer, 1, &c);
        }
        a->lastUse = b->lastUse = s->serial;
      });
    });
  }

  Napi::Value Noop(const Napi::CallbackInfo& info) {
    return record(info.Env(), [&](Sub* s) { dispatch(s, K_NOOP, {}, nullptr, 0, 1); });
  }

  uint32_t groupsFor(uint64_t items, uint32_t per, int axis = 0) {
    uint64_t g = (items + per - 1) / per;
    if (g == 0) g = 1;
    return (uint32_t)std::min<uint64_t>(g, maxGroups_[axis]);
  }

  // Short rows: one invocation per row (no barriers; lavapipe and GPUs alike prefer it). Long
  // rows: one workgroup per row with a subgroup (or shared-memory) reduction.
  static constexpr uint32_t kRowsVariantMaxDim = 256;

  void normalize(Sub* s, Buf* src, Buf* dst, uint32_t rows, uint32_t dim, bool transposed) {
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
  Napi::Value PatternScores(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t K = info[1].As<Napi::Number>().Uint32Value(), D = info[2].As<Napi::Number>().Uint32Value();
    uint32_t B = info[4].As<Napi::Number>().Uint32Value(), topK = info[5].As<Napi::Number>().Uint32Value();
    size_t n;
    int32_t* outIdx = reinterpret_cast<int32_t*>(viewData(info[6], &n));
    float* outScores = reinterpret_cast<float*>(viewData(info[7], &n));
    float* all = info[8].IsTypedArray() ? reinterpret_cast<float*>(viewData(info[8], &n)) : nullptr;
    if ((B + scoresQb_ - 1) / scoresQb_ > maxGroups_[1]) throw makeError(env, "too many queries for one call", "VULKAN_BAD_ARGUMENT");
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
      uint32_t push[3] = {K, D, B};
      dispatch(s, K_SCORES, {snT, qn, scores}, push, sizeof push, groupsFor(K, wg_), (B + scoresQb_ - 1) / scoresQb_);
      readBack(s, scores, (size_t)B * K * 4, reinterpret_cast<uint8_t*>(all));
      for (int i = 6; i <= 8; ++i)
        if (info[i].IsTypedArray()) s->refs.push_back(Napi::Persistent(info[i].As<Napi::Object>()));
      s->host = [this, s, K, B, topK, outIdx, outScores]() {
        const float* sc = reinterpret_cast<const float*>(hostView(s->outs[0]));
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
  Napi::Value RollingMoments(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t N = info[1].As<Napi::Number>().Uint32Value(), W = info[2].As<Napi::Number>().Uint32Value();
    uint32_t M = N - W + 1;
    size_t n;
    uint8_t* mean = viewData(info[3], &n);
    uint8_t* var = viewData(info[4], &n);
    return record(env, [&](Sub* s) {
      Buf* src = input(env, s, info[0], (size_t)N * 4, "series");
      Buf* om = output(s, (size_t)M * 4);
      Buf* ov = output(s, (size_t)M * 4);
      // Runs of CH outputs per invocation slide the window (O(1) per output); CH = 1 is the
      // plain two-pass per window, used for short windows.
      uint32_t ch = W >= 8 ? 32u : 1u;
      uint32_t push[3] = {M, W, ch};
      dispatch(s, K_ROLLING, {src, om, ov}, push, sizeof push, groupsFor((M + ch - 1) / ch, wg_));
      readBack(s, om, (size_t)M * 4, mean);
      readBack(s, ov, (size_t)M * 4, var);
      s->refs.push_back(Napi::Persistent(info[3].As<Napi::Object>()));
      s->refs.push_back(Napi::Persistent(info[4].As<Napi::Object>()));
    });
  }

  // sgemm(m, n, k, alpha, beta, a, b, c)
  Napi::Value Sgemm(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t M = info[0].As<Napi::Number>().Uint32Value(), N = info[1].As<Napi::Number>().Uint32Value(), K = info[2].As<Napi::Number>().Uint32Value();
    float alpha = info[3].As<Napi::Number>().FloatValue(), beta = info[4].As<Napi::Number>().FloatValue();
    uint32_t gx = (N + sgemmTx_ * 4 - 1) / (sgemmTx_ * 4), gy = (M + sgemmTy_ * 4 - 1) / (sgemmTy_ * 4);
    if (gx > maxGroups_[0] || gy > maxGroups_[1]) throw makeError(env, "sgemm: matrix too large for one dispatch", "VULKAN_BAD_ARGUMENT");
    return record(env, [&](Sub* s) {
      Buf* A = input(env, s, info[5], (size_t)M * K * 4, "a");
      Buf* Bm = input(env, s, info[6], (size_t)K * N * 4, "b");
      Buf* C;
      size_t cBytes = (size_t)M * N * 4;
      if (info[7].IsNumber()) {
        C = input(env, s, info[7], cBytes, "c");
        C->version++;
      } else {
        C = beta != 0.0f ? input(env, s, info[7], cBytes, "c") : output(s, cBytes);
        size_t n;
        readBack(s, C, cBytes, viewData(info[7], &n));
        s->refs.push_back(Napi::Persistent(info[7].As<Napi::Object>()));
      }
      struct { uint32_t m, n, k; float alpha, beta; } push{M, N, K, alpha, beta};
      dispatch(s, sgemmDirect_ ? K_SGEMM_DIRECT : K_SGEMM, {A, Bm, C}, &push, sizeof push, std::max(gx, 1u), std::max(gy, 1u));
    });
  }

  // monteCarlo(v: Float32Array(F), F, paths, horizon, seedLo, seedHi, hm, confidence)
  //   -> { var, cvar, meanLoss, stdLoss, stdLossSample }
  Napi::Value MonteCarlo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t F = info[1].As<Napi::Number>().Uint32Value(), P = info[2].As<Napi::Number>().Uint32Value(), H = info[3].As<Napi::Number>().Uint32Value();
    uint32_t lo = info[4].As<Napi::Number>().Uint32Value(), hi = info[5].As<Napi::Number>().Uint32Value();
    double hm = info[6].As<Napi::Number>().DoubleValue(), conf = info[7].As<Napi::Number>().DoubleValue();
    struct Out { double var = 0, cvar = 0, mean = 0, sd = 0, sds = 0; };
    auto out = std::make_shared<Out>();
    return record(env, [&](Sub* s) {
      Buf* V = input(env, s, info[0], (size_t)std::max<uint32_t>(F, 1) * 4, "factor^T weights");
      Buf* S = output(s, (size_t)P * 4);
      uint32_t push[6] = {P, H, F, lo, hi, 0};
      dispatch(s, K_MCVAR, {V, S}, push, sizeof push, groupsFor(P, wg_));
      readBack(s, S, (size_t)P * 4, nullptr);
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

  Napi::Value PipelineCacheData(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!device_ || !pcache_) return env.Null();
    size_t n = 0;
    if (d.vkGetPipelineCacheData(device_, pcache_, &n, nullptr) != VK_SUCCESS || n == 0) return env.Null();
    auto buf = Napi::Buffer<uint8_t>::New(env, n);
    if (d.vkGetPipelineCacheData(device_, pcache_, &n, buf.Data()) != VK_SUCCESS) return env.Null();
    return buf;
  }

  Napi::Value SimulateDeviceLost(const Napi::CallbackInfo& info) {
    markLost(info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : std::string("simulated device loss"));
    return info.Env().Undefined();
  }

  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    teardown();
    return info.Env().Undefined();
  }

  Napi::Value GetLost(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), lost_.load()); }
  Napi::Value GetLastKernelNs(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), lastKernelNs_); }
  Napi::Value GetValidationMessages(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), validationMessages_.load()); }
  Napi::Value GetInFlight(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), inFlight_); }
  Napi::Value GetMemoryInUse(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), (double)memoryInUse_); }
};

}  // namespace

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  InstanceHandle inst;
  std::string why = createInstance(inst, false, nullptr, nullptr);
  if (!why.empty()) {
    o.Set("ok", false);
    o.Set("reason", why);
    return o;
  }
  auto devs = enumerateDevices(inst);
  Napi::Array arr = Napi::Array::New(env, devs.size());
  for (size_t i = 0; i < devs.size(); ++i) {
    auto& dv = devs[i];
    auto& l = dv.props.limits;
    Napi::Object x = Napi::Object::New(env);
    x.Set("index", dv.index);
    x.Set("name", std::string(dv.props.deviceName));
    x.Set("type", deviceTypeName(dv.props.deviceType));
    x.Set("driverName", dv.driverName);
    x.Set("driverInfo", dv.driverInfo);
    x.Set("apiVersion", versionString(dv.props.apiVersion));
    x.Set("vendorId", dv.props.vendorID);
    x.Set("memoryBytes", (double)dv.deviceLocalBytes);
    x.Set("subgroupSize", dv.subgroupSize);
    x.Set("subgroupArithmetic", (dv.subgroupOps & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) != 0 && (dv.subgroupStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0);
    x.Set("maxComputeWorkGroupInvocations", l.maxComputeWorkGroupInvocations);
    x.Set("maxComputeSharedMemorySize", l.maxComputeSharedMemorySize);
    x.Set("maxStorageBufferRange", (double)l.maxStorageBufferRange);
    x.Set("suitable", dv.suitable);
    x.Set("whyNot", dv.whyNot);
    arr.Set((uint32_t)i, x);
  }
  o.Set("ok", true);
  o.Set("devices", arr);
  o.Set("defaultIndex", pickDefault(devs));
  o.Set("instanceVersion", versionString(inst.apiVersion));
  inst.destroy();
  return o;
}

Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  exports.Set("VulkanContext", Context::Init(env));
  exports.Set("probe", Napi::Function::New(env, Probe));
#ifdef CWTS_VULKAN_DEBUG
  exports.Set("debugBuild", Napi::Boolean::New(env, true));
#else
  exports.Set("debugBuild", Napi::Boolean::New(env, false));
#endif
  return exports;
}

NODE_API_MODULE(cwts_vulkan, InitAll)
