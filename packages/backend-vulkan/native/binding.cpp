// The N-API surface of the addon: the VulkanContext class (its methods are implemented in the
// context_*.cpp files), probe() (which opens a throwaway instance and lists devices without
// creating one), and module registration. C++ exceptions become JS errors with a `code`
// (VULKAN_UNAVAILABLE, VULKAN_OUT_OF_MEMORY, ...) that src/backend.ts maps.

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

Napi::Function Context::Init(Napi::Env env) {
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

Context::Context(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Context>(info) {
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


Context::~Context() { teardown(); }

Napi::Value Context::GetLost(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), lost_.load()); }

Napi::Value Context::GetLastKernelNs(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), lastKernelNs_); }

Napi::Value Context::GetValidationMessages(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), validationMessages_.load()); }

Napi::Value Context::GetInFlight(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), inFlight_); }

Napi::Value Context::GetMemoryInUse(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), (double)memoryInUse_); }

}  // namespace cwtsvk

using namespace cwtsvk;

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
  exports.Set("VulkanContext", cwtsvk::Context::Init(env));
  exports.Set("probe", Napi::Function::New(env, Probe));
#ifdef CWTS_VULKAN_DEBUG
  exports.Set("debugBuild", Napi::Boolean::New(env, true));
#else
  exports.Set("debugBuild", Napi::Boolean::New(env, false));
#endif
  return exports;
}

NODE_API_MODULE(cwts_vulkan, InitAll)
