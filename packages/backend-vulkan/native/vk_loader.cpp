#include "vk_loader.h"
#include <cstdlib>
#include <mutex>
#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace cwtsvk {

PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
#define CWTS_DEF(name) PFN_##name name = nullptr;
CWTS_VK_GLOBAL_FUNCS(CWTS_DEF)
#undef CWTS_DEF

static std::string g_loadError;
static std::once_flag g_once;

static void doLoad() {
  // CWTS_VULKAN_LOADER overrides the library (tests use it to simulate a machine without one).
  const char* override = std::getenv("CWTS_VULKAN_LOADER");
#if defined(_WIN32)
  const char* names[] = {override ? override : "vulkan-1.dll", nullptr};
#elif defined(__APPLE__)
  const char* names[] = {override ? override : "libvulkan.1.dylib", override ? nullptr : "libMoltenVK.dylib", nullptr};
#else
  const char* names[] = {override ? override : "libvulkan.so.1", override ? nullptr : "libvulkan.so", nullptr};
#endif
  void* lib = nullptr;
  std::string lastErr;
  for (int i = 0; names[i] && !lib; ++i) {
#ifdef _WIN32
    lib = (void*)LoadLibraryA(names[i]);
    if (!lib) lastErr = std::string("LoadLibrary(") + names[i] + ") failed";
#else
    lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* e = dlerror();
      lastErr = e ? e : names[i];
    }
#endif
  }
  if (!lib) {
    g_loadError = "no Vulkan loader (" + lastErr + ")";
    return;
  }
#ifdef _WIN32
  vkGetInstanceProcAddr = (PFN_vkGetInstanceProcAddr)GetProcAddress((HMODULE)lib, "vkGetInstanceProcAddr");
#else
  vkGetInstanceProcAddr = (PFN_vkGetInstanceProcAddr)dlsym(lib, "vkGetInstanceProcAddr");
#endif
  if (!vkGetInstanceProcAddr) {
    g_loadError = "no Vulkan loader (vkGetInstanceProcAddr missing from the library)";
    return;
  }
#define CWTS_LOAD(name) name = (PFN_##name)vkGetInstanceProcAddr(nullptr, #name);
  CWTS_VK_GLOBAL_FUNCS(CWTS_LOAD)
#undef CWTS_LOAD
  if (!vkCreateInstance) g_loadError = "no Vulkan loader (vkCreateInstance missing)";
}

const std::string& loadLoader() {
  std::call_once(g_once, doLoad);
  return g_loadError;
}

void InstanceFns::load(VkInstance inst) {
#define CWTS_LOAD(name) name = (PFN_##name)vkGetInstanceProcAddr(inst, #name);
  CWTS_VK_INSTANCE_FUNCS(CWTS_LOAD)
  CWTS_LOAD(vkCreateDebugUtilsMessengerEXT)
  CWTS_LOAD(vkDestroyDebugUtilsMessengerEXT)
#undef CWTS_LOAD
}

void DeviceFns::load(const InstanceFns& ifn, VkDevice dev) {
#define CWTS_LOAD(name) name = (PFN_##name)ifn.vkGetDeviceProcAddr(dev, #name);
  CWTS_VK_DEVICE_FUNCS(CWTS_LOAD)
#undef CWTS_LOAD
}

const char* resultName(VkResult r) {
  switch (r) {
#define C(x) case x: return #x;
    C(VK_SUCCESS) C(VK_NOT_READY) C(VK_TIMEOUT) C(VK_INCOMPLETE)
    C(VK_ERROR_OUT_OF_HOST_MEMORY) C(VK_ERROR_OUT_OF_DEVICE_MEMORY) C(VK_ERROR_INITIALIZATION_FAILED)
    C(VK_ERROR_DEVICE_LOST) C(VK_ERROR_MEMORY_MAP_FAILED) C(VK_ERROR_LAYER_NOT_PRESENT)
    C(VK_ERROR_EXTENSION_NOT_PRESENT) C(VK_ERROR_FEATURE_NOT_PRESENT) C(VK_ERROR_INCOMPATIBLE_DRIVER)
    C(VK_ERROR_TOO_MANY_OBJECTS) C(VK_ERROR_FORMAT_NOT_SUPPORTED) C(VK_ERROR_FRAGMENTED_POOL)
    C(VK_ERROR_OUT_OF_POOL_MEMORY) C(VK_ERROR_INVALID_SHADER_NV) C(VK_ERROR_UNKNOWN)
#undef C
    default: return "VK_ERROR_(other)";
  }
}

}  // namespace cwtsvk
