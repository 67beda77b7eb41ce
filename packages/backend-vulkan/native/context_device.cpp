// Context, part 1 of 5 (see context.h): opening a Vulkan device for compute. Picks the device
// (by index, by name, or the default ranking in devices.cpp), creates the queue and command
// pool, chooses memory types (UMA devices write temporaries in place, others stage), derives
// workgroup sizes from the device limits, and starts the completion thread. teardown() undoes
// all of it in reverse and is safe to call twice (destroy(), the destructor, env cleanup).

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

VKAPI_ATTR VkBool32 VKAPI_CALL Context::debugCallback(VkDebugUtilsMessageSeverityFlagBitsEXT sev, VkDebugUtilsMessageTypeFlagsEXT,
                                                   const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  auto* self = static_cast<Context*>(user);
  self->validationMessages_++;
  fprintf(stderr, "[cwts vulkan validation %s] %s\n", sev >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
          data && data->pMessage ? data->pMessage : "");
  return VK_FALSE;
}

void Context::init(Napi::Env env, Napi::Object opts) {
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
  createPipelineCache(opts);

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
  // llvmpipe's loop limit (context.h, loopBudget_). Applied to every CPU device: the other CPU
  // implementations pay only a few more dispatches for it. GPUs have no such limit.
  loopBudget_ = dev_.props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? kLlvmpipeLoopLimit / 4 * 3 : 0;
  maxBufferBytes_ = std::min<uint64_t>(lim.maxStorageBufferRange, 0xFFFFFFFCull);
  timestampPeriod_ = lim.timestampPeriod;
  timestamps_ = dev_.timestampValidBits > 0 && (lim.timestampComputeAndGraphics || dev_.timestampValidBits > 0);

  createKernels(opts.Get("shaderDir").As<Napi::String>().Utf8Value());

  tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "cwts-vulkan-completion", 0, 1);
  tsfn_.Unref(env);
  completer_ = std::thread([this] { completerLoop(); });
  napi_add_env_cleanup_hook(env, &Context::cleanupHook, this);
  cleanupHook_ = true;
}

void Context::cleanupHook(void* p) {
  auto* self = static_cast<Context*>(p);
  self->cleanupHook_ = false;
  self->teardown();
}

void Context::teardown() {
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

Napi::Value Context::Info(const Napi::CallbackInfo& info) {
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
  o.Set("loopIterationBudget", loopBudget_);
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

Napi::Value Context::Destroy(const Napi::CallbackInfo& info) {
  teardown();
  return info.Env().Undefined();
}

}  // namespace cwtsvk
