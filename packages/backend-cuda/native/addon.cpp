// Node-API addon of the CUDA backend, and (compiled by hipcc with CWTS_HIP) of the ROCm backend.
//
// Execution model: every operation is enqueued on the context's one stream from the JS thread,
// in call order, so the contract's "operations take effect in call order" holds by stream
// order. Host arrays are staged through pinned memory (copied in on the JS thread, DMA'd
// asynchronously); an event recorded after the operation's last command is waited on by an
// N-API async worker, which does the host part (top-k selection, VaR quantile) off the JS thread
// into pinned memory. Results reach the caller's arrays only on the JS thread, at completion, and
// only while each array is still attached and long enough: the caller may transfer an array's
// ArrayBuffer while the call is in flight, and a worker-thread write into it would hit freed
// memory. Argument rules are checked in TypeScript (shared with core); the checks here only
// keep the process safe from a caller that bypasses them.
#include <napi.h>

#include <cwts/js_result_target.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <unordered_map>
#include <vector>

#include "gpu_compat.h"
#include "kernels.h"
#include "pools.h"
#include "vendor_blas.h"

#ifndef CWTS_ADDON_NAME
#define CWTS_ADDON_NAME cwts_cuda
#endif

namespace cwts {
namespace {

std::string prefixed(const char* suffix) { return std::string(GPU_CODE_PREFIX) + suffix; }

Napi::Error withCode(Napi::Env env, const std::string& message, const std::string& code) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

std::string describe(gpuError_t e) { return std::string(gpuGetErrorName(e)) + ": " + gpuGetErrorString(e); }

std::string codeOf(gpuError_t e) { return prefixed(e == gpuErrorMemoryAllocation ? "_OUT_OF_MEMORY" : "_ERROR"); }

Napi::Error gpuError(Napi::Env env, const std::string& what, gpuError_t e) { return withCode(env, what + " failed (" + describe(e) + ")", codeOf(e)); }

Napi::Error badArgument(Napi::Env env, const std::string& message) { return withCode(env, message, prefixed("_BAD_ARGUMENT")); }

Napi::Error badBuffer(Napi::Env env, const std::string& message) { return withCode(env, message, prefixed("_BAD_BUFFER")); }

#define GPU_CHECK(env, what, expr)                      \
  do {                                                  \
    gpuError_t e_ = (expr);                             \
    if (e_ != gpuSuccess) throw gpuError(env, what, e_); \
  } while (0)

uint32_t u32Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsNumber()) throw badArgument(info.Env(), std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || std::floor(d) != d) throw badArgument(info.Env(), std::string(name) + " must be an integer in [0, 2^32)");
  return static_cast<uint32_t>(d);
}

double numArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw badArgument(info.Env(), std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

Napi::Object deviceObject(Napi::Env env, int index, const gpuDeviceProp& p) {
  Napi::Object d = Napi::Object::New(env);
  d.Set("index", index);
  d.Set("name", std::string(p.name));
  d.Set("memoryBytes", static_cast<double>(p.totalGlobalMem));
  d.Set("computeUnits", p.multiProcessorCount);
  d.Set("major", p.major);
  d.Set("minor", p.minor);
  d.Set("warpSize", p.warpSize);
  d.Set("sharedPerBlock", static_cast<double>(p.sharedMemPerBlock));
  d.Set("l2CacheBytes", p.l2CacheSize);
  d.Set("memoryBusWidth", p.memoryBusWidth);
  d.Set("integrated", p.integrated != 0);
#if defined(CWTS_HIP)
  d.Set("arch", std::string(p.gcnArchName));
#else
  d.Set("arch", "sm_" + std::to_string(p.major) + std::to_string(p.minor));
#endif
  return d;
}

// probe(): never throws; reports the runtime's answer so TypeScript can word the reason.
Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  int driver = 0, runtime = 0;
  (void)gpuDriverGetVersion(&driver);
  (void)gpuRuntimeGetVersion(&runtime);
  r.Set("api", GPU_API_NAME);
  r.Set("driverVersion", driver);
  r.Set("runtimeVersion", runtime);
  int count = 0;
  const gpuError_t e = gpuGetDeviceCount(&count);
  r.Set("ok", e == gpuSuccess);
  r.Set("error", static_cast<int>(e));
  r.Set("errorName", std::string(gpuGetErrorName(e)));
  r.Set("errorString", std::string(gpuGetErrorString(e)));
  Napi::Array devices = Napi::Array::New(env);
  if (e == gpuSuccess) {
    for (int i = 0; i < count; ++i) {
      gpuDeviceProp p;
      if (gpuGetDeviceProperties(&p, i) == gpuSuccess) devices.Set(devices.Length(), deviceObject(env, i, p));
    }
  }
  (void)gpuGetLastError();
  r.Set("devices", devices);
  return r;
}

struct DeviceBuffer {
  void* ptr;
  size_t bytes;
};

struct Lease {
  BlockPool* pool;
  void* ptr;
  size_t bucket;
};

/** A device -> pinned -> caller's array copy done when an operation completes. */
/** A result in pinned memory, copied into the JS typed array `target` on the JS thread. */
struct CopyBack {
  const void* pinned;
  Napi::Reference<Napi::Value> target;
  size_t bytes;
  std::string name;
};

class Context;

/**
 * The completion of one enqueued operation: waits on its event off the JS thread, finishes the
 * host part, returns leased memory and settles the promise on the JS thread.
 */
class Completion : public Napi::AsyncWorker {
 public:
  Completion(Napi::Env env, Context* ctx);
  ~Completion() override;

  Napi::Promise promise() const { return deferred_.Promise(); }
  void lease(BlockPool* pool, void* ptr, size_t bucket) { leases_.push_back({pool, ptr, bucket}); }
  void copyBack(const void* pinned, Napi::Value target, size_t bytes, const char* name) {
    backs_.push_back(CopyBack{pinned, Napi::Persistent(target), bytes, name});
  }

  /** Runs on the worker thread after the device finished (results are in pinned memory). */
  std::function<void()> host;
  /** Builds the resolved value on the JS thread. */
  std::function<Napi::Value(Napi::Env)> result;

  /** Records the completion event on the stream and queues the wait. */
  void submit(gpuStream_t stream);
  /** Returns the leases of an operation that failed before it was submitted. */
  void abandon();

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  void finish();
  Napi::Promise::Deferred deferred_;
  Context* ctx_;
  int device_;
  gpuEvent_t event_ = nullptr;
  gpuError_t failure_ = gpuSuccess;
  std::vector<Lease> leases_;
  std::vector<CopyBack> backs_;
};

class Context : public Napi::ObjectWrap<Context> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "GpuContext",
                       {
                           InstanceMethod("info", &Context::Info),
                           InstanceMethod("createBuffer", &Context::CreateBuffer),
                           InstanceMethod("freeBuffer", &Context::FreeBuffer),
                           InstanceMethod("upload", &Context::Upload),
                           InstanceMethod("download", &Context::Download),
                           InstanceMethod("copy", &Context::Copy),
                           InstanceMethod("noop", &Context::Noop),
                           InstanceMethod("rollingMoments", &Context::RollingMoments),
                           InstanceMethod("patternScores", &Context::PatternScores),
                           InstanceMethod("sgemm", &Context::Sgemm),
                           InstanceMethod("sgemmVendor", &Context::SgemmVendor),
                           InstanceMethod("monteCarlo", &Context::MonteCarlo),
                           InstanceMethod("benchLaunch", &Context::BenchLaunch),
                           InstanceMethod("benchSgemm", &Context::BenchSgemm),
                           InstanceMethod("sgemmVariants", &Context::SgemmVariants),
                           InstanceMethod("runSgemmVariant", &Context::RunSgemmVariant),
                           InstanceMethod("benchCopy", &Context::BenchCopy),
                           InstanceMethod("destroy", &Context::Destroy),
                           InstanceAccessor("inFlight", &Context::InFlight, nullptr),
                           InstanceAccessor("memoryInUse", &Context::MemoryInUse, nullptr),
                       });
  }

  explicit Context(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Context>(info) {
    Napi::Env env = info.Env();
    int device = 0;
    if (info.Length() > 0 && info[0].IsObject()) {
      Napi::Value d = info[0].As<Napi::Object>().Get("device");
      if (d.IsNumber()) device = d.As<Napi::Number>().Int32Value();
    }
    int count = 0;
    GPU_CHECK(env, std::string(GPU_API_NAME) + " device count", gpuGetDeviceCount(&count));
    if (device < 0 || device >= count) {
      throw badArgument(env, "device " + std::to_string(device) + " does not exist (" + std::to_string(count) + " device(s))");
    }
    device_ = device;
    GPU_CHECK(env, "set device", gpuSetDevice(device_));
    GPU_CHECK(env, "device properties", gpuGetDeviceProperties(&props_, device_));
    GPU_CHECK(env, "stream create", gpuStreamCreateWithFlags(&stream_, gpuStreamNonBlocking));
    blas_.load(stream_);
  }

  ~Context() override { release(); }

  int device() const { return device_; }
  bool destroyed() const { return destroyed_; }
  gpuStream_t stream() const { return stream_; }

  void begin() { ++inFlight_; }
  void end() { --inFlight_; }
  bool inFlightZero() const { return inFlight_ == 0; }

  void giveBack(const Lease& l) {
    if (destroyed_) {
      // The pools are gone; the event was synchronised, so the memory is idle.
      if (l.pool == &pinned_) (void)gpuFreeHost(l.ptr);
      else (void)gpuFree(l.ptr);
    } else {
      l.pool->release(l.ptr, l.bucket);
    }
  }

 private:
  // ---------------------------------------------------------------------------- helpers
  void alive(Napi::Env env) const {
    if (destroyed_) throw withCode(env, "the context was destroyed", prefixed("_DISPOSED"));
    (void)gpuSetDevice(device_);
  }

  DeviceBuffer& buffer(Napi::Env env, uint32_t id, const char* name) {
    auto it = buffers_.find(id);
    if (it == buffers_.end()) throw badBuffer(env, std::string(name) + ": unknown or freed buffer #" + std::to_string(id));
    return it->second;
  }

  void* leased(Napi::Env env, Completion* c, BlockPool& pool, size_t bytes, const char* what) {
    void* p = nullptr;
    size_t bucket = 0;
    const gpuError_t e = pool.acquire(bytes == 0 ? 1 : bytes, &p, &bucket);
    if (e != gpuSuccess) throw gpuError(env, what, e);
    c->lease(&pool, p, bucket);
    return p;
  }

  /** A kernel input: a device buffer id (used in place) or a host Float32Array (staged in). */
  const float* input(Napi::Env env, Completion* c, Napi::Value v, size_t count, const char* name) {
    const size_t bytes = count * sizeof(float);
    if (v.IsNumber()) {
      DeviceBuffer& b = buffer(env, v.As<Napi::Number>().Uint32Value(), name);
      if (b.bytes < bytes) throw badBuffer(env, std::string(name) + ": buffer too small");
      return static_cast<const float*>(b.ptr);
    }
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw badArgument(env, std::string(name) + " must be a buffer id or a Float32Array");
    }
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    if (a.ElementLength() < count) throw badArgument(env, std::string(name) + " is too short");
    void* pinned = leased(env, c, pinned_, bytes, "pinned staging");
    void* dev = leased(env, c, temps_, bytes, "device temporary");
    std::memcpy(pinned, a.Data(), bytes);
    GPU_CHECK(env, "host-to-device copy", gpuMemcpyAsync(dev, pinned, bytes, gpuMemcpyHostToDevice, stream_));
    return static_cast<const float*>(dev);
  }

  struct Output {
    float* dev;
    void* pinned;  // non-null for a host array: copied back on completion
    Napi::Value host;
    size_t bytes;
    const char* name;
  };

  /** A kernel output: a device buffer id, or a host Float32Array (through a temporary). */
  Output output(Napi::Env env, Completion* c, Napi::Value v, size_t count, const char* name, bool readFirst) {
    const size_t bytes = count * sizeof(float);
    if (v.IsNumber()) {
      DeviceBuffer& b = buffer(env, v.As<Napi::Number>().Uint32Value(), name);
      if (b.bytes < bytes) throw badBuffer(env, std::string(name) + ": buffer too small");
      return {static_cast<float*>(b.ptr), nullptr, Napi::Value(), bytes, name};
    }
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw badArgument(env, std::string(name) + " must be a buffer id or a Float32Array");
    }
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    if (a.ElementLength() < count) throw badArgument(env, std::string(name) + " is too short");
    void* pinned = leased(env, c, pinned_, bytes, "pinned staging");
    void* dev = leased(env, c, temps_, bytes, "device temporary");
    if (readFirst) {
      std::memcpy(pinned, a.Data(), bytes);
      GPU_CHECK(env, "host-to-device copy", gpuMemcpyAsync(dev, pinned, bytes, gpuMemcpyHostToDevice, stream_));
    }
    return {static_cast<float*>(dev), pinned, v, bytes, name};
  }

  /** Enqueues the device -> pinned copy of a host output; completion copies pinned -> host on the JS thread. */
  void returnOutput(Napi::Env env, Completion* c, const Output& o) {
    if (o.pinned == nullptr) return;
    GPU_CHECK(env, "device-to-host copy", gpuMemcpyAsync(o.pinned, o.dev, o.bytes, gpuMemcpyDeviceToHost, stream_));
    c->copyBack(o.pinned, o.host, o.bytes, o.name);
  }

  /** Runs `enqueue` with a fresh completion; on a throw nothing is submitted and leases return. */
  Napi::Value operation(const Napi::CallbackInfo& info, const std::function<void(Completion*)>& enqueue) {
    Napi::Env env = info.Env();
    alive(env);
    Completion* c = new Completion(env, this);
    try {
      enqueue(c);
    } catch (...) {
      // Commands already enqueued still reference the leases: let the stream drain first.
      (void)gpuStreamSynchronize(stream_);
      c->abandon();
      delete c;
      throw;
    }
    Napi::Promise p = c->promise();
    c->submit(stream_);
    return p;
  }

  // ---------------------------------------------------------------------------- methods
  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = deviceObject(env, device_, props_);
    int driver = 0, runtime = 0;
    (void)gpuDriverGetVersion(&driver);
    (void)gpuRuntimeGetVersion(&runtime);
    o.Set("api", GPU_API_NAME);
    o.Set("driverVersion", driver);
    o.Set("runtimeVersion", runtime);
    o.Set("vendorBlas", blas_.available() ? Napi::Value(Napi::String::New(env, blas_.name())) : env.Null());
    o.Set("vendorBlasReason", blas_.reason());
    o.Set("maxBufferBytes", static_cast<double>(props_.totalGlobalMem));
    return o;
  }

  Napi::Value CreateBuffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    alive(env);
    const double bytes = numArg(info, 0, "byteLength");
    if (!(bytes >= 1) || bytes > static_cast<double>(props_.totalGlobalMem)) throw badArgument(env, "byteLength out of range");
    void* p = nullptr;
    GPU_CHECK(env, "device allocation of " + std::to_string(static_cast<size_t>(bytes)) + " bytes", gpuMalloc(&p, static_cast<size_t>(bytes)));
    const uint32_t id = next_++;
    buffers_[id] = {p, static_cast<size_t>(bytes)};
    inUse_ += static_cast<size_t>(bytes);
    return Napi::Number::New(env, id);
  }

  void FreeBuffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (destroyed_) return;
    const uint32_t id = u32Arg(info, 0, "id");
    DeviceBuffer b = buffer(env, id, "freeBuffer");
    buffers_.erase(id);
    inUse_ -= b.bytes;
    // Work already enqueued may still read or write it: free once the stream has drained.
    if (inFlight_ == 0) {
      (void)gpuStreamSynchronize(stream_);
      (void)gpuFree(b.ptr);
    } else {
      graveyard_.push_back(b.ptr);
    }
  }

 public:
  /** Frees buffers released while work was in flight; called when nothing is in flight. */
  void reap() {
    if (graveyard_.empty() || destroyed_) return;
    for (void* p : graveyard_) (void)gpuFree(p);
    graveyard_.clear();
  }

 private:
  Napi::Value Upload(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion* c) {
      Napi::Env env = info.Env();
      DeviceBuffer& b = buffer(env, u32Arg(info, 0, "dst"), "upload");
      Napi::Uint8Array src = info[1].As<Napi::Uint8Array>();
      const size_t off = u32ArgWide(info, 2, "dstOffset");
      const size_t bytes = src.ByteLength();
      if (off + bytes > b.bytes) throw badArgument(env, "upload exceeds the buffer");
      if (bytes == 0) return;
      void* pinned = leased(env, c, pinned_, bytes, "pinned staging");
      std::memcpy(pinned, src.Data(), bytes);
      GPU_CHECK(env, "upload", gpuMemcpyAsync(static_cast<char*>(b.ptr) + off, pinned, bytes, gpuMemcpyHostToDevice, stream_));
    });
  }

  Napi::Value Download(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion* c) {
      Napi::Env env = info.Env();
      DeviceBuffer& b = buffer(env, u32Arg(info, 0, "src"), "download");
      Napi::Uint8Array dst = info[1].As<Napi::Uint8Array>();
      const size_t off = u32ArgWide(info, 2, "srcOffset");
      const size_t bytes = dst.ByteLength();
      if (off + bytes > b.bytes) throw badArgument(env, "download exceeds the buffer");
      if (bytes == 0) return;
      void* pinned = leased(env, c, pinned_, bytes, "pinned staging");
      GPU_CHECK(env, "download", gpuMemcpyAsync(pinned, static_cast<char*>(b.ptr) + off, bytes, gpuMemcpyDeviceToHost, stream_));
      c->copyBack(pinned, info[1], bytes, "dst");
    });
  }

  Napi::Value Copy(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion*) {
      Napi::Env env = info.Env();
      DeviceBuffer& s = buffer(env, u32Arg(info, 0, "src"), "copy");
      DeviceBuffer& d = buffer(env, u32Arg(info, 1, "dst"), "copy");
      const size_t bytes = u32ArgWide(info, 2, "byteLength");
      if (bytes > s.bytes || bytes > d.bytes) throw badArgument(env, "copy exceeds a buffer");
      GPU_CHECK(env, "device copy", gpuMemcpyAsync(d.ptr, s.ptr, bytes, gpuMemcpyDeviceToDevice, stream_));
    });
  }

  Napi::Value Noop(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion*) { GPU_CHECK(info.Env(), "noop launch", launchNoop(stream_)); });
  }

  // rollingMoments(series, N, W, mean: Float32Array, variance: Float32Array)
  Napi::Value RollingMoments(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion* c) {
      Napi::Env env = info.Env();
      const size_t n = u32ArgWide(info, 1, "length");
      const uint32_t w = u32Arg(info, 2, "window");
      if (w < 1 || w > n) throw badArgument(env, "window must be in [1, length]");
      const size_t outputs = n - w + 1;
      const float* x = input(env, c, info[0], n, "series");
      const Output mean = output(env, c, info[3], outputs, "mean", false);
      const Output var = output(env, c, info[4], outputs, "variance", false);
      GPU_CHECK(env, "rollingMoments launch", launchRollingMoments(x, n, w, mean.dev, var.dev, stream_));
      returnOutput(env, c, mean);
      returnOutput(env, c, var);
    });
  }

  // patternScores(stored, K, D, queries, B, topK, outIdx: Int32Array, outScores: Float32Array, allScores?: Float32Array)
  Napi::Value PatternScores(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion* c) {
      Napi::Env env = info.Env();
      const uint32_t K = u32Arg(info, 1, "storedCount");
      const uint32_t D = u32Arg(info, 2, "dim");
      const uint32_t B = u32Arg(info, 4, "queryCount");
      const uint32_t topK = u32Arg(info, 5, "topK");
      if (K < 1 || D < 1 || B < 1 || topK < 1 || topK > K) throw badArgument(env, "patternScores sizes out of range");
      if (K > INT32_MAX || D > INT32_MAX || B > INT32_MAX) throw badArgument(env, "patternScores: a size exceeds 2^31 - 1");
      if (!info[6].IsTypedArray() || info[6].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) throw badArgument(env, "outIdx must be an Int32Array");
      if (!info[7].IsTypedArray() || info[7].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) throw badArgument(env, "outScores must be a Float32Array");
      Napi::Int32Array outIdx = info[6].As<Napi::Int32Array>();
      Napi::Float32Array outScores = info[7].As<Napi::Float32Array>();
      const size_t outLen = static_cast<size_t>(B) * topK;
      if (outIdx.ElementLength() < outLen || outScores.ElementLength() < outLen) throw badArgument(env, "outputs too short");
      const bool all = info.Length() > 8 && info[8].IsTypedArray();
      const size_t scoresLen = static_cast<size_t>(B) * K;
      if (all) {
        if (info[8].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) throw badArgument(env, "allScores must be a Float32Array");
        if (info[8].As<Napi::Float32Array>().ElementLength() < scoresLen) throw badArgument(env, "allScores too short");
      }
      const float* stored = input(env, c, info[0], static_cast<size_t>(K) * D, "stored");
      const float* queries = input(env, c, info[3], static_cast<size_t>(B) * D, "queries");
      float* sn = static_cast<float*>(leased(env, c, temps_, static_cast<size_t>(K) * D * sizeof(float), "device temporary"));
      float* qn = static_cast<float*>(leased(env, c, temps_, static_cast<size_t>(B) * D * sizeof(float), "device temporary"));
      float* scores = static_cast<float*>(leased(env, c, temps_, scoresLen * sizeof(float), "device temporary"));
      float* pinned = static_cast<float*>(leased(env, c, pinned_, scoresLen * sizeof(float), "pinned staging"));
      GPU_CHECK(env, "normalize launch", launchNormalizeRows(stored, K, D, sn, stream_));
      GPU_CHECK(env, "normalize launch", launchNormalizeRows(queries, B, D, qn, stream_));
      // scores (B x K) = qn (B x D) x sn^T (D x K): Pearson of unit centred rows.
      GPU_CHECK(env, "scores launch", launchSgemm(static_cast<int>(B), static_cast<int>(K), static_cast<int>(D), 1.0f, qn, sn, true, 0.0f, scores, stream_));
      GPU_CHECK(env, "clamp launch", launchClamp(scores, scoresLen, stream_));
      GPU_CHECK(env, "scores download", gpuMemcpyAsync(pinned, scores, scoresLen * sizeof(float), gpuMemcpyDeviceToHost, stream_));
      int32_t* idxOut = static_cast<int32_t*>(leased(env, c, pinned_, outLen * sizeof(int32_t), "pinned staging"));
      float* scoreOut = static_cast<float*>(leased(env, c, pinned_, outLen * sizeof(float), "pinned staging"));
      c->copyBack(idxOut, info[6], outLen * sizeof(int32_t), "outIdx");
      c->copyBack(scoreOut, info[7], outLen * sizeof(float), "outScores");
      if (all) c->copyBack(pinned, info[8], scoresLen * sizeof(float), "allScores");
      // Top-k on the host worker: per query a partial sort of K indices by (score desc, index asc),
      // judged on the float32 scores returned, as the contract states.
      c->host = [pinned, idxOut, scoreOut, K, B, topK]() {
        std::vector<int32_t> order(K);
        for (uint32_t b = 0; b < B; ++b) {
          const float* row = pinned + static_cast<size_t>(b) * K;
          std::iota(order.begin(), order.end(), 0);
          auto better = [row](int32_t x, int32_t y) { return row[x] > row[y] || (row[x] == row[y] && x < y); };
          std::partial_sort(order.begin(), order.begin() + topK, order.end(), better);
          for (uint32_t i = 0; i < topK; ++i) {
            idxOut[static_cast<size_t>(b) * topK + i] = order[i];
            scoreOut[static_cast<size_t>(b) * topK + i] = row[order[i]];
          }
        }
      };
    });
  }

  void sgemmArgs(const Napi::CallbackInfo& info, int* m, int* n, int* k, float* alpha, float* beta) {
    Napi::Env env = info.Env();
    const uint32_t M = u32Arg(info, 0, "m"), N = u32Arg(info, 1, "n"), K = u32Arg(info, 2, "k");
    if (M < 1 || N < 1 || K < 1 || M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) throw badArgument(env, "sgemm sizes must be in [1, 2^31)");
    *m = static_cast<int>(M);
    *n = static_cast<int>(N);
    *k = static_cast<int>(K);
    *alpha = static_cast<float>(numArg(info, 3, "alpha"));
    *beta = static_cast<float>(numArg(info, 4, "beta"));
  }

  // sgemm(m, n, k, alpha, beta, a, b, c)
  Napi::Value Sgemm(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion* c) {
      Napi::Env env = info.Env();
      int m, n, k;
      float alpha, beta;
      sgemmArgs(info, &m, &n, &k, &alpha, &beta);
      const size_t cLen = static_cast<size_t>(m) * n;
      const Output out = output(env, c, info[7], cLen, "c", beta != 0.0f);
      if (alpha == 0.0f) {
        // BLAS: alpha = 0 reads neither A nor B.
        GPU_CHECK(env, "scale launch", launchScale(out.dev, cLen, beta, stream_));
      } else {
        const float* a = input(env, c, info[5], static_cast<size_t>(m) * k, "a");
        const float* b = input(env, c, info[6], static_cast<size_t>(k) * n, "b");
        GPU_CHECK(env, "sgemm launch", launchSgemm(m, n, k, alpha, a, b, false, beta, out.dev, stream_));
      }
      returnOutput(env, c, out);
    });
  }

  // sgemmVendor(m, n, k, alpha, beta, a, b, c): the vendor BLAS on device buffers, for comparison.
  Napi::Value SgemmVendor(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion* c) {
      Napi::Env env = info.Env();
      if (!blas_.available()) throw withCode(env, "no vendor BLAS: " + blas_.reason(), prefixed("_NO_VENDOR_BLAS"));
      int m, n, k;
      float alpha, beta;
      sgemmArgs(info, &m, &n, &k, &alpha, &beta);
      const float* a = input(env, c, info[5], static_cast<size_t>(m) * k, "a");
      const float* b = input(env, c, info[6], static_cast<size_t>(k) * n, "b");
      const Output out = output(env, c, info[7], static_cast<size_t>(m) * n, "c", beta != 0.0f);
      const int st = blas_.sgemm(m, n, k, alpha, a, b, beta, out.dev);
      if (st != 0) throw withCode(env, blas_.name() + " sgemm failed with status " + std::to_string(st), prefixed("_ERROR"));
      returnOutput(env, c, out);
    });
  }

  // monteCarlo(v: Float64Array(F), F, paths, horizon, seedLo, seedHi, drift, varIndex)
  //   -> { var, cvar, meanLoss, stdLoss }
  Napi::Value MonteCarlo(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion* c) {
      Napi::Env env = info.Env();
      if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) throw badArgument(env, "v must be a Float64Array");
      Napi::Float64Array v = info[0].As<Napi::Float64Array>();
      const uint32_t F = u32Arg(info, 1, "factors");
      const uint32_t paths = u32Arg(info, 2, "paths");
      const uint32_t horizon = u32Arg(info, 3, "horizon");
      const uint32_t seedLo = u32Arg(info, 4, "seedLo");
      const uint32_t seedHi = u32Arg(info, 5, "seedHi");
      const double drift = numArg(info, 6, "drift");
      const uint32_t varIndex = u32Arg(info, 7, "varIndex");
      if (F < 1 || paths < 1 || horizon < 1 || v.ElementLength() < F || varIndex >= paths) throw badArgument(env, "monteCarlo sizes out of range");
      const size_t vBytes = static_cast<size_t>(F) * sizeof(double);
      const size_t lBytes = static_cast<size_t>(paths) * sizeof(double);
      void* vPinned = leased(env, c, pinned_, vBytes, "pinned staging");
      double* vDev = static_cast<double*>(leased(env, c, temps_, vBytes, "device temporary"));
      double* losses = static_cast<double*>(leased(env, c, temps_, lBytes, "device temporary"));
      double* lPinned = static_cast<double*>(leased(env, c, pinned_, lBytes, "pinned staging"));
      std::memcpy(vPinned, v.Data(), vBytes);
      GPU_CHECK(env, "host-to-device copy", gpuMemcpyAsync(vDev, vPinned, vBytes, gpuMemcpyHostToDevice, stream_));
      GPU_CHECK(env, "monteCarlo launch", launchMonteCarloLosses(vDev, F, paths, horizon, seedLo, seedHi, drift, losses, stream_));
      GPU_CHECK(env, "losses download", gpuMemcpyAsync(lPinned, losses, lBytes, gpuMemcpyDeviceToHost, stream_));
      auto summary = std::make_shared<std::array<double, 4>>();
      // summariseLosses of the oracle: mean, population std, VaR at the given sorted index
      // (a selection, not a sort), CVaR as the mean from that index up.
      c->host = [lPinned, paths, varIndex, summary]() {
        double sum = 0;
        for (uint32_t i = 0; i < paths; ++i) sum += lPinned[i];
        const double mean = sum / paths;
        double ss = 0;
        for (uint32_t i = 0; i < paths; ++i) {
          const double d = lPinned[i] - mean;
          ss += d * d;
        }
        std::nth_element(lPinned, lPinned + varIndex, lPinned + paths);
        double tail = 0;
        for (uint32_t i = varIndex; i < paths; ++i) tail += lPinned[i];
        (*summary)[0] = lPinned[varIndex];
        (*summary)[1] = tail / (paths - varIndex);
        (*summary)[2] = mean;
        (*summary)[3] = std::sqrt(ss / paths);
      };
      c->result = [summary](Napi::Env e) {
        Napi::Object o = Napi::Object::New(e);
        o.Set("var", (*summary)[0]);
        o.Set("cvar", (*summary)[1]);
        o.Set("meanLoss", (*summary)[2]);
        o.Set("stdLoss", (*summary)[3]);
        return Napi::Value(o);
      };
    });
  }

  // ---------------------------------------------------------------------------- benchmarks
  // Synchronous, for gpu-check and `cwts-ultra gpu-test` only: they block the JS thread.

  /** benchLaunch(iterations): microseconds per empty launch + stream synchronise, host-timed. */
  Napi::Value BenchLaunch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    alive(env);
    const uint32_t iters = std::max<uint32_t>(1, u32Arg(info, 0, "iterations"));
    GPU_CHECK(env, "stream synchronize", gpuStreamSynchronize(stream_));
    GPU_CHECK(env, "noop", launchNoop(stream_));
    GPU_CHECK(env, "stream synchronize", gpuStreamSynchronize(stream_));
    const auto t0 = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < iters; ++i) {
      GPU_CHECK(env, "noop", launchNoop(stream_));
      GPU_CHECK(env, "stream synchronize", gpuStreamSynchronize(stream_));
    }
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    return Napi::Number::New(env, us / iters);
  }

  double timeOnStream(Napi::Env env, uint32_t iters, const std::function<gpuError_t()>& body) {
    gpuEvent_t a = nullptr, b = nullptr;
    GPU_CHECK(env, "event create", gpuEventCreateWithFlags(&a, gpuEventDefault));
    GPU_CHECK(env, "event create", gpuEventCreateWithFlags(&b, gpuEventDefault));
    gpuError_t e = body();  // warm-up
    if (e == gpuSuccess) e = gpuStreamSynchronize(stream_);
    if (e == gpuSuccess) e = gpuEventRecord(a, stream_);
    for (uint32_t i = 0; i < iters && e == gpuSuccess; ++i) e = body();
    if (e == gpuSuccess) e = gpuEventRecord(b, stream_);
    if (e == gpuSuccess) e = gpuEventSynchronize(b);
    float ms = 0;
    if (e == gpuSuccess) e = gpuEventElapsedTime(&ms, a, b);
    (void)gpuEventDestroy(a);
    (void)gpuEventDestroy(b);
    if (e != gpuSuccess) throw gpuError(env, "timed run", e);
    return static_cast<double>(ms) / iters;
  }

  /** The sgemm variant ids' descriptions, index = id (kernels.cu, "sgemm variants"); 0 is the default. */
  Napi::Value SgemmVariants(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int count = sgemmVariantCount();
    Napi::Array names = Napi::Array::New(env, count);
    for (int v = 0; v < count; ++v) names.Set(v, Napi::String::New(env, sgemmVariantName(v)));
    return names;
  }

  int variantArg(const Napi::CallbackInfo& info, size_t i) {
    if (info.Length() <= i || info[i].IsUndefined()) return 0;
    const uint32_t v = u32Arg(info, i, "variant");
    if (v >= static_cast<uint32_t>(sgemmVariantCount())) {
      throw badArgument(info.Env(), "unknown sgemm variant " + std::to_string(v) + " (0.." + std::to_string(sgemmVariantCount() - 1) + ")");
    }
    return static_cast<int>(v);
  }

  /**
   * runSgemmVariant(variant, m, n, k, alpha, beta, transB, a, b, c): one sgemm with the given
   * kernel variant on copies of the host arrays (B is n x k when transB), C written back; alpha
   * = 0 goes through the scale kernel as sgemm() does. Blocks: for the device checks that judge
   * each variant before it is timed (scripts/device-figures.mjs).
   */
  Napi::Value RunSgemmVariant(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    alive(env);
    const int variant = variantArg(info, 0);
    const uint32_t M = u32Arg(info, 1, "m"), N = u32Arg(info, 2, "n"), K = u32Arg(info, 3, "k");
    if (M < 1 || N < 1 || K < 1 || M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) throw badArgument(env, "sgemm sizes must be in [1, 2^31)");
    const float alpha = static_cast<float>(numArg(info, 4, "alpha")), beta = static_cast<float>(numArg(info, 5, "beta"));
    const bool transB = info[6].ToBoolean();
    const size_t aLen = size_t(M) * K, bLen = size_t(K) * N, cLen = size_t(M) * N;
    const char* names[3] = {"a", "b", "c"};
    const size_t lens[3] = {aLen, bLen, cLen};
    float* host[3];
    for (int i = 0; i < 3; ++i) {
      const Napi::Value v = info[7 + i];
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) throw badArgument(env, std::string(names[i]) + " must be a Float32Array");
      Napi::Float32Array arr = v.As<Napi::Float32Array>();
      if (arr.ElementLength() < lens[i]) throw badArgument(env, std::string(names[i]) + " too short");
      host[i] = arr.Data();
    }
    void* dev[3] = {nullptr, nullptr, nullptr};
    gpuError_t e = gpuSuccess;
    for (int i = 0; i < 3 && e == gpuSuccess; ++i) e = gpuMalloc(&dev[i], lens[i] * sizeof(float));
    for (int i = 0; i < 3 && e == gpuSuccess; ++i) e = gpuMemcpyAsync(dev[i], host[i], lens[i] * sizeof(float), gpuMemcpyHostToDevice, stream_);
    float* a = static_cast<float*>(dev[0]);
    float* b = static_cast<float*>(dev[1]);
    float* c = static_cast<float*>(dev[2]);
    if (e == gpuSuccess) e = alpha == 0.0f ? launchScale(c, cLen, beta, stream_) : launchSgemm(int(M), int(N), int(K), alpha, a, b, transB, beta, c, stream_, variant);
    if (e == gpuSuccess) e = gpuMemcpyAsync(host[2], c, cLen * sizeof(float), gpuMemcpyDeviceToHost, stream_);
    if (e == gpuSuccess) e = gpuStreamSynchronize(stream_);
    (void)gpuStreamSynchronize(stream_);
    for (void* p : dev) (void)gpuFree(p);
    if (e != gpuSuccess) throw gpuError(env, "sgemm variant " + std::to_string(variant), e);
    return env.Undefined();
  }

  /**
   * benchSgemm(m, n, k, iterations, vendor, variant = 0): device milliseconds per sgemm on
   * resident data, the vendor BLAS's or our kernel `variant`'s.
   */
  Napi::Value BenchSgemm(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    alive(env);
    const uint32_t M = u32Arg(info, 0, "m"), N = u32Arg(info, 1, "n"), K = u32Arg(info, 2, "k");
    const uint32_t iters = std::max<uint32_t>(1, u32Arg(info, 3, "iterations"));
    const bool vendor = info[4].ToBoolean();
    const int variant = variantArg(info, 5);
    if (vendor && !blas_.available()) throw withCode(env, "no vendor BLAS: " + blas_.reason(), prefixed("_NO_VENDOR_BLAS"));
    const size_t aB = size_t(M) * K * 4, bB = size_t(K) * N * 4, cB = size_t(M) * N * 4;
    void *a = nullptr, *b = nullptr, *c = nullptr;
    gpuError_t e = gpuMalloc(&a, aB);
    if (e == gpuSuccess) e = gpuMalloc(&b, bB);
    if (e == gpuSuccess) e = gpuMalloc(&c, cB);
    // 0x3c bytes are the float 0.0115: finite values, no denormals.
    if (e == gpuSuccess) e = gpuMemsetAsync(a, 0x3c, aB, stream_);
    if (e == gpuSuccess) e = gpuMemsetAsync(b, 0x3c, bB, stream_);
    double ms = 0;
    std::string failure;
    if (e == gpuSuccess) {
      try {
        ms = timeOnStream(env, iters, [&]() -> gpuError_t {
          if (vendor) return blas_.sgemm(int(M), int(N), int(K), 1.0f, static_cast<float*>(a), static_cast<float*>(b), 0.0f, static_cast<float*>(c)) == 0 ? gpuSuccess : gpuErrorInvalidValue;
          return launchSgemm(int(M), int(N), int(K), 1.0f, static_cast<float*>(a), static_cast<float*>(b), false, 0.0f, static_cast<float*>(c), stream_, variant);
        });
      } catch (const Napi::Error& err) {
        failure = err.Message();
      }
    }
    (void)gpuStreamSynchronize(stream_);
    (void)gpuFree(a);
    (void)gpuFree(b);
    (void)gpuFree(c);
    if (e != gpuSuccess) throw gpuError(env, "sgemm benchmark setup", e);
    if (!failure.empty()) throw withCode(env, failure, prefixed("_ERROR"));
    return Napi::Number::New(env, ms);
  }

  /** benchCopy(bytes, iterations): device milliseconds per device-to-device copy. */
  Napi::Value BenchCopy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    alive(env);
    const size_t bytes = u32ArgWide(info, 0, "bytes");
    const uint32_t iters = std::max<uint32_t>(1, u32Arg(info, 1, "iterations"));
    void *s = nullptr, *d = nullptr;
    gpuError_t e = gpuMalloc(&s, bytes);
    if (e == gpuSuccess) e = gpuMalloc(&d, bytes);
    double ms = 0;
    std::string failure;
    if (e == gpuSuccess) {
      try {
        ms = timeOnStream(env, iters, [&]() { return gpuMemcpyAsync(d, s, bytes, gpuMemcpyDeviceToDevice, stream_); });
      } catch (const Napi::Error& err) {
        failure = err.Message();
      }
    }
    (void)gpuStreamSynchronize(stream_);
    (void)gpuFree(s);
    (void)gpuFree(d);
    if (e != gpuSuccess) throw gpuError(env, "copy benchmark setup", e);
    if (!failure.empty()) throw withCode(env, failure, prefixed("_ERROR"));
    return Napi::Number::New(env, ms);
  }

  void Destroy(const Napi::CallbackInfo&) { release(); }

  Napi::Value InFlight(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), inFlight_); }
  Napi::Value MemoryInUse(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(inUse_ + pinned_.held() + temps_.held()));
  }

  static size_t u32ArgWide(const Napi::CallbackInfo& info, size_t i, const char* name) {
    const double d = numArg(info, i, name);
    if (!(d >= 0 && d <= 9007199254740991.0) || std::floor(d) != d) throw badArgument(info.Env(), std::string(name) + " must be a non-negative integer");
    return static_cast<size_t>(d);
  }

  void release() {
    if (destroyed_) return;
    if (stream_ != nullptr) (void)gpuStreamSynchronize(stream_);
    for (auto& [id, b] : buffers_) (void)gpuFree(b.ptr);
    buffers_.clear();
    for (void* p : graveyard_) (void)gpuFree(p);
    graveyard_.clear();
    pinned_.releaseAll();
    temps_.releaseAll();
    destroyed_ = true;
    if (stream_ != nullptr) (void)gpuStreamDestroy(stream_);
    stream_ = nullptr;
    inUse_ = 0;
  }

  int device_ = 0;
  gpuDeviceProp props_{};
  gpuStream_t stream_ = nullptr;
  std::unordered_map<uint32_t, DeviceBuffer> buffers_;
  std::vector<void*> graveyard_;
  uint32_t next_ = 1;
  size_t inUse_ = 0;
  int inFlight_ = 0;
  bool destroyed_ = false;
  BlockPool pinned_{PoolKind::Pinned};
  BlockPool temps_{PoolKind::Device};
  VendorBlas blas_;
};

// ------------------------------------------------------------------------------ Completion
Completion::Completion(Napi::Env env, Context* ctx)
    : Napi::AsyncWorker(env, "cwts-gpu-completion"), deferred_(Napi::Promise::Deferred::New(env)), ctx_(ctx), device_(ctx->device()) {}

Completion::~Completion() {
  if (event_ != nullptr) (void)gpuEventDestroy(event_);
}

void Completion::submit(gpuStream_t stream) {
  Napi::Env env = Env();
  gpuError_t e = gpuEventCreateWithFlags(&event_, gpuEventDisableTiming);
  if (e == gpuSuccess) e = gpuEventRecord(event_, stream);
  if (e != gpuSuccess) {
    (void)gpuStreamSynchronize(stream);
    for (const Lease& l : leases_) ctx_->giveBack(l);
    leases_.clear();
    Napi::Error err = gpuError(env, "completion event", e);
    delete this;
    throw err;
  }
  ctx_->Ref();
  ctx_->begin();
  Queue();
}

void Completion::abandon() {
  for (const Lease& l : leases_) ctx_->giveBack(l);
  leases_.clear();
  backs_.clear();
}

void Completion::Execute() {
  (void)gpuSetDevice(device_);
  const gpuError_t e = gpuEventSynchronize(event_);
  if (e != gpuSuccess) {
    failure_ = e;
    SetError(describe(e));
    return;
  }
  if (host) host();
}

void Completion::finish() {
  for (const Lease& l : leases_) ctx_->giveBack(l);
  leases_.clear();
  backs_.clear();
  ctx_->end();
  if (ctx_->inFlightZero()) ctx_->reap();
  ctx_->Unref();
}

void Completion::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  std::string why, first;
  for (const CopyBack& b : backs_) {
    void* to = jsResultTarget(env, b.target.Value(), b.bytes, b.name, &why);
    if (to == nullptr) {
      if (first.empty()) first = why;
      continue;
    }
    std::memcpy(to, b.pinned, b.bytes);
  }
  backs_.clear();
  if (!first.empty()) {
    finish();
    deferred_.Reject(badArgument(env, first).Value());
    return;
  }
  Napi::Value value = result ? result(env) : env.Undefined();
  finish();
  deferred_.Resolve(value);
}

void Completion::OnError(const Napi::Error&) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  finish();
  deferred_.Reject(gpuError(env, "device execution", failure_).Value());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("GpuContext", Context::Define(env));
  exports.Set("api", GPU_API_NAME);
  return exports;
}

}  // namespace
}  // namespace cwts

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return cwts::Init(env, exports); }

NODE_API_MODULE(CWTS_ADDON_NAME, InitAddon)
