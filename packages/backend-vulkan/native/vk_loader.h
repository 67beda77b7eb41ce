// Runtime Vulkan loading (volk-style, written here): the addon does not link libvulkan, so it
// loads on machines without a Vulkan loader and the probe can say "no loader" instead of the
// require() failing. Functions are fetched through vkGetInstanceProcAddr / vkGetDeviceProcAddr.
#pragma once
#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>
#include <string>

#define CWTS_VK_GLOBAL_FUNCS(X)              \
  X(vkCreateInstance)                        \
  X(vkEnumerateInstanceExtensionProperties)  \
  X(vkEnumerateInstanceLayerProperties)

#define CWTS_VK_INSTANCE_FUNCS(X)                 \
  X(vkDestroyInstance)                            \
  X(vkEnumeratePhysicalDevices)                   \
  X(vkGetPhysicalDeviceProperties)                \
  X(vkGetPhysicalDeviceProperties2)               \
  X(vkGetPhysicalDeviceFeatures)                  \
  X(vkGetPhysicalDeviceQueueFamilyProperties)     \
  X(vkGetPhysicalDeviceMemoryProperties)          \
  X(vkEnumerateDeviceExtensionProperties)         \
  X(vkCreateDevice)                               \
  X(vkGetDeviceProcAddr)

#define CWTS_VK_DEVICE_FUNCS(X)        \
  X(vkDestroyDevice)                   \
  X(vkGetDeviceQueue)                  \
  X(vkCreateBuffer)                    \
  X(vkDestroyBuffer)                   \
  X(vkGetBufferMemoryRequirements)     \
  X(vkAllocateMemory)                  \
  X(vkFreeMemory)                      \
  X(vkBindBufferMemory)                \
  X(vkMapMemory)                       \
  X(vkUnmapMemory)                     \
  X(vkCreateCommandPool)               \
  X(vkDestroyCommandPool)              \
  X(vkAllocateCommandBuffers)          \
  X(vkFreeCommandBuffers)              \
  X(vkResetCommandBuffer)              \
  X(vkBeginCommandBuffer)              \
  X(vkEndCommandBuffer)                \
  X(vkCmdCopyBuffer)                   \
  X(vkCmdPipelineBarrier)              \
  X(vkCmdBindPipeline)                 \
  X(vkCmdBindDescriptorSets)           \
  X(vkCmdPushConstants)                \
  X(vkCmdDispatch)                     \
  X(vkCmdResetQueryPool)               \
  X(vkCmdWriteTimestamp)               \
  X(vkCreateQueryPool)                 \
  X(vkDestroyQueryPool)                \
  X(vkGetQueryPoolResults)             \
  X(vkQueueSubmit)                     \
  X(vkQueueWaitIdle)                   \
  X(vkDeviceWaitIdle)                  \
  X(vkCreateFence)                     \
  X(vkDestroyFence)                    \
  X(vkResetFences)                     \
  X(vkWaitForFences)                   \
  X(vkCreateShaderModule)              \
  X(vkDestroyShaderModule)             \
  X(vkCreateDescriptorSetLayout)       \
  X(vkDestroyDescriptorSetLayout)      \
  X(vkCreatePipelineLayout)            \
  X(vkDestroyPipelineLayout)           \
  X(vkCreateComputePipelines)          \
  X(vkDestroyPipeline)                 \
  X(vkCreatePipelineCache)             \
  X(vkDestroyPipelineCache)            \
  X(vkGetPipelineCacheData)            \
  X(vkCreateDescriptorPool)            \
  X(vkDestroyDescriptorPool)           \
  X(vkResetDescriptorPool)             \
  X(vkAllocateDescriptorSets)          \
  X(vkUpdateDescriptorSets)

namespace cwtsvk {

#define CWTS_DECL(name) extern PFN_##name name;
extern PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
CWTS_VK_GLOBAL_FUNCS(CWTS_DECL)
#undef CWTS_DECL

struct InstanceFns {
#define CWTS_MEMBER(name) PFN_##name name = nullptr;
  CWTS_VK_INSTANCE_FUNCS(CWTS_MEMBER)
  PFN_vkCreateDebugUtilsMessengerEXT vkCreateDebugUtilsMessengerEXT = nullptr;
  PFN_vkDestroyDebugUtilsMessengerEXT vkDestroyDebugUtilsMessengerEXT = nullptr;
  void load(VkInstance inst);
};

struct DeviceFns {
  CWTS_VK_DEVICE_FUNCS(CWTS_MEMBER)
#undef CWTS_MEMBER
  void load(const InstanceFns& ifn, VkDevice dev);
};

/** Loads the loader once per process. Returns "" on success, else why not. */
const std::string& loadLoader();
const char* resultName(VkResult r);

}  // namespace cwtsvk
