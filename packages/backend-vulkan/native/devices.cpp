#include "devices.h"
#include <cstring>

namespace cwtsvk {

const char* deviceTypeName(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete-gpu";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated-gpu";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual-gpu";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu-device";
    default: return "other";
  }
}

static int typeRank(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
  }
}

std::string versionString(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) + "." +
         std::to_string(VK_API_VERSION_PATCH(v));
}

void InstanceHandle::destroy() {
  if (messenger && fn.vkDestroyDebugUtilsMessengerEXT) fn.vkDestroyDebugUtilsMessengerEXT(instance, messenger, nullptr);
  messenger = VK_NULL_HANDLE;
  if (instance && fn.vkDestroyInstance) fn.vkDestroyInstance(instance, nullptr);
  instance = VK_NULL_HANDLE;
}

std::string createInstance(InstanceHandle& out, bool wantValidation, PFN_vkDebugUtilsMessengerCallbackEXT cb, void* user) {
  const std::string& le = loadLoader();
  if (!le.empty()) return le;
  uint32_t loaderVersion = VK_API_VERSION_1_0;
  auto enumVersion = (PFN_vkEnumerateInstanceVersion)vkGetInstanceProcAddr(nullptr, "vkEnumerateInstanceVersion");
  if (enumVersion) enumVersion(&loaderVersion);
  if (loaderVersion < VK_API_VERSION_1_1) return "Vulkan loader is " + versionString(loaderVersion) + "; 1.1 or newer is required";
  out.apiVersion = loaderVersion < VK_API_VERSION_1_3 ? loaderVersion : VK_API_VERSION_1_3;

  uint32_t n = 0;
  vkEnumerateInstanceExtensionProperties(nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> exts(n);
  vkEnumerateInstanceExtensionProperties(nullptr, &n, exts.data());
  auto hasExt = [&](const char* name) {
    for (auto& e : exts) if (!std::strcmp(e.extensionName, name)) return true;
    return false;
  };
  std::vector<const char*> enable;
  VkInstanceCreateFlags flags = 0;
  if (hasExt("VK_KHR_portability_enumeration")) {  // MoltenVK and other portability drivers
    enable.push_back("VK_KHR_portability_enumeration");
    flags |= 0x00000001;  // VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR
  }
  std::vector<const char*> layers;
  out.validation = false;
  if (wantValidation) {
    uint32_t ln = 0;
    vkEnumerateInstanceLayerProperties(&ln, nullptr);
    std::vector<VkLayerProperties> lps(ln);
    vkEnumerateInstanceLayerProperties(&ln, lps.data());
    bool haveLayer = false;
    for (auto& l : lps) if (!std::strcmp(l.layerName, "VK_LAYER_KHRONOS_validation")) haveLayer = true;
    if (haveLayer && hasExt(VK_EXT_DEBUG_UTILS_EXTENSION_NAME)) {
      layers.push_back("VK_LAYER_KHRONOS_validation");
      enable.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
      out.validation = true;
    }
  }
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "cwts-ultra";
  app.pEngineName = "@cwts/backend-vulkan";
  app.apiVersion = out.apiVersion;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.flags = flags;
  ci.pApplicationInfo = &app;
  ci.enabledExtensionCount = (uint32_t)enable.size();
  ci.ppEnabledExtensionNames = enable.data();
  ci.enabledLayerCount = (uint32_t)layers.size();
  ci.ppEnabledLayerNames = layers.data();
  VkResult r = vkCreateInstance(&ci, nullptr, &out.instance);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
    return "no Vulkan driver (ICD): the loader found no installable client driver (install mesa-vulkan-drivers for lavapipe, or a GPU driver)";
  if (r != VK_SUCCESS) return std::string("vkCreateInstance failed: ") + resultName(r);
  out.fn.load(out.instance);
  if (out.validation && out.fn.vkCreateDebugUtilsMessengerEXT) {
    VkDebugUtilsMessengerCreateInfoEXT mi{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    mi.pfnUserCallback = cb;
    mi.pUserData = user;
    out.fn.vkCreateDebugUtilsMessengerEXT(out.instance, &mi, nullptr, &out.messenger);
  }
  return "";
}

std::vector<DeviceInfo> enumerateDevices(InstanceHandle& inst) {
  auto& f = inst.fn;
  uint32_t n = 0;
  f.vkEnumeratePhysicalDevices(inst.instance, &n, nullptr);
  std::vector<VkPhysicalDevice> pds(n);
  if (n) f.vkEnumeratePhysicalDevices(inst.instance, &n, pds.data());
  std::vector<DeviceInfo> out;
  for (uint32_t i = 0; i < n; ++i) {
    DeviceInfo d;
    d.index = i;
    d.pd = pds[i];
    f.vkGetPhysicalDeviceProperties(pds[i], &d.props);
    uint32_t effective = d.props.apiVersion < inst.apiVersion ? d.props.apiVersion : inst.apiVersion;
    VkPhysicalDeviceSubgroupProperties sg{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceDriverProperties drv{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    if (effective >= VK_API_VERSION_1_1) {
      VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
      p2.pNext = &sg;
      if (effective >= VK_API_VERSION_1_2) sg.pNext = &drv;
      f.vkGetPhysicalDeviceProperties2(pds[i], &p2);
      d.subgroupSize = sg.subgroupSize;
      d.subgroupOps = sg.supportedOperations;
      d.subgroupStages = sg.supportedStages;
      if (effective >= VK_API_VERSION_1_2) {
        d.driverName = drv.driverName;
        d.driverInfo = drv.driverInfo;
      }
    }
    VkPhysicalDeviceMemoryProperties mp;
    f.vkGetPhysicalDeviceMemoryProperties(pds[i], &mp);
    for (uint32_t h = 0; h < mp.memoryHeapCount; ++h)
      if (mp.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) d.deviceLocalBytes += mp.memoryHeaps[h].size;
    uint32_t qn = 0;
    f.vkGetPhysicalDeviceQueueFamilyProperties(pds[i], &qn, nullptr);
    std::vector<VkQueueFamilyProperties> qf(qn);
    f.vkGetPhysicalDeviceQueueFamilyProperties(pds[i], &qn, qf.data());
    // Prefer a compute-only family (async compute on discrete GPUs), else any with compute.
    for (uint32_t q = 0; q < qn; ++q) {
      if (!(qf[q].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
      bool computeOnly = !(qf[q].queueFlags & VK_QUEUE_GRAPHICS_BIT);
      if (d.computeFamily < 0 || computeOnly) {
        d.computeFamily = (int)q;
        d.timestampValidBits = qf[q].timestampValidBits;
        if (computeOnly) break;
      }
    }
    d.rank = typeRank(d.props.deviceType);
    if (d.props.apiVersion < VK_API_VERSION_1_1) d.whyNot = "Vulkan " + versionString(d.props.apiVersion) + " (1.1 required)";
    else if (d.computeFamily < 0) d.whyNot = "no queue family with compute";
    else if (d.props.limits.maxComputeWorkGroupInvocations < 64) d.whyNot = "maxComputeWorkGroupInvocations < 64";
    d.suitable = d.whyNot.empty();
    out.push_back(std::move(d));
  }
  return out;
}

int pickDefault(const std::vector<DeviceInfo>& devs) {
  int best = -1;
  for (size_t i = 0; i < devs.size(); ++i) {
    if (!devs[i].suitable) continue;
    if (best < 0 || devs[i].rank < devs[best].rank) best = (int)i;
  }
  return best;
}

}  // namespace cwtsvk
