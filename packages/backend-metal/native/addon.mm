// Node-API addon of the Metal backend (macOS). It implements the same context interface as the
// CUDA/ROCm addon (see @cwts/backend-cuda src/native.ts), so the TypeScript backend class is
// shared. Kernels are the MSL in shaders/ (spirv-cross output from the Vulkan SPIR-V; argument
// tables in shaders/manifest.json: push constants at [[buffer(0)]], storage buffers from
// [[buffer(1)]] in binding order); sgemm is MPSMatrixMultiplication.
//
// Execution model: one serial MTLCommandQueue; every operation is encoded into one command
// buffer and committed from the JS thread in call order (the contract's ordering); host inputs
// are copied into shared-storage staging buffers at call time; an N-API async worker waits for
// the command buffer and does the host part (top-k, VaR quantile) into addon memory. Results
// reach the caller's arrays only on the JS thread, at completion, and only while each array is
// still attached and long enough (cwts/js_result_target.h, shared with the CUDA/ROCm addon): the
// caller may transfer an array's ArrayBuffer while the call is in flight, and a worker-thread
// write into it would hit freed memory.
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>
#import <MetalPerformanceShaders/MetalPerformanceShaders.h>
#include <napi.h>

#include <cwts/js_result_target.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

constexpr uint32_t kWG = 64;
constexpr uint32_t kScoresQB = 8;  // queries per workgroup row in scores.comp

Napi::Error withCode(Napi::Env env, const std::string& message, const char* code) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

std::string nsString(NSError* e) { return e ? std::string([[e localizedDescription] UTF8String]) : std::string("unknown error"); }

Napi::Object deviceObject(Napi::Env env, int index, id<MTLDevice> d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("index", index);
  o.Set("name", std::string([[d name] UTF8String]));
  o.Set("memoryBytes", static_cast<double>([d recommendedMaxWorkingSetSize]));
  o.Set("computeUnits", 0);
  o.Set("major", 0);
  o.Set("minor", 0);
  o.Set("arch", [d supportsFamily:MTLGPUFamilyApple7] ? "apple7+" : ([d supportsFamily:MTLGPUFamilyMac2] ? "mac2" : "metal"));
  o.Set("warpSize", 32);
  o.Set("sharedPerBlock", static_cast<double>([d maxThreadgroupMemoryLength]));
  o.Set("l2CacheBytes", 0);
  o.Set("memoryBusWidth", 0);
  o.Set("integrated", [d hasUnifiedMemory] ? true : false);
  return o;
}

NSArray<id<MTLDevice>>* allDevices() {
  NSArray<id<MTLDevice>>* list = MTLCopyAllDevices();
  if (list.count == 0) {
    id<MTLDevice> d = MTLCreateSystemDefaultDevice();
    if (d) list = @[ d ];
  }
  return list;
}

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  @autoreleasepool {
    NSArray<id<MTLDevice>>* list = allDevices();
    Napi::Object r = Napi::Object::New(env);
    r.Set("api", "Metal");
    r.Set("ok", true);
    r.Set("error", 0);
    r.Set("errorName", "none");
    r.Set("errorString", "none");
    r.Set("driverVersion", 3);
    r.Set("runtimeVersion", 3);
    Napi::Array devices = Napi::Array::New(env);
    for (NSUInteger i = 0; i < list.count; ++i) devices.Set(static_cast<uint32_t>(i), deviceObject(env, static_cast<int>(i), list[i]));
    r.Set("devices", devices);
    return r;
  }
}

class Context;

/** Waits for one command buffer off the JS thread, finishes the host part, settles the promise. */
class Completion : public Napi::AsyncWorker {
 public:
  Completion(Napi::Env env, Context* ctx) : Napi::AsyncWorker(env, "cwts-metal-completion"), deferred_(Napi::Promise::Deferred::New(env)), ctx_(ctx) {}
  Napi::Promise promise() const { return deferred_.Promise(); }
  /** At completion, on the JS thread: `bytes` from `from` (addon memory) into the typed array `target`. */
  void copyBack(const void* from, Napi::Value target, size_t bytes, const char* name) {
    backs_.push_back(Back{from, Napi::Persistent(target), bytes, name});
  }
  void hold(id<MTLBuffer> b) { held_.push_back(b); }
  /** Addon memory the host part writes results into (kept until the promise settles). */
  template <typename T>
  T* scratch(size_t count) {
    auto v = std::make_shared<std::vector<T>>(std::max<size_t>(count, 1));
    scratch_.push_back(v);
    return v->data();
  }
  std::function<void()> host;
  std::function<Napi::Value(Napi::Env)> result;
  void submit(id<MTLCommandBuffer> cmd);

 protected:
  void Execute() override {
    [cmd_ waitUntilCompleted];
    if (cmd_.status == MTLCommandBufferStatusError) {
      SetError("Metal command buffer failed: " + nsString(cmd_.error));
      return;
    }
    if (host) host();
  }
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  struct Back {
    const void* from;
    Napi::Reference<Napi::Value> target;
    size_t bytes;
    const char* name;
  };
  void finish();
  Napi::Promise::Deferred deferred_;
  Context* ctx_;
  id<MTLCommandBuffer> cmd_ = nil;
  std::vector<Back> backs_;
  std::vector<id<MTLBuffer>> held_;
  std::vector<std::shared_ptr<void>> scratch_;
};

class Context : public Napi::ObjectWrap<Context> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "GpuContext",
                       {InstanceMethod("info", &Context::Info), InstanceMethod("createBuffer", &Context::CreateBuffer),
                        InstanceMethod("freeBuffer", &Context::FreeBuffer), InstanceMethod("upload", &Context::Upload),
                        InstanceMethod("download", &Context::Download), InstanceMethod("copy", &Context::Copy),
                        InstanceMethod("noop", &Context::Noop), InstanceMethod("rollingMoments", &Context::RollingMoments),
                        InstanceMethod("patternScores", &Context::PatternScores), InstanceMethod("sgemm", &Context::Sgemm),
                        InstanceMethod("sgemmVendor", &Context::Sgemm), InstanceMethod("monteCarlo", &Context::MonteCarlo),
                        InstanceMethod("benchLaunch", &Context::BenchLaunch), InstanceMethod("benchSgemm", &Context::BenchSgemm),
                        InstanceMethod("benchCopy", &Context::BenchCopy), InstanceMethod("destroy", &Context::Destroy),
                        InstanceAccessor("inFlight", &Context::InFlight, nullptr),
                        InstanceAccessor("memoryInUse", &Context::MemoryInUse, nullptr)});
  }

  explicit Context(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Context>(info) {
    Napi::Env env = info.Env();
    @autoreleasepool {
      Napi::Object opts = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
      const int index = opts.Get("device").IsNumber() ? opts.Get("device").As<Napi::Number>().Int32Value() : 0;
      if (!opts.Get("shaderDir").IsString()) throw withCode(env, "shaderDir is required", "METAL_BAD_ARGUMENT");
      const std::string dir = opts.Get("shaderDir").As<Napi::String>().Utf8Value();
      NSArray<id<MTLDevice>>* list = allDevices();
      if (index < 0 || static_cast<NSUInteger>(index) >= list.count) throw withCode(env, "no such Metal device", "METAL_BAD_ARGUMENT");
      index_ = index;
      device_ = list[index];
      queue_ = [device_ newCommandQueue];
      rolling_ = pipeline(env, dir, "rolling");
      normRows_ = pipeline(env, dir, "normalize_rows");
      scores_ = pipeline(env, dir, "scores");
      mcvar_ = pipeline(env, dir, "mcvar");
      noop_ = pipeline(env, dir, "noop");
    }
  }

  void end() { --inFlight_; }

 private:
  id<MTLComputePipelineState> pipeline(Napi::Env env, const std::string& dir, const char* name) {
    NSString* path = [NSString stringWithFormat:@"%s/%s.metal", dir.c_str(), name];
    NSError* err = nil;
    NSString* src = [NSString stringWithContentsOfFile:path encoding:NSUTF8StringEncoding error:&err];
    if (!src) throw withCode(env, std::string("cannot read ") + [path UTF8String] + ": " + nsString(err), "METAL_ERROR");
    MTLCompileOptions* co = [MTLCompileOptions new];
    id<MTLLibrary> lib = [device_ newLibraryWithSource:src options:co error:&err];
    if (!lib) throw withCode(env, std::string("MSL compile of ") + name + " failed: " + nsString(err), "METAL_ERROR");
    MTLFunctionConstantValues* fc = [MTLFunctionConstantValues new];
    uint32_t wg = kWG;
    [fc setConstantValue:&wg type:MTLDataTypeUInt atIndex:0];
    id<MTLFunction> fn = [lib newFunctionWithName:@"main0" constantValues:fc error:&err];
    if (!fn) throw withCode(env, std::string("MSL function of ") + name + ": " + nsString(err), "METAL_ERROR");
    id<MTLComputePipelineState> p = [device_ newComputePipelineStateWithFunction:fn error:&err];
    if (!p) throw withCode(env, std::string("pipeline ") + name + ": " + nsString(err), "METAL_ERROR");
    return p;
  }

  void alive(Napi::Env env) const {
    if (destroyed_) throw withCode(env, "the context was destroyed", "METAL_DISPOSED");
  }

  id<MTLBuffer> buffer(Napi::Env env, uint32_t id, const char* name) {
    auto it = buffers_.find(id);
    if (it == buffers_.end()) throw withCode(env, std::string(name) + ": unknown or freed buffer #" + std::to_string(id), "METAL_BAD_BUFFER");
    return it->second;
  }

  id<MTLBuffer> staging(Napi::Env env, size_t bytes) {
    id<MTLBuffer> b = [device_ newBufferWithLength:std::max<size_t>(bytes, 4) options:MTLResourceStorageModeShared];
    if (!b) throw withCode(env, "Metal allocation of " + std::to_string(bytes) + " bytes failed", "METAL_OUT_OF_MEMORY");
    return b;
  }

  /** A kernel input: a buffer id, or a host Float32Array copied into a staging buffer now. */
  id<MTLBuffer> input(Napi::Env env, Completion* c, Napi::Value v, size_t count, const char* name) {
    if (v.IsNumber()) {
      id<MTLBuffer> b = buffer(env, v.As<Napi::Number>().Uint32Value(), name);
      if (b.length < count * 4) throw withCode(env, std::string(name) + ": buffer too small", "METAL_BAD_BUFFER");
      return b;
    }
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    id<MTLBuffer> b = staging(env, count * 4);
    std::memcpy([b contents], a.Data(), count * 4);
    c->hold(b);
    return b;
  }

  /** A kernel output: a buffer id, or a staging buffer copied into the host array on completion. */
  id<MTLBuffer> output(Napi::Env env, Completion* c, Napi::Value v, size_t count, const char* name, bool readFirst) {
    if (v.IsNumber()) return input(env, c, v, count, name);
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    id<MTLBuffer> b = staging(env, count * 4);
    if (readFirst) std::memcpy([b contents], a.Data(), count * 4);
    c->hold(b);
    c->copyBack([b contents], v, count * 4, name);
    return b;
  }

  void dispatch(id<MTLCommandBuffer> cmd, id<MTLComputePipelineState> p, const void* push, size_t pushBytes,
                std::initializer_list<id<MTLBuffer>> bufs, MTLSize groups) {
    id<MTLComputeCommandEncoder> enc = [cmd computeCommandEncoder];
    [enc setComputePipelineState:p];
    NSUInteger i = 0;
    if (push) [enc setBytes:push length:pushBytes atIndex:i++];
    for (id<MTLBuffer> b : bufs) [enc setBuffer:b offset:0 atIndex:i++];
    [enc dispatchThreadgroups:groups threadsPerThreadgroup:MTLSizeMake(kWG, 1, 1)];
    [enc endEncoding];
  }

  static uint32_t groupsFor(size_t n, uint32_t wg) { return static_cast<uint32_t>(std::min<size_t>((n + wg - 1) / wg, 65535)); }

  Napi::Value operation(const Napi::CallbackInfo& info, const std::function<void(Completion*, id<MTLCommandBuffer>)>& encode) {
    Napi::Env env = info.Env();
    alive(env);
    @autoreleasepool {
      Completion* c = new Completion(env, this);
      id<MTLCommandBuffer> cmd = [queue_ commandBuffer];
      try {
        encode(c, cmd);
      } catch (...) {
        delete c;
        throw;
      }
      Napi::Promise p = c->promise();
      ++inFlight_;
      Ref();
      c->submit(cmd);
      return p;
    }
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = deviceObject(env, index_, device_);
    o.Set("api", "Metal");
    o.Set("driverVersion", 3);
    o.Set("runtimeVersion", 3);
    o.Set("vendorBlas", "MetalPerformanceShaders");
    o.Set("vendorBlasReason", "");
    o.Set("maxBufferBytes", static_cast<double>([device_ maxBufferLength]));
    return o;
  }

  Napi::Value CreateBuffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    alive(env);
    const size_t bytes = static_cast<size_t>(info[0].As<Napi::Number>().DoubleValue());
    id<MTLBuffer> b = [device_ newBufferWithLength:bytes options:MTLResourceStorageModeShared];
    if (!b) throw withCode(env, "Metal allocation of " + std::to_string(bytes) + " bytes failed", "METAL_OUT_OF_MEMORY");
    const uint32_t id = next_++;
    buffers_[id] = b;
    return Napi::Number::New(env, id);
  }

  void FreeBuffer(const Napi::CallbackInfo& info) {
    // Command buffers retain what they use: dropping our reference never frees memory in use.
    buffers_.erase(info[0].As<Napi::Number>().Uint32Value());
  }

  Napi::Value Upload(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion* c, id<MTLCommandBuffer> cmd) {
      Napi::Env env = info.Env();
      id<MTLBuffer> dst = buffer(env, info[0].As<Napi::Number>().Uint32Value(), "upload");
      Napi::Uint8Array src = info[1].As<Napi::Uint8Array>();
      const size_t off = static_cast<size_t>(info[2].As<Napi::Number>().DoubleValue());
      if (off + src.ByteLength() > dst.length) throw withCode(env, "upload exceeds the buffer", "METAL_BAD_ARGUMENT");
      if (src.ByteLength() == 0) return;
      id<MTLBuffer> s = staging(env, src.ByteLength());
      std::memcpy([s contents], src.Data(), src.ByteLength());
      c->hold(s);
      id<MTLBlitCommandEncoder> blit = [cmd blitCommandEncoder];
      [blit copyFromBuffer:s sourceOffset:0 toBuffer:dst destinationOffset:off size:src.ByteLength()];
      [blit endEncoding];
    });
  }

  Napi::Value Download(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion* c, id<MTLCommandBuffer> cmd) {
      Napi::Env env = info.Env();
      id<MTLBuffer> src = buffer(env, info[0].As<Napi::Number>().Uint32Value(), "download");
      Napi::Uint8Array dst = info[1].As<Napi::Uint8Array>();
      const size_t off = static_cast<size_t>(info[2].As<Napi::Number>().DoubleValue());
      if (off + dst.ByteLength() > src.length) throw withCode(env, "download exceeds the buffer", "METAL_BAD_ARGUMENT");
      if (dst.ByteLength() == 0) return;
      id<MTLBuffer> s = staging(env, dst.ByteLength());
      id<MTLBlitCommandEncoder> blit = [cmd blitCommandEncoder];
      [blit copyFromBuffer:src sourceOffset:off toBuffer:s destinationOffset:0 size:dst.ByteLength()];
      [blit endEncoding];
      c->hold(s);
      c->copyBack([s contents], info[1], dst.ByteLength(), "dst");
    });
  }

  Napi::Value Copy(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion*, id<MTLCommandBuffer> cmd) {
      Napi::Env env = info.Env();
      id<MTLBuffer> s = buffer(env, info[0].As<Napi::Number>().Uint32Value(), "copy");
      id<MTLBuffer> d = buffer(env, info[1].As<Napi::Number>().Uint32Value(), "copy");
      const size_t bytes = static_cast<size_t>(info[2].As<Napi::Number>().DoubleValue());
      id<MTLBlitCommandEncoder> blit = [cmd blitCommandEncoder];
      [blit copyFromBuffer:s sourceOffset:0 toBuffer:d destinationOffset:0 size:bytes];
      [blit endEncoding];
    });
  }

  Napi::Value Noop(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion*, id<MTLCommandBuffer> cmd) { dispatch(cmd, noop_, nullptr, 0, {}, MTLSizeMake(1, 1, 1)); });
  }

  // rollingMoments(series, N, W, mean, variance): rolling.comp, runs of CH outputs per thread.
  Napi::Value RollingMoments(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion* c, id<MTLCommandBuffer> cmd) {
      Napi::Env env = info.Env();
      const uint32_t n = info[1].As<Napi::Number>().Uint32Value(), w = info[2].As<Napi::Number>().Uint32Value();
      const uint32_t outputs = n - w + 1;
      id<MTLBuffer> x = input(env, c, info[0], n, "series");
      id<MTLBuffer> mean = output(env, c, info[3], outputs, "mean", false);
      id<MTLBuffer> var = output(env, c, info[4], outputs, "variance", false);
      const uint32_t ch = w >= 8 ? 32u : 1u;  // as the Vulkan backend chooses
      const uint32_t push[3] = {outputs, w, ch};
      dispatch(cmd, rolling_, push, sizeof push, {x, mean, var}, MTLSizeMake(groupsFor((outputs + ch - 1) / ch, kWG), 1, 1));
    });
  }

  // patternScores(stored, K, D, queries, B, topK, outIdx, outScores, allScores?)
  Napi::Value PatternScores(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion* c, id<MTLCommandBuffer> cmd) {
      Napi::Env env = info.Env();
      const uint32_t K = info[1].As<Napi::Number>().Uint32Value(), D = info[2].As<Napi::Number>().Uint32Value();
      const uint32_t B = info[4].As<Napi::Number>().Uint32Value(), topK = info[5].As<Napi::Number>().Uint32Value();
      if ((B + kScoresQB - 1) / kScoresQB > 65535) throw withCode(env, "too many queries for one call", "METAL_BAD_ARGUMENT");
      const size_t picked = static_cast<size_t>(B) * topK;
      // The host part writes into addon memory; OnOK copies it into these arrays on the JS thread.
      int32_t* idxOut = c->scratch<int32_t>(picked);
      float* scoreOut = c->scratch<float>(picked);
      c->copyBack(idxOut, info[6], picked * 4, "outIdx");
      c->copyBack(scoreOut, info[7], picked * 4, "outScores");
      id<MTLBuffer> stored = input(env, c, info[0], static_cast<size_t>(K) * D, "stored");
      id<MTLBuffer> queries = input(env, c, info[3], static_cast<size_t>(B) * D, "queries");
      id<MTLBuffer> snT = staging(env, static_cast<size_t>(K) * D * 4);
      id<MTLBuffer> qn = staging(env, static_cast<size_t>(B) * D * 4);
      id<MTLBuffer> scores = staging(env, static_cast<size_t>(B) * K * 4);
      c->hold(snT);
      c->hold(qn);
      c->hold(scores);
      const uint32_t pushS[4] = {K, D, 1u, 0u};
      dispatch(cmd, normRows_, pushS, sizeof pushS, {stored, snT}, MTLSizeMake(groupsFor(K, kWG), 1, 1));
      const uint32_t pushQ[4] = {B, D, 0u, 0u};
      dispatch(cmd, normRows_, pushQ, sizeof pushQ, {queries, qn}, MTLSizeMake(groupsFor(B, kWG), 1, 1));
      const uint32_t push[3] = {K, D, B};
      dispatch(cmd, scores_, push, sizeof push, {snT, qn, scores}, MTLSizeMake(groupsFor(K, kWG), (B + kScoresQB - 1) / kScoresQB, 1));
      const float* sc = static_cast<const float*>([scores contents]);
      // allScores: every score, straight from the scores buffer (held until completion).
      if (info[8].IsTypedArray()) c->copyBack(sc, info[8], static_cast<size_t>(B) * K * 4, "allScores");
      c->host = [sc, idxOut, scoreOut, K, B, topK]() {
        std::vector<int32_t> order(K);
        for (uint32_t b = 0; b < B; ++b) {
          const float* row = sc + static_cast<size_t>(b) * K;
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

  // sgemm / sgemmVendor (m, n, k, alpha, beta, a, b, c): MPSMatrixMultiplication.
  Napi::Value Sgemm(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion* c, id<MTLCommandBuffer> cmd) {
      Napi::Env env = info.Env();
      const uint32_t m = info[0].As<Napi::Number>().Uint32Value(), n = info[1].As<Napi::Number>().Uint32Value(), k = info[2].As<Napi::Number>().Uint32Value();
      const double alpha = info[3].As<Napi::Number>().DoubleValue(), beta = info[4].As<Napi::Number>().DoubleValue();
      id<MTLBuffer> C = output(env, c, info[7], static_cast<size_t>(m) * n, "c", beta != 0.0);
      if (alpha == 0.0) {
        // BLAS: alpha = 0 reads neither A nor B (MPS would multiply NaNs in): C = beta C on the
        // host once everything before this call has finished.
        if (info[7].IsNumber()) {
          id<MTLCommandBuffer> fence = [queue_ commandBuffer];
          [fence commit];
          [fence waitUntilCompleted];
        }
        float* p = static_cast<float*>([C contents]);
        for (size_t i = 0; i < static_cast<size_t>(m) * n; ++i) p[i] = beta == 0.0 ? 0.0f : static_cast<float>(beta * p[i]);
        return;
      }
      id<MTLBuffer> A = input(env, c, info[5], static_cast<size_t>(m) * k, "a");
      id<MTLBuffer> B = input(env, c, info[6], static_cast<size_t>(k) * n, "b");
      MPSMatrix* ma = [[MPSMatrix alloc] initWithBuffer:A descriptor:[MPSMatrixDescriptor matrixDescriptorWithRows:m columns:k rowBytes:k * 4 dataType:MPSDataTypeFloat32]];
      MPSMatrix* mb = [[MPSMatrix alloc] initWithBuffer:B descriptor:[MPSMatrixDescriptor matrixDescriptorWithRows:k columns:n rowBytes:n * 4 dataType:MPSDataTypeFloat32]];
      MPSMatrix* mc = [[MPSMatrix alloc] initWithBuffer:C descriptor:[MPSMatrixDescriptor matrixDescriptorWithRows:m columns:n rowBytes:n * 4 dataType:MPSDataTypeFloat32]];
      MPSMatrixMultiplication* mm = [[MPSMatrixMultiplication alloc] initWithDevice:device_ transposeLeft:NO transposeRight:NO resultRows:m resultColumns:n interiorColumns:k alpha:alpha beta:beta];
      [mm encodeToCommandBuffer:cmd leftMatrix:ma rightMatrix:mb resultMatrix:mc];
    });
  }

  // monteCarlo(v: Float64Array, F, paths, horizon, seedLo, seedHi, drift, varIndex): mcvar.comp sums
  // (float32 normals: GLSL has no float64 log/cos), losses and quantile on the host in float64.
  Napi::Value MonteCarlo(const Napi::CallbackInfo& info) {
    return operation(info, [&](Completion* c, id<MTLCommandBuffer> cmd) {
      Napi::Env env = info.Env();
      Napi::Float64Array v = info[0].As<Napi::Float64Array>();
      const uint32_t F = info[1].As<Napi::Number>().Uint32Value(), paths = info[2].As<Napi::Number>().Uint32Value();
      const uint32_t horizon = info[3].As<Napi::Number>().Uint32Value();
      const uint32_t seedLo = info[4].As<Napi::Number>().Uint32Value(), seedHi = info[5].As<Napi::Number>().Uint32Value();
      const double drift = info[6].As<Napi::Number>().DoubleValue();
      const uint32_t varIndex = info[7].As<Napi::Number>().Uint32Value();
      id<MTLBuffer> vb = staging(env, static_cast<size_t>(F) * 4);
      float* vf = static_cast<float*>([vb contents]);
      for (uint32_t j = 0; j < F; ++j) vf[j] = static_cast<float>(v.Data()[j]);
      id<MTLBuffer> sums = staging(env, static_cast<size_t>(paths) * 4);
      c->hold(vb);
      c->hold(sums);
      const uint32_t push[6] = {paths, horizon, F, seedLo, seedHi, 0u};
      dispatch(cmd, mcvar_, push, sizeof push, {vb, sums}, MTLSizeMake(groupsFor(paths, kWG), 1, 1));
      auto summary = std::make_shared<std::array<double, 4>>();
      const float* s = static_cast<const float*>([sums contents]);
      c->host = [s, paths, drift, varIndex, summary]() {
        std::vector<double> loss(paths);
        double sum = 0;
        for (uint32_t i = 0; i < paths; ++i) sum += (loss[i] = -(drift + s[i]));
        const double mean = sum / paths;
        double ss = 0;
        for (double l : loss) ss += (l - mean) * (l - mean);
        std::nth_element(loss.begin(), loss.begin() + varIndex, loss.end());
        double tail = 0;
        for (uint32_t i = varIndex; i < paths; ++i) tail += loss[i];
        *summary = {loss[varIndex], tail / (paths - varIndex), mean, std::sqrt(ss / paths)};
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

  Napi::Value BenchLaunch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    alive(env);
    const uint32_t iters = std::max<uint32_t>(1, info[0].As<Napi::Number>().Uint32Value());
    const auto t0 = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < iters; ++i) {
      @autoreleasepool {
        id<MTLCommandBuffer> cmd = [queue_ commandBuffer];
        dispatch(cmd, noop_, nullptr, 0, {}, MTLSizeMake(1, 1, 1));
        [cmd commit];
        [cmd waitUntilCompleted];
      }
    }
    return Napi::Number::New(env, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / iters);
  }

  Napi::Value BenchSgemm(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    alive(env);
    const uint32_t m = info[0].As<Napi::Number>().Uint32Value(), n = info[1].As<Napi::Number>().Uint32Value(), k = info[2].As<Napi::Number>().Uint32Value();
    const uint32_t iters = std::max<uint32_t>(1, info[3].As<Napi::Number>().Uint32Value());
    @autoreleasepool {
      id<MTLBuffer> A = staging(env, size_t(m) * k * 4), B = staging(env, size_t(k) * n * 4), C = staging(env, size_t(m) * n * 4);
      MPSMatrix* ma = [[MPSMatrix alloc] initWithBuffer:A descriptor:[MPSMatrixDescriptor matrixDescriptorWithRows:m columns:k rowBytes:k * 4 dataType:MPSDataTypeFloat32]];
      MPSMatrix* mb = [[MPSMatrix alloc] initWithBuffer:B descriptor:[MPSMatrixDescriptor matrixDescriptorWithRows:k columns:n rowBytes:n * 4 dataType:MPSDataTypeFloat32]];
      MPSMatrix* mc = [[MPSMatrix alloc] initWithBuffer:C descriptor:[MPSMatrixDescriptor matrixDescriptorWithRows:m columns:n rowBytes:n * 4 dataType:MPSDataTypeFloat32]];
      MPSMatrixMultiplication* mm = [[MPSMatrixMultiplication alloc] initWithDevice:device_ transposeLeft:NO transposeRight:NO resultRows:m resultColumns:n interiorColumns:k alpha:1 beta:0];
      id<MTLCommandBuffer> cmd = [queue_ commandBuffer];
      for (uint32_t i = 0; i < iters; ++i) [mm encodeToCommandBuffer:cmd leftMatrix:ma rightMatrix:mb resultMatrix:mc];
      [cmd commit];
      [cmd waitUntilCompleted];
      return Napi::Number::New(env, (cmd.GPUEndTime - cmd.GPUStartTime) * 1e3 / iters);
    }
  }

  Napi::Value BenchCopy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    alive(env);
    const size_t bytes = static_cast<size_t>(info[0].As<Napi::Number>().DoubleValue());
    const uint32_t iters = std::max<uint32_t>(1, info[1].As<Napi::Number>().Uint32Value());
    @autoreleasepool {
      id<MTLBuffer> s = [device_ newBufferWithLength:bytes options:MTLResourceStorageModePrivate];
      id<MTLBuffer> d = [device_ newBufferWithLength:bytes options:MTLResourceStorageModePrivate];
      if (!s || !d) throw withCode(env, "Metal allocation failed", "METAL_OUT_OF_MEMORY");
      id<MTLCommandBuffer> cmd = [queue_ commandBuffer];
      id<MTLBlitCommandEncoder> blit = [cmd blitCommandEncoder];
      for (uint32_t i = 0; i < iters; ++i) [blit copyFromBuffer:s sourceOffset:0 toBuffer:d destinationOffset:0 size:bytes];
      [blit endEncoding];
      [cmd commit];
      [cmd waitUntilCompleted];
      return Napi::Number::New(env, (cmd.GPUEndTime - cmd.GPUStartTime) * 1e3 / iters);
    }
  }

  void Destroy(const Napi::CallbackInfo&) {
    if (destroyed_) return;
    id<MTLCommandBuffer> fence = [queue_ commandBuffer];
    [fence commit];
    [fence waitUntilCompleted];
    buffers_.clear();
    destroyed_ = true;
  }

  Napi::Value InFlight(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), inFlight_); }
  Napi::Value MemoryInUse(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>([device_ currentAllocatedSize])); }

  int index_ = 0;
  id<MTLDevice> device_ = nil;
  id<MTLCommandQueue> queue_ = nil;
  id<MTLComputePipelineState> rolling_ = nil, normRows_ = nil, scores_ = nil, mcvar_ = nil, noop_ = nil;
  std::unordered_map<uint32_t, id<MTLBuffer>> buffers_;
  uint32_t next_ = 1;
  int inFlight_ = 0;
  bool destroyed_ = false;
};

void Completion::submit(id<MTLCommandBuffer> cmd) {
  cmd_ = cmd;
  [cmd_ commit];
  Queue();
}

void Completion::finish() {
  backs_.clear();
  held_.clear();
  scratch_.clear();
  ctx_->end();
  ctx_->Unref();
}

void Completion::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  std::string why, first;
  for (const Back& b : backs_) {
    void* to = cwts::jsResultTarget(env, b.target.Value(), b.bytes, b.name, &why);
    if (to == nullptr) {
      if (first.empty()) first = why;
      continue;
    }
    std::memcpy(to, b.from, b.bytes);
  }
  if (!first.empty()) {
    finish();
    deferred_.Reject(withCode(env, first, "METAL_BAD_ARGUMENT").Value());
    return;
  }
  Napi::Value v = result ? result(env) : env.Undefined();
  finish();
  deferred_.Resolve(v);
}

void Completion::OnError(const Napi::Error& e) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  finish();
  deferred_.Reject(withCode(env, e.Message(), "METAL_ERROR").Value());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("GpuContext", Context::Define(env));
  exports.Set("api", "Metal");
  return exports;
}

}  // namespace

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return Init(env, exports); }

NODE_API_MODULE(cwts_metal, InitAddon)
