// Instance creation and physical-device enumeration, shared by probe() and the Context.
#pragma once
#include "vk_loader.h"
#include <cstdint>
#include <string>
#include <vector>

namespace cwtsvk {

struct DeviceInfo {
  uint32_t index = 0;
  VkPhysicalDevice pd = VK_NULL_HANDLE;
  VkPhysicalDeviceProperties props{};
  std::string driverName, driverInfo;
  uint32_t subgroupSize = 0, subgroupOps = 0, subgroupStages = 0;
  uint64_t deviceLocalBytes = 0;
  int computeFamily = -1;
  uint32_t timestampValidBits = 0;
  bool suitable = false;
  std::string whyNot;
  int rank = 9;
};

struct InstanceHandle {
  VkInstance instance = VK_NULL_HANDLE;
  InstanceFns fn;
  uint32_t apiVersion = VK_API_VERSION_1_1;
  bool validation = false;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  void destroy();
};

/** Returns "" on success, else a reason ("no Vulkan loader ...", "no Vulkan driver (ICD) ..."). */
std::string createInstance(InstanceHandle& out, bool wantValidation, PFN_vkDebugUtilsMessengerCallbackEXT cb, void* user);
std::vector<DeviceInfo> enumerateDevices(InstanceHandle& inst);
/** Index into `devs` of the preferred suitable device (discrete, integrated, virtual, cpu), or -1. */
int pickDefault(const std::vector<DeviceInfo>& devs);
const char* deviceTypeName(VkPhysicalDeviceType t);
std::string versionString(uint32_t v);

}  // namespace cwtsvk
