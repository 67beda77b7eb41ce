// Context, part 3 of 5 (see context.h): memory. User buffers (ids handed to JS), the pool of
// temporaries that carry host Float32Array arguments, and the JS-facing transfers. A freed
// buffer still used by in-flight work is retired until its submission completes.

#include "context.h"

#include <cwts/js_result_target.h>

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

void Context::freeBuf(Buf* b) {
  if (!b) return;
  if (b->mapped) d.vkUnmapMemory(device_, b->memory);
  if (b->buffer) d.vkDestroyBuffer(device_, b->buffer, nullptr);
  if (b->memory) d.vkFreeMemory(device_, b->memory, nullptr);
  memoryInUse_ -= b->capacity;
  delete b;
}

Buf* Context::allocBuf(size_t bytes, bool host, bool mapUserBuffer) {
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
Buf* Context::acquireTemp(Sub* s, size_t bytes, bool host) {
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

void Context::releaseTemp(Buf* b) {
  const uint64_t cap = 512ull << 20;
  if (pooledBytes_ + b->capacity > cap) {
    freeBuf(b);
    return;
  }
  (b->host ? freeHost_ : freeDev_).emplace(b->capacity, b);
  pooledBytes_ += b->capacity;
}

void Context::trimPool() {
  for (auto& kv : freeHost_) freeBuf(kv.second);
  for (auto& kv : freeDev_) freeBuf(kv.second);
  freeHost_.clear();
  freeDev_.clear();
  pooledBytes_ = 0;
}

void Context::retire(Buf* b) {
  if (!b) return;
  if (b->lastUse <= completedSerial_) freeBuf(b);
  else deferredFree_.push_back({b->lastUse, b});
}

Buf* Context::userBuf(Napi::Env env, uint32_t id) {
  auto it = buffers_.find(id);
  if (it == buffers_.end()) throw makeError(env, "unknown or freed device buffer id " + std::to_string(id), "VULKAN_BAD_BUFFER");
  return it->second;
}

/** A kernel input: a device buffer id (no transfer) or a Float32Array moved for the call. */
Buf* Context::input(Napi::Env env, Sub* s, Napi::Value v, size_t bytes, const char* what) {
  if (v.IsNumber()) {
    Buf* b = userBuf(env, v.As<Napi::Number>().Uint32Value());
    if (b->byteLength < bytes)
      throw makeError(env, std::string(what) + ": device buffer holds " + std::to_string(b->byteLength) + " bytes, " + std::to_string(bytes) + " needed", "VULKAN_BAD_BUFFER");
    b->lastUse = s->serial;
    return b;
  }
  if (!v.IsTypedArray()) throw makeError(env, std::string(what) + ": expected a Float32Array or a device buffer", "VULKAN_BAD_ARGUMENT");
  size_t len = 0;
  const uint8_t* src = viewData(v, &len);
  size_t n = std::min(bytes, len);
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
Buf* Context::output(Sub* s, size_t bytes) { return acquireTemp(s, bytes, directTemps_); }

/** After the kernels: make `src` readable from the host; a JS array (if given) receives a copy at completion. */
void Context::readBack(Sub* s, Buf* src, size_t bytes, Napi::Value jsDst, VkDeviceSize srcOffset, bool userSrc, const char* what) {
  PendingCopyOut o{src, nullptr, srcOffset, bytes};
  if (!src->mapped) o.staging = acquireTemp(s, bytes, true);
  if (!jsDst.IsEmpty() && jsDst.IsTypedArray()) {
    o.dst = jsOutput(s, jsDst, bytes, what);
    s->dsts[o.dst].out = (int)s->outs.size();
    // A mapped user buffer may be rewritten by work submitted after this call before the JS
    // thread gets to finalize(): take its bytes on the completion thread, right after the fence.
    o.snapshot = userSrc && !o.staging;
  }
  s->outs.push_back(o);
}

int Context::jsOutput(Sub* s, Napi::Value jsDst, size_t bytes, const char* what) {
  JsDst d;
  d.ref = Napi::Persistent(jsDst.As<Napi::Object>());
  d.what = what;
  d.bytes = bytes;
  s->dsts.push_back(std::move(d));
  return (int)s->dsts.size() - 1;
}

bool Context::copyToJs(Napi::Env env, Sub* s, std::string* why) {
  bool ok = true;
  for (auto& d : s->dsts) {
    if (d.bytes == 0) continue;
    std::string reason;
    void* data = cwts::jsResultTarget(env, d.ref.Value(), d.bytes, d.what, &reason);
    if (data == nullptr) {
      if (ok) *why = reason;
      ok = false;
      continue;
    }
    const uint8_t* from = !d.data.empty() ? d.data.data() : (d.out >= 0 ? hostView(s->outs[(size_t)d.out]) : nullptr);
    if (from) std::memcpy(data, from, d.bytes);
  }
  return ok;
}

const uint8_t* Context::hostView(const PendingCopyOut& o) const { return o.staging ? o.staging->mapped : o.src->mapped + o.srcOffset; }

// napi_get_typedarray_info gives the data pointer (already moved by the byte offset) for any
// backing store. TypedArray::ArrayBuffer().Data() goes through napi_get_arraybuffer_info, which
// fails on a SharedArrayBuffer: every call with a shared Float32Array (an ordinary Float32Array
// to every argument check) threw a bare "Invalid argument".
uint8_t* Context::viewData(Napi::Value v, size_t* len) {
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  napi_value arrayBuffer;
  NAPI_THROW_IF_FAILED(v.Env(), napi_get_typedarray_info(v.Env(), v, &type, &length, &data, &arrayBuffer, &offset), nullptr);
  *len = data ? v.As<Napi::TypedArray>().ByteLength() : 0;  // a detached array has no bytes
  return static_cast<uint8_t*>(data);
}

Napi::Value Context::CreateBuffer(const Napi::CallbackInfo& info) {
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

Napi::Value Context::FreeBuffer(const Napi::CallbackInfo& info) {
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

Napi::Value Context::Upload(const Napi::CallbackInfo& info) {
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

Napi::Value Context::Download(const Napi::CallbackInfo& info) {
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
    (void)dst;
    return record(env, [&](Sub* s) {
      markStart(s);
      readBack(s, b, n, info[1], off, true, "dst");
      b->lastUse = s->serial;
    });
  });
}

Napi::Value Context::Copy(const Napi::CallbackInfo& info) {
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

}  // namespace cwtsvk
