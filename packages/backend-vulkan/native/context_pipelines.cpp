// Context, part 2 of 5 (see context.h): compute pipelines. The SPIR-V is read from the
// package's shaders/ at run time (so the binary does not change when a shader is recompiled),
// specialised for the device's workgroup sizes, and built through a pipeline cache the caller
// may persist across runs (pipelineCacheData()).

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

/** Seeded from the caller's bytes of an earlier run; incompatible or corrupt data starts empty. */
void Context::createPipelineCache(Napi::Object opts) {
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
}

/** Descriptor set layouts for 1..3 storage buffers, then one compute pipeline per kernel,
 * specialised for the workgroup sizes init() derived from the device limits. */
void Context::createKernels(const std::string& dir) {
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
  makeKernel(K_NOOP, dir + "/noop.spv", 0, 0, {});
  makeKernel(K_NORMALIZE, dir + (useSubgroupNormalize_ ? "/normalize_sg.spv" : "/normalize.spv"), 2, 16, {normWg_});
  makeKernel(K_SCORES, dir + "/scores.spv", 3, 12, {wg_});
  makeKernel(K_SCORES_DRANGE, dir + "/scores_drange.spv", 3, 20, {wg_});
  makeKernel(K_NORMROWS, dir + "/normalize_rows.spv", 2, 16, {wg_});
  makeKernel(K_ROLLING, dir + "/rolling.spv", 3, 12, {wg_});
  makeKernel(K_ROLLING_UNROLLED, dir + "/rolling_unrolled.spv", 3, 12, {wg_});
  makeKernel(K_SGEMM, dir + "/sgemm.spv", 3, 28, {sgemmTx_, sgemmTy_});
  makeKernel(K_SGEMM_DIRECT, dir + "/sgemm_direct.spv", 3, 28, {sgemmTx_, sgemmTy_});
  makeKernel(K_MCVAR, dir + "/mcvar.spv", 2, 24, {wg_});
}

std::vector<uint32_t> Context::readSpirv(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw VkFailure(VK_ERROR_INITIALIZATION_FAILED, "missing shader " + path, "VULKAN_UNAVAILABLE");
  size_t n = (size_t)f.tellg();
  if (n == 0 || n % 4) throw VkFailure(VK_ERROR_INITIALIZATION_FAILED, "bad SPIR-V file " + path, "VULKAN_UNAVAILABLE");
  std::vector<uint32_t> words(n / 4);
  f.seekg(0);
  f.read(reinterpret_cast<char*>(words.data()), (std::streamsize)n);
  return words;
}

void Context::makeKernel(KernelId id, const std::string& path, uint32_t bindings, uint32_t pushBytes, std::vector<uint32_t> spec) {
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

Napi::Value Context::PipelineCacheData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!device_ || !pcache_) return env.Null();
  size_t n = 0;
  if (d.vkGetPipelineCacheData(device_, pcache_, &n, nullptr) != VK_SUCCESS || n == 0) return env.Null();
  auto buf = Napi::Buffer<uint8_t>::New(env, n);
  if (d.vkGetPipelineCacheData(device_, pcache_, &n, buf.Data()) != VK_SUCCESS) return env.Null();
  return buf;
}

}  // namespace cwtsvk
