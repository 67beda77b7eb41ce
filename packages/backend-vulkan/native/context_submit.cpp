// Context, part 4 of 5 (see context.h): the execution model in one place. Recording on the JS
// thread, submission with a fence, the completion thread that waits on fences in order and
// runs each call's host tail, finalize() back on the JS thread (resolve/reject, recycle), and
// device loss (submit errors, fence errors, hangs past kernelTimeoutMs).

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

void Context::checkAlive(Napi::Env env) {
  if (destroyed_) throw makeError(env, "vulkan backend was disposed", "VULKAN_DISPOSED");
  if (lost_) {
    std::lock_guard<std::mutex> lk(lostMu_);
    throw makeError(env, "vulkan device lost (" + lostReason_ + "); the backend is unavailable", "VULKAN_DEVICE_LOST");
  }
}

void Context::markLost(const std::string& why) {
  std::lock_guard<std::mutex> lk(lostMu_);
  if (!lost_) lostReason_ = why;
  lost_ = true;
}

Sub* Context::begin(Napi::Env env) {
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
  s->lastSet = {};
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

void Context::barrier(Sub* s) {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  d.vkCmdPipelineBarrier(s->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

void Context::abort(Sub* s) {
  d.vkEndCommandBuffer(s->cb);
  for (auto* b : s->temps) releaseTemp(b);
  s->temps.clear();
  s->outs.clear();
  s->dsts.clear();
  s->host = nullptr;
  s->result = nullptr;
  s->refs.clear();
  s->deferred.reset();
  freeSubs_.push_back(s);
}

void Context::destroySub(Sub* s) {
  if (s->fence) d.vkDestroyFence(device_, s->fence, nullptr);
  if (s->dpool) d.vkDestroyDescriptorPool(device_, s->dpool, nullptr);
  if (s->qpool) d.vkDestroyQueryPool(device_, s->qpool, nullptr);
  if (s->cb) d.vkFreeCommandBuffers(device_, cmdPool_, 1, &s->cb);
  delete s;
}

void Context::dispatch(Sub* s, KernelId id, std::initializer_list<Buf*> bufs, const void* push, uint32_t pushBytes, uint32_t gx, uint32_t gy, uint32_t gz) {
  Kernel& k = kernels_[id];
  markStart(s);  // barrier (host-argument copies, previous kernel) and the start timestamp
  d.vkCmdBindPipeline(s->cb, VK_PIPELINE_BIND_POINT_COMPUTE, k.pipeline);
  if (k.bindings) {
    // The same buffers as the previous dispatch (a kernel split into several): its set again.
    // (Sets of one binding count share one layout, so they are compatible across kernels.)
    bool same = s->lastSet.set != VK_NULL_HANDLE && s->lastSet.bindings == k.bindings && bufs.size() == k.bindings;
    uint32_t n = 0;
    for (Buf* b : bufs) same = same && s->lastSet.bufs[n++] == b;
    VkDescriptorSet set = s->lastSet.set;
    if (!same) {
      VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
      ai.descriptorPool = s->dpool;
      ai.descriptorSetCount = 1;
      ai.pSetLayouts = &dsl_[k.bindings];
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
        s->lastSet.bufs[i] = b;
        ++i;
      }
      d.vkUpdateDescriptorSets(device_, i, w, 0, nullptr);
      s->lastSet.bindings = k.bindings;
      s->lastSet.set = set;
    }
    d.vkCmdBindDescriptorSets(s->cb, VK_PIPELINE_BIND_POINT_COMPUTE, k.layout, 0, 1, &set, 0, nullptr);
  }
  if (pushBytes) d.vkCmdPushConstants(s->cb, k.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, pushBytes, push);
  d.vkCmdDispatch(s->cb, gx, gy, gz);
}

Napi::Value Context::submit(Napi::Env env, Sub* s) {
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

void Context::completerLoop() {
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
        // JS memory is written only on the JS thread (finalize); here only snapshots of mapped
        // user buffers that later submissions may change, and the call's host-side tail.
        for (auto& o : s->outs)
          if (o.snapshot && o.dst >= 0 && o.bytes) {
            auto& d = s->dsts[(size_t)o.dst];
            const uint8_t* from = hostView(o);
            d.data.assign(from, from + o.bytes);
          }
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

void Context::finalize(Napi::Env env, Sub* s) {
  std::string err = s->error, code = s->errorCode;
  // Results into the JS arrays, here on the JS thread, while the temporaries still hold them.
  if (err.empty() && !s->dsts.empty()) {
    std::string why;
    if (!copyToJs(env, s, &why)) {
      err = why;
      code = "VULKAN_BAD_ARGUMENT";
    }
  }
  s->dsts.clear();
  completedSerial_ = std::max(completedSerial_, s->serial);
  if (s->gpuNs >= 0) lastKernelNs_ = s->gpuNs;
  auto deferred = std::move(s->deferred);
  auto result = std::move(s->result);
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

Napi::Value Context::resolved(Napi::Env env, Napi::Value v) {
  auto dfd = Napi::Promise::Deferred::New(env);
  dfd.Resolve(v);
  return dfd.Promise();
}

void Context::markStart(Sub* s) {
  barrier(s);
  if (!s->dispatched) {
    if (s->qpool) d.vkCmdWriteTimestamp(s->cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, s->qpool, 0);
    s->timed = s->qpool != VK_NULL_HANDLE;
    s->dispatched = true;
  }
}

Napi::Value Context::SimulateDeviceLost(const Napi::CallbackInfo& info) {
  markLost(info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : std::string("simulated device loss"));
  return info.Env().Undefined();
}

}  // namespace cwtsvk
