// Node-API surface of the CPU SIMD backend. The TypeScript layer (src/backend.ts) validates every
// argument and turns failures into ComputeArgumentError; the checks here are a second line so that
// no call, however malformed, reads or writes past a buffer.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <cwts/js_result_target.h>

#include "dispatch.h"
#include "kernels.h"
#include "pool.h"

#if defined(CWTS_HAVE_CBLAS)
#include <cblas.h>
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
#endif

using namespace cwts;

namespace {

constexpr int64_t kMaxSafe = (int64_t)1 << 53;

struct F32View { float* p; int64_t n; Napi::Object obj; };
struct F64View { double* p; int64_t n; Napi::Object obj; };
struct I32View { int32_t* p; int64_t n; Napi::Object obj; };
struct BytesView { uint8_t* p; int64_t n; Napi::Object obj; };

[[noreturn]] void throwType(Napi::Env env, const std::string& m) { throw Napi::TypeError::New(env, m); }
[[noreturn]] void throwRange(Napi::Env env, const std::string& m) { throw Napi::RangeError::New(env, m); }

// One napi_get_typedarray_info per array (type, length and data pointer, offset applied): the
// per-call overhead of small kernels is mostly N-API calls, so the argument helpers use the C API.
struct TA { napi_typedarray_type type; size_t length; void* data; };

bool typed(const Napi::CallbackInfo& info, size_t i, TA* out) {
  if (i >= info.Length()) return false;
  return napi_get_typedarray_info(info.Env(), info[i], &out->type, &out->length, &out->data, nullptr, nullptr) == napi_ok;
}

F32View f32(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t need) {
  TA t;
  if (!typed(info, i, &t) || t.type != napi_float32_array) throwType(info.Env(), std::string(name) + " must be a Float32Array");
  int64_t n = (int64_t)t.length;
  if (n < need) throwRange(info.Env(), std::string(name) + " has " + std::to_string(n) + " elements, needs " + std::to_string(need));
  return {(float*)t.data, n, info[i].As<Napi::Object>()};
}

F64View f64(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t need) {
  TA t;
  if (!typed(info, i, &t) || t.type != napi_float64_array) throwType(info.Env(), std::string(name) + " must be a Float64Array");
  int64_t n = (int64_t)t.length;
  if (n < need) throwRange(info.Env(), std::string(name) + " has " + std::to_string(n) + " elements, needs " + std::to_string(need));
  return {(double*)t.data, n, info[i].As<Napi::Object>()};
}

I32View i32(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t need) {
  TA t;
  if (!typed(info, i, &t) || t.type != napi_int32_array) throwType(info.Env(), std::string(name) + " must be an Int32Array");
  int64_t n = (int64_t)t.length;
  if (n < need) throwRange(info.Env(), std::string(name) + " has " + std::to_string(n) + " elements, needs " + std::to_string(need));
  return {(int32_t*)t.data, n, info[i].As<Napi::Object>()};
}

BytesView bytes(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t need) {
  TA t;
  if (!typed(info, i, &t)) throwType(info.Env(), std::string(name) + " must be a typed array");
  size_t es = 1;
  switch (t.type) {
    case napi_int16_array: case napi_uint16_array: es = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: es = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: es = 8; break;
    default: es = 1;
  }
  int64_t n = (int64_t)(t.length * es);
  if (n < need) throwRange(info.Env(), std::string(name) + " has " + std::to_string(n) + " bytes, needs " + std::to_string(need));
  return {(uint8_t*)t.data, n, info[i].As<Napi::Object>()};
}

double number(const Napi::CallbackInfo& info, size_t i, const char* name) {
  double d;
  if (i >= info.Length() || napi_get_value_double(info.Env(), info[i], &d) != napi_ok)
    throwType(info.Env(), std::string(name) + " must be a number");
  return d;
}

int64_t integer(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t lo, int64_t hi) {
  double d = number(info, i, name);
  if (!(d >= (double)lo && d <= (double)hi) || std::floor(d) != d)
    throwRange(info.Env(), std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return (int64_t)d;
}

bool flag(const Napi::CallbackInfo& info, size_t i) {
  bool b = false;
  if (i < info.Length() && napi_get_value_bool(info.Env(), info[i], &b) == napi_ok) return b;
  return i < info.Length() && info[i].ToBoolean().Value();
}

int64_t mul_checked(Napi::Env env, int64_t a, int64_t b, const char* what) {
  if (a != 0 && b > kMaxSafe / a) throwRange(env, std::string(what) + " is too large");
  return a * b;
}

// Kernel status: undefined when the call succeeded (the common case costs no allocation), else
// { ok: false, error }.
Napi::Value status(Napi::Env env, bool ok, const std::string& error) {
  if (ok) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", false);
  o.Set("error", error);
  return o;
}

// Addon memory for async calls' staged arguments, reused call after call: fresh allocations of
// megabytes cost a page fault per 4 KiB on first touch, more than copying into warm memory.
// Blocks from 64 KiB are cached (at most kMaxCached bytes, best fit up to 2x the size asked);
// smaller ones come from malloc. Thread-safe (a block may be released on any thread).
// get() returns an empty pointer when the memory cannot be had: it runs on the JS thread inside
// an N-API callback, where a std::bad_alloc would end the process, and the caller turns it into
// a RangeError naming the argument.
class BlockCache {
 public:
  static constexpr size_t kMinCached = 64 << 10;
  static constexpr size_t kMaxCached = 256ull << 20;
  std::shared_ptr<uint8_t> get(const std::shared_ptr<BlockCache>& self, size_t bytes) {
    bytes = std::max<size_t>(bytes, 16);
    uint8_t* p = nullptr;
    size_t cap = bytes;
    if (bytes >= kMinCached) {
      std::lock_guard<std::mutex> lk(mu_);
      auto it = free_.lower_bound(bytes);
      if (it != free_.end() && it->first <= 2 * bytes) {
        cap = it->first;
        p = it->second;
        cached_ -= cap;
        free_.erase(it);
      }
    }
    if (!p) p = new (std::nothrow) uint8_t[cap];
    if (!p) return nullptr;
    std::weak_ptr<BlockCache> w = self;
    return std::shared_ptr<uint8_t>(p, [w, cap](uint8_t* q) {
      if (auto c = w.lock()) c->put(q, cap);
      else delete[] q;
    });
  }
  void clear() {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& kv : free_) delete[] kv.second;
    free_.clear();
    cached_ = 0;
  }
  ~BlockCache() { clear(); }

 private:
  void put(uint8_t* p, size_t cap) {
    if (cap >= kMinCached) {
      std::lock_guard<std::mutex> lk(mu_);
      if (cached_ + cap <= kMaxCached) {
        free_.emplace(cap, p);
        cached_ += cap;
        return;
      }
    }
    delete[] p;
  }
  std::mutex mu_;
  std::multimap<size_t, uint8_t*> free_;
  size_t cached_ = 0;
};

struct Shared {
  std::shared_ptr<Pool> pool;
  std::shared_ptr<BlockCache> blocks;
  const KernelTable* table;
  bool blas;
  template <class F>
  void pfor(bool mayBlock, int64_t n, F&& fn) const {
    if (n <= 1) {
      if (n == 1) fn(0);
      return;
    }
    std::function<void(int64_t)> f(std::ref(fn));
    if (mayBlock) pool->parallel_for(n, f);
    else pool->try_parallel_for(n, f);
  }
};

// memcpy split over the pool for large sizes; never blocks on a busy pool (runs inline then).
void copy_bytes(const Shared& s, uint8_t* dst, const uint8_t* src, int64_t n, bool mayBlock) {
  if (n <= 0 || dst == src) return;
  const int64_t minChunk = (int64_t)1 << 20;
  int64_t nt = (n < 4 * minChunk || !s.pool) ? 1 : std::min<int64_t>(s.pool->threads(), n / minChunk);
  if (nt <= 1) {
    std::memcpy(dst, src, (size_t)n);
    return;
  }
  int64_t per = ((n + nt - 1) / nt + 63) / 64 * 64;
  s.pfor(mayBlock, nt, [&](int64_t t) {
    int64_t b0 = t * per, b1 = std::min(n, b0 + per);
    if (b0 < b1) s.table->copyRange(dst + b0, src + b0, (size_t)(b1 - b0));
  });
}

// What an async call holds between the call and its completion. Typed arrays the caller may
// still touch (detach by transferring their ArrayBuffer, or resize) are never used in place off
// the JS thread: an input is copied into addon memory at call time, an output is computed into
// addon memory and copied into the JS array on the JS thread at completion, after checking that
// the array is still attached and long enough (else the call rejects). Only arrays whose memory
// the TypeScript layer owns and never hands out (DeviceBuffer memory, results it allocated, its
// own snapshots) are borrowed in place: bit i of the call's `borrow` mask marks argument i so.
// Synchronous calls use every array in place (nothing else runs on the JS thread meanwhile).
struct Staging {
  struct Back {
    Napi::ObjectReference ref;
    std::shared_ptr<uint8_t> mem;
    int64_t bytes;
    std::string name;
  };
  bool async = false;
  uint32_t borrow = 0;
  std::vector<Napi::ObjectReference> refs;   // borrowed arrays, kept alive until completion
  std::vector<std::shared_ptr<uint8_t>> owned;  // addon copies of inputs
  std::vector<Back> backs;                     // addon outputs to copy into JS arrays

  Staging(const Napi::CallbackInfo& info, size_t asyncAt, size_t borrowAt);

  // The memory a kernel uses for argument `i` (`p`: the array's own memory, `count` elements).
  template <class T>
  T* use(const Napi::CallbackInfo& info, const Shared& s, size_t i, T* p, int64_t count, bool in, bool out, const char* name) {
    if (!async) return p;
    if ((borrow >> i) & 1u) {
      refs.push_back(Napi::Persistent(info[i].As<Napi::Object>()));
      return p;
    }
    const int64_t bytes = count * (int64_t)sizeof(T);
    std::shared_ptr<uint8_t> mem = s.blocks->get(s.blocks, (size_t)bytes);
    if (!mem)
      throw Napi::RangeError::New(info.Env(), std::string("cpu-simd: out of memory: could not allocate ") + std::to_string(bytes) +
                                                  " bytes for the async call's copy of " + name);
    if (in) copy_bytes(s, mem.get(), reinterpret_cast<const uint8_t*>(p), bytes, false);
    if (out) backs.push_back(Back{Napi::Persistent(info[i].As<Napi::Object>()), mem, bytes, name});
    else owned.push_back(mem);
    return reinterpret_cast<T*>(mem.get());
  }
};

Staging::Staging(const Napi::CallbackInfo& info, size_t asyncAt, size_t borrowAt) {
  async = flag(info, asyncAt);
  double d = 0;
  if (async && borrowAt < info.Length() && napi_get_value_double(info.Env(), info[borrowAt], &d) == napi_ok && d >= 0 && d < 4294967296.0)
    borrow = (uint32_t)d;
}

// Copies an addon output into its JS typed array on the JS thread; false (with `why`) when the
// array was detached or no longer holds the output.
bool copy_back(Napi::Env env, const Shared& s, Staging::Back& b, std::string* why) {
  void* data = cwts::jsResultTarget(env, b.ref.Value(), (size_t)b.bytes, b.name, why);
  if (data == nullptr) return false;
  copy_bytes(s, static_cast<uint8_t*>(data), b.mem.get(), b.bytes, false);
  return true;
}

// Runs `exec` off the JS thread and settles a Promise with `done(env, error)`. Holds the call's
// Staging (references to borrowed arrays, addon copies) until then, and copies addon outputs
// into the JS arrays on the JS thread before settling.
// Completion lets no C++ exception out: one escaping an N-API callback ends the process. The
// case that matters is a worker_threads Worker terminated (or calling process.exit) with a call
// in flight: Node finishes the work during the environment's teardown, when JS can no longer
// run, so settling the promise fails (and node-addon-api would throw for it). Nobody can observe
// that promise any more, so such a failure is dropped. The Promise is driven through the C API
// for that reason: it reports failure as a status instead of throwing.
class Job : public Napi::AsyncWorker {
 public:
  Job(Napi::Env env, Shared s, Staging&& st, std::function<std::string()> exec, std::function<Napi::Value(Napi::Env, const std::string&)> done)
      : Napi::AsyncWorker(env, "cwts-cpu-simd"), s_(std::move(s)), st_(std::move(st)), exec_(std::move(exec)), done_(std::move(done)) {
    if (napi_create_promise(env, &deferred_, &promise_) != napi_ok) throw Napi::Error::New(env);
  }
  void keep(Napi::Object o) { st_.refs.push_back(Napi::Persistent(o)); }
  // Valid in the handle scope of the call that created the job.
  napi_value promise() const { return promise_; }
  void Execute() override {
    try {
      err_ = exec_();
    } catch (const std::exception& e) {
      failed_ = true;
      fail_ = std::string("native kernel failed: ") + e.what();
    } catch (...) {
      failed_ = true;
    }
  }
  void OnWorkComplete(Napi::Env env, napi_status status) override {
    if (status != napi_cancelled) {
      napi_handle_scope scope;
      if (napi_open_handle_scope(env, &scope) == napi_ok) {
        complete(env);
        napi_close_handle_scope(env, scope);
      }
    }
    Destroy();
  }

 private:
  // Settles the promise once; false when it could not be (no value, or JS can no longer run).
  bool settle(napi_env env, bool ok, napi_value v) {
    if (deferred_ == nullptr || v == nullptr) return false;
    if ((ok ? napi_resolve_deferred(env, deferred_, v) : napi_reject_deferred(env, deferred_, v)) != napi_ok) return false;
    deferred_ = nullptr;
    return true;
  }
  static napi_value plainError(napi_env env, const char* message) {
    napi_value msg = nullptr, err = nullptr;
    if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok) return nullptr;
    if (napi_create_error(env, nullptr, msg, &err) != napi_ok) return nullptr;
    return err;
  }
  void finish(Napi::Env env) {
    if (failed_) {
      settle(env, false, Napi::Error::New(env, fail_.empty() ? std::string("native kernel failed") : fail_).Value());
      return;
    }
    if (err_.empty()) {
      std::string why, first;
      for (auto& b : st_.backs)
        if (!copy_back(env, s_, b, &why) && first.empty()) first = why;
      if (!first.empty()) {
        Napi::Error e = Napi::Error::New(env, first);
        e.Set("code", Napi::String::New(env, "CWTS_ARG_DETACHED"));
        settle(env, false, e.Value());
        return;
      }
    }
    settle(env, true, done_(env, err_));
  }
  void complete(napi_env env) noexcept {
    char why[512] = "cpu-simd: the call could not be completed";
    try {
      finish(Napi::Env(env));
      return;
    } catch (const Napi::Error& e) {
      try {
        if (settle(env, false, e.Value())) return;
      } catch (...) {
      }
      std::snprintf(why, sizeof why, "cpu-simd: the call could not be completed: %s", e.what());
    } catch (const std::bad_alloc&) {
      std::snprintf(why, sizeof why, "cpu-simd: out of memory completing the call");
    } catch (const std::exception& e) {
      std::snprintf(why, sizeof why, "cpu-simd: the call could not be completed: %s", e.what());
    } catch (...) {
    }
    settle(env, false, plainError(env, why));
  }

  napi_deferred deferred_ = nullptr;
  napi_value promise_ = nullptr;
  Shared s_;
  Staging st_;
  std::function<std::string()> exec_;
  std::function<Napi::Value(Napi::Env, const std::string&)> done_;
  std::string err_;
  bool failed_ = false;
  std::string fail_;
};

// A kernel call: `exec(mayBlock)` does the work and returns an error message ("" = success),
// `done(env, error)` builds the JS result. Synchronous calls allocate nothing here.
template <class Exec, class Done>
Napi::Value run(const Napi::CallbackInfo& info, const Shared& s, Staging& st, Exec exec, Done done) {
  if (!st.async) {
    std::string err;
    try {
      err = exec(false);
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("native kernel failed: ") + e.what());
    }
    return done(info.Env(), err);
  }
  std::unique_ptr<Job> job(new Job(info.Env(), s, std::move(st), [exec]() { return exec(true); }, done));
  job->keep(info.This().As<Napi::Object>());
  napi_value p = job->promise();
  job->Queue();
  job.release();  // deletes itself when complete
  return Napi::Value(info.Env(), p);
}

// Number of tasks for `work` (rough element-operations) split into at most `units` pieces.
int64_t tasks_for(const Shared& s, double work, int64_t units) {
  if (work < 131072.0 || s.pool->threads() <= 1) return 1;
  int64_t t = std::min<int64_t>(units, (int64_t)s.pool->threads() * 4);
  return std::max<int64_t>(t, 1);
}

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  using Method = Napi::Value (Engine::*)(const Napi::CallbackInfo&);
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {InstanceMethod("patternScores", &Engine::guarded<&Engine::PatternScores>),
                        InstanceMethod("rollingMoments", &Engine::guarded<&Engine::RollingMoments>),
                        InstanceMethod("rollingMoments64", &Engine::guarded<&Engine::RollingMoments64>),
                        InstanceMethod("sgemm", &Engine::guarded<&Engine::Sgemm>),
                        InstanceMethod("monteCarloVaR", &Engine::guarded<&Engine::MonteCarloVaR>),
                        InstanceMethod("copy", &Engine::guarded<&Engine::Copy>), InstanceMethod("noop", &Engine::guarded<&Engine::Noop>),
                        InstanceMethod("readProbe", &Engine::guarded<&Engine::ReadProbe>),
                        InstanceMethod("info", &Engine::guarded<&Engine::Info>), InstanceMethod("dispose", &Engine::guarded<&Engine::Dispose>)});
  }

  // Every JS entry point: a C++ exception other than Napi::Error (std::bad_alloc from a vector
  // or a staged copy, std::system_error) leaving an N-API callback ends the process, so it
  // becomes a JS exception here (an allocation failure a RangeError, as in JS itself).
  template <Method M>
  Napi::Value guarded(const Napi::CallbackInfo& info) {
    try {
      return (this->*M)(info);
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw Napi::RangeError::New(info.Env(), "cpu-simd: out of memory in the native call");
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("cpu-simd: native call failed: ") + e.what());
    }
  }

  // new Engine(threads, isa, useBlas)
  Engine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Engine>(info) {
    Napi::Env env = info.Env();
    int64_t threads = integer(info, 0, "threads", 1, 1024);
    std::string want = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "auto";
    auto isas = supported_isas();
    const IsaInfo* pick = nullptr;
    if (want == "auto") pick = &isas.front();
    for (auto& i : isas)
      if (i.name == want) pick = &i;
    if (!pick) throwRange(env, "instruction set '" + want + "' is not supported on this CPU or not compiled in");
    isa_ = pick->name;
    s_.table = pick->table;
    // Threads that cannot be started (a pids or RLIMIT_NPROC limit, no address space for their
    // stacks) fail the construction, so create() rejects and the registry falls back, naming
    // why; a pool quietly smaller than threadPoolSize would misreport the backend's capacity.
    try {
      s_.pool = std::make_shared<Pool>((int)threads);
      s_.blocks = std::make_shared<BlockCache>();
    } catch (const std::system_error& e) {
      throw Napi::Error::New(env, "cpu-simd: could not start the thread pool (threadPoolSize " + std::to_string(threads) + "): " + e.what() +
                                      "; lower threadPoolSize or raise the process's thread limit");
    } catch (const std::bad_alloc&) {
      throw Napi::RangeError::New(env, "cpu-simd: out of memory creating the thread pool (threadPoolSize " + std::to_string(threads) + ")");
    }
#if defined(CWTS_HAVE_CBLAS)
    s_.blas = flag(info, 2);
    if (s_.blas && openblas_set_num_threads) openblas_set_num_threads((int)threads);
#else
    s_.blas = false;
#endif
  }

 private:
  const Shared& live(Napi::Env env) {
    if (!s_.pool) throw Napi::Error::New(env, "cpu-simd backend was disposed");
    return s_;
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("isa", isa_);
    o.Set("lanes", s_.table->lanes);
    o.Set("threads", s_.pool ? s_.pool->threads() : 0);
    o.Set("blas", s_.blas);
    return o;
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    s_.pool.reset();  // in-flight jobs hold their own reference; the pool stops after them
    if (s_.blocks) s_.blocks->clear();  // blocks of in-flight jobs are freed when they finish
    s_.blocks.reset();
    return info.Env().Undefined();
  }

  // patternScores(stored, K, D, queries, B, topK, outIdx, outScores, allScores|null, async)
  Napi::Value PatternScores(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Shared s = live(env);
    int64_t K = integer(info, 1, "storedCount", 1, INT32_MAX);
    int64_t D = integer(info, 2, "dim", 1, INT32_MAX);
    int64_t B = integer(info, 4, "queryCount", 1, INT32_MAX);
    int64_t topK = integer(info, 5, "topK", 1, K);
    F32View stored = f32(info, 0, "stored", mul_checked(env, K, D, "storedCount x dim"));
    F32View queries = f32(info, 3, "queries", mul_checked(env, B, D, "queryCount x dim"));
    I32View oi = i32(info, 6, "out.indices", mul_checked(env, B, topK, "queryCount x topK"));
    F32View os = f32(info, 7, "out.scores", B * topK);
    bool all = !info[8].IsNull() && !info[8].IsUndefined();
    F32View as = all ? f32(info, 8, "allScores", mul_checked(env, B, K, "queryCount x storedCount")) : F32View{nullptr, 0, Napi::Object()};
    Staging st(info, 9, 10);
    const float* sp = st.use(info, s, 0, stored.p, K * D, true, false, "stored");
    const float* qp = st.use(info, s, 3, queries.p, B * D, true, false, "queries");
    int32_t* oip = st.use(info, s, 6, oi.p, B * topK, false, true, "out.indices");
    float* osp = st.use(info, s, 7, os.p, B * topK, false, true, "out.scores");
    float* asp = all ? st.use(info, s, 8, as.p, B * K, false, true, "allScores") : nullptr;
    auto exec = [s, K, D, B, topK, sp, qp, oip, osp, asp](bool mayBlock) -> std::string {
      // Centre and normalise queries in double; zero-variance queries score 0 everywhere.
      std::vector<float> qn((size_t)(B * D));
      std::vector<uint8_t> qvalid((size_t)B);
      std::vector<double> qsum((size_t)B, 0.0);
      for (int64_t b = 0; b < B; b++) {
        const float* q = qp + b * D;
        double sum = 0, mn = q[0], mx = q[0];
        for (int64_t d = 0; d < D; d++) { sum += q[d]; mn = std::min(mn, (double)q[d]); mx = std::max(mx, (double)q[d]); }
        double m = sum / (double)D, ss = 0;
        for (int64_t d = 0; d < D; d++) ss += ((double)q[d] - m) * ((double)q[d] - m);
        // Constant, or holding NaN/Inf (non-finite sum): zero-variance, scores 0 (as the reference).
        bool ok = std::isfinite(sum) && mn != mx && ss > 0;
        qvalid[b] = ok;
        double inv = ok ? 1.0 / std::sqrt(ss) : 0.0;
        for (int64_t d = 0; d < D; d++) {
          qn[b * D + d] = ok ? (float)(((double)q[d] - m) * inv) : 0.0f;
          qsum[b] += (double)qn[b * D + d];
        }
      }
      const int lanes = s.table->lanes;
      const int64_t blocks = (K + lanes - 1) / lanes;
      int64_t nt = tasks_for(s, (double)K * (double)D * (double)(B + 2), blocks);
      // Keep per-task heaps bounded (topK may equal K).
      while (nt > 1 && (double)nt * (double)B * (double)topK > 64.0 * 1024 * 1024) nt--;
      const int64_t per = ((blocks + nt - 1) / nt) * lanes;
      std::vector<float> hs((size_t)(nt * B * topK));
      std::vector<int32_t> hi((size_t)(nt * B * topK));
      std::vector<int64_t> cnt((size_t)(nt * B), 0);
      std::vector<int64_t> bad((size_t)nt, -1);
      const int64_t scratchN = s.table->patternScratch(D);
      PatternJob job{sp, K, D, qn.data(), qvalid.data(), qsum.data(), B, topK, asp};
      std::vector<float> scratch((size_t)(nt * scratchN));
      s.pfor(mayBlock, nt, [&](int64_t t) {
        int64_t k0 = t * per, k1 = std::min(K, k0 + per);
        if (k0 >= k1) return;
        TopKState st{hs.data() + t * B * topK, hi.data() + t * B * topK, cnt.data() + t * B};
        int64_t b = -1;
        if (!s.table->patternRange(job, k0, k1, st, scratch.data() + t * scratchN, &b)) bad[t] = b;
      });
      // Merge the per-task heaps: score descending, ties by lower index.
      std::vector<std::pair<float, int32_t>> cand;
      for (int64_t b = 0; b < B; b++) {
        cand.clear();
        for (int64_t t = 0; t < nt; t++) {
          const int64_t base = (t * B + b) * topK;
          for (int64_t i = 0; i < cnt[t * B + b]; i++) cand.emplace_back(hs[base + i], hi[base + i]);
        }
        int64_t take = std::min<int64_t>(topK, (int64_t)cand.size());
        auto better = [](const std::pair<float, int32_t>& x, const std::pair<float, int32_t>& y) {
          return x.first > y.first || (x.first == y.first && x.second < y.second);
        };
        std::partial_sort(cand.begin(), cand.begin() + take, cand.end(), better);
        for (int64_t i = 0; i < take; i++) { oip[b * topK + i] = cand[i].second; osp[b * topK + i] = cand[i].first; }
      }
      return std::string();
    };
    auto done = [](Napi::Env e, const std::string& err) { return status(e, err.empty(), err); };
    return run(info, s, st, exec, done);
  }

  // rollingMoments(series, N, W, mean, variance, async)
  Napi::Value RollingMoments(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Shared s = live(env);
    int64_t N = integer(info, 1, "length", 1, kMaxSafe);
    int64_t W = integer(info, 2, "window", 1, N);
    F32View x = f32(info, 0, "series", N);
    int64_t M = N - W + 1;
    F32View mean = f32(info, 3, "out.mean", M);
    F32View var = f32(info, 4, "out.variance", M);
    Staging st(info, 5, 6);
    const float* xp = st.use(info, s, 0, x.p, N, true, false, "series");
    float* mp = st.use(info, s, 3, mean.p, M, false, true, "out.mean");
    float* vp = st.use(info, s, 4, var.p, M, false, true, "out.variance");
    auto exec = [s, N, W, M, xp, mp, vp](bool mayBlock) -> std::string {
      int64_t nt = tasks_for(s, (double)N * 4.0, (M + 16383) / 16384);
      const int64_t per = (M + nt - 1) / nt;
      s.pfor(mayBlock, nt, [&](int64_t t) {
        int64_t o0 = t * per, o1 = std::min(M, o0 + per);
        if (o0 < o1) s.table->rollingRange(xp, N, W, o0, o1, mp, vp);
      });
      return std::string();
    };
    return run(info, s, st, exec, [](Napi::Env e, const std::string&) { return e.Undefined(); });
  }

  // rollingMoments64(series, N, W, mean, variance | null, async): float64 in and out; a null
  // variance computes the mean only.
  Napi::Value RollingMoments64(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Shared s = live(env);
    int64_t N = integer(info, 1, "length", 1, kMaxSafe);
    int64_t W = integer(info, 2, "window", 1, N);
    F64View x = f64(info, 0, "series", N);
    int64_t M = N - W + 1;
    F64View mean = f64(info, 3, "out.mean", M);
    const bool withVar = info.Length() > 4 && !info[4].IsNull() && !info[4].IsUndefined();
    F64View var = withVar ? f64(info, 4, "out.variance", M) : F64View{nullptr, 0, mean.obj};
    Staging st(info, 5, 6);
    const double* xp = st.use(info, s, 0, x.p, N, true, false, "series");
    double* mp = st.use(info, s, 3, mean.p, M, false, true, "out.mean");
    double* vp = withVar ? st.use(info, s, 4, var.p, M, false, true, "out.variance") : nullptr;
    auto exec = [s, N, W, M, xp, mp, vp](bool mayBlock) -> std::string {
      int64_t nt = tasks_for(s, (double)N * 8.0, (M + 16383) / 16384);
      const int64_t per = (M + nt - 1) / nt;
      s.pfor(mayBlock, nt, [&](int64_t t) {
        int64_t o0 = t * per, o1 = std::min(M, o0 + per);
        if (o0 < o1) s.table->rolling64Range(xp, W, o0, o1, mp, vp);
      });
      return std::string();
    };
    return run(info, s, st, exec, [](Napi::Env e, const std::string&) { return e.Undefined(); });
  }

  // sgemm(m, n, k, alpha, beta, a, b, c, async, useBlas)
  Napi::Value Sgemm(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Shared s = live(env);
    int64_t m = integer(info, 0, "m", 0, INT32_MAX), n = integer(info, 1, "n", 0, INT32_MAX), k = integer(info, 2, "k", 0, INT32_MAX);
    float alpha = (float)number(info, 3, "alpha"), beta = (float)number(info, 4, "beta");
    F32View a = f32(info, 5, "a", mul_checked(env, m, k, "m x k"));
    F32View b = f32(info, 6, "b", mul_checked(env, k, n, "k x n"));
    F32View c = f32(info, 7, "c", mul_checked(env, m, n, "m x n"));
    bool useBlas = s.blas && (info.Length() <= 9 || info[9].IsUndefined() || flag(info, 9));
    Staging st(info, 8, 10);
    // BLAS semantics: alpha = 0 (or k = 0) reads neither A nor B; beta = 0 does not read C.
    const bool readsAB = alpha != 0.0f && k != 0;
    const float* ap = st.use(info, s, 5, a.p, readsAB ? m * k : 0, readsAB, false, "a");
    const float* bp = st.use(info, s, 6, b.p, readsAB ? k * n : 0, readsAB, false, "b");
    float* cp = st.use(info, s, 7, c.p, m * n, beta != 0.0f, true, "c");
    auto exec = [s, m, n, k, alpha, beta, ap, bp, cp, useBlas](bool mayBlock) -> std::string {
      if (m == 0 || n == 0) return std::string();
      if (alpha == 0.0f || k == 0) {
        // BLAS semantics: A and B are not read; C = beta * C, and beta = 0 writes zeros.
        for (int64_t i = 0; i < m * n; i++) cp[i] = beta == 0.0f ? 0.0f : beta * cp[i];
        return std::string();
      }
#if defined(CWTS_HAVE_CBLAS)
      if (useBlas && k > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, alpha, ap, (int)k, bp, (int)n, beta, cp,
                    (int)n);
        return std::string();
      }
#else
      (void)useBlas;
#endif
      double work = (double)m * (double)n * (double)std::max<int64_t>(k, 1);
      int64_t nt = tasks_for(s, work / 8.0, std::max(m, n));
      nt = std::min<int64_t>(nt, s.pool->threads());
      if (m >= n) {
        int64_t per = ((m + nt - 1) / nt + 5) / 6 * 6;
        s.pfor(mayBlock, nt, [&](int64_t t) {
          int64_t m0 = t * per, m1 = std::min(m, m0 + per);
          if (m0 < m1) s.table->sgemmTile(m, n, k, alpha, ap, bp, beta, cp, m0, m1, 0, n);
        });
      } else {
        int64_t nr = 2 * s.table->lanes;
        int64_t per = ((n + nt - 1) / nt + nr - 1) / nr * nr;
        s.pfor(mayBlock, nt, [&](int64_t t) {
          int64_t n0 = t * per, n1 = std::min(n, n0 + per);
          if (n0 < n1) s.table->sgemmTile(m, n, k, alpha, ap, bp, beta, cp, 0, m, n0, n1);
        });
      }
      return std::string();
    };
    return run(info, s, st, exec, [](Napi::Env e, const std::string&) { return e.Undefined(); });
  }

  // monteCarloVaR(means, factor, A, F, weights, paths, horizon, varIndex, seedLo, seedHi, async)
  Napi::Value MonteCarloVaR(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Shared s = live(env);
    int64_t A = integer(info, 2, "assets", 1, INT32_MAX), F = integer(info, 3, "factors", 1, INT32_MAX);
    F32View means = f32(info, 0, "means", A);
    F32View factor = f32(info, 1, "factor", mul_checked(env, A, F, "assets x factors"));
    F32View weights = f32(info, 4, "weights", A);
    int64_t paths = integer(info, 5, "paths", 1, (int64_t)UINT32_MAX + 1);
    int64_t horizon = integer(info, 6, "horizon", 1, (int64_t)UINT32_MAX + 1);
    int64_t vi = integer(info, 7, "varIndex", 0, paths - 1);
    uint32_t k0 = (uint32_t)integer(info, 8, "seedLo", 0, UINT32_MAX), k1 = (uint32_t)integer(info, 9, "seedHi", 0, UINT32_MAX);
    Staging st(info, 10, 11);
    struct Out { double var = 0, cvar = 0, mean = 0, m2 = 0; std::string err; };
    auto out = std::make_shared<Out>();
    const float* mp = st.use(info, s, 0, means.p, A, true, false, "means");
    const float* fp = st.use(info, s, 1, factor.p, A * F, true, false, "factor");
    const float* wp = st.use(info, s, 4, weights.p, A, true, false, "weights");
    auto exec = [s, A, F, mp, fp, wp, paths, horizon, vi, k0, k1, out](bool mayBlock) -> std::string {
      std::vector<double> v((size_t)F, 0.0);
      double wm = 0;
      for (int64_t a = 0; a < A; a++) {
        if (!std::isfinite(mp[a]) || !std::isfinite(wp[a])) { return out->err = "means/weights contain NaN or Infinity"; }
        wm += (double)wp[a] * (double)mp[a];
        for (int64_t j = 0; j < F; j++) {
          float f = fp[a * F + j];
          if (!std::isfinite(f)) { return out->err = "factor contains NaN or Infinity"; }
          v[j] += (double)f * (double)wp[a];
        }
      }
      std::vector<double> losses((size_t)paths);
      McJob job{v.data(), F, wm, horizon, k0, k1, losses.data()};
      const int64_t chunk = 256;
      int64_t units = (paths + chunk - 1) / chunk;
      if (tasks_for(s, (double)paths * (double)horizon * (double)F * 16.0, units) == 1) {
        s.table->mcRange(job, 0, paths);
      } else {
        // One task per chunk of paths; the pool hands them out dynamically.
        s.pfor(mayBlock, units, [&](int64_t t) { s.table->mcRange(job, t * chunk, std::min(paths, (t + 1) * chunk)); });
      }
      double sum = 0;
      for (double l : losses) sum += l;
      double mean = sum / (double)paths, m2 = 0;
      for (double l : losses) m2 += (l - mean) * (l - mean);
      std::nth_element(losses.begin(), losses.begin() + vi, losses.end());
      double tail = 0;
      for (int64_t i = vi; i < paths; i++) tail += losses[i];
      out->var = losses[vi];
      out->cvar = tail / (double)(paths - vi);
      out->mean = mean;
      out->m2 = m2;
      return std::string();
    };
    return run(info, s, st, exec, [out](Napi::Env e, const std::string&) -> Napi::Value {
      if (!out->err.empty()) return status(e, false, out->err);
      Napi::Object o = Napi::Object::New(e);
      o.Set("ok", true);
      o.Set("var", out->var);
      o.Set("cvar", out->cvar);
      o.Set("meanLoss", out->mean);
      o.Set("m2", out->m2);
      return o;
    });
  }

  // copy(src, dst, byteLength, async)
  Napi::Value Copy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Shared s = live(env);
    int64_t n = integer(info, 2, "byteLength", 0, kMaxSafe);
    BytesView src = bytes(info, 0, "src", n), dst = bytes(info, 1, "dst", n);
    Staging st(info, 3, 4);
    // An overlapping pair (two views of one buffer) is moved with memmove; staged copies never
    // overlap, so decide on the caller's views.
    const bool overl = (src.p < dst.p && src.p + n > dst.p) || (dst.p < src.p && dst.p + n > src.p);
    const bool same = src.p == dst.p;
    uint8_t* sp = st.use(info, s, 0, src.p, n, true, false, "src");
    uint8_t* dp = st.use(info, s, 1, dst.p, n, overl, true, "dst");
    auto exec = [s, n, sp, dp, overl, same](bool mayBlock) -> std::string {
      if (n == 0 || same) return std::string();
      // Overlapping ranges (two views of one buffer): plain memmove, single-threaded.
      if (overl) { memmove(dp, sp, (size_t)n); return std::string(); }
      const int64_t minChunk = (int64_t)1 << 20;
      int64_t nt = n < 4 * minChunk ? 1 : std::min<int64_t>(s.pool->threads(), n / minChunk);
      int64_t per = ((n + nt - 1) / nt + 63) / 64 * 64;
      s.pfor(mayBlock, nt, [&](int64_t t) {
        int64_t b0 = t * per, b1 = std::min(n, b0 + per);
        if (b0 < b1) s.table->copyRange(dp + b0, sp + b0, (size_t)(b1 - b0));
      });
      return std::string();
    };
    return run(info, s, st, exec, [](Napi::Env e, const std::string&) { return e.Undefined(); });
  }

  // readProbe(floats, async) -> sum: a read-only streaming pass over a Float32Array, split over
  // the pool (the read-bandwidth yardstick of the benchmark; not a contract kernel).
  Napi::Value ReadProbe(const Napi::CallbackInfo& info) {
    Shared s = live(info.Env());
    F32View x = f32(info, 0, "x", 0);
    Staging st(info, 1, 2);
    const int64_t n = x.n;
    const float* xp = st.use(info, s, 0, x.p, n, true, false, "x");
    auto out = std::make_shared<double>(0.0);
    auto exec = [s, xp, n, out](bool mayBlock) -> std::string {
      const int64_t nt = n < (1 << 20) ? 1 : s.pool->threads();
      const int64_t per = ((n + nt - 1) / nt + 15) / 16 * 16;
      std::vector<double> part((size_t)nt, 0.0);
      s.pfor(mayBlock, nt, [&](int64_t t) {
        const int64_t i0 = t * per, i1 = std::min(n, i0 + per);
        float acc[16] = {0};
        int64_t i = i0;
        for (; i + 16 <= i1; i += 16)
          for (int j = 0; j < 16; j++) acc[j] += xp[i + j];
        double sum = 0;
        for (; i < i1; i++) sum += xp[i];
        for (int j = 0; j < 16; j++) sum += acc[j];
        part[t] = sum;
      });
      for (double v : part) *out += v;
      return std::string();
    };
    return run(info, s, st, exec, [out](Napi::Env e, const std::string&) { return Napi::Number::New(e, *out); });
  }

  Napi::Value Noop(const Napi::CallbackInfo& info) {
    const Shared& s = live(info.Env());
    Staging st(info, 0, 1);
    return run(info, s, st, [](bool) { return std::string(); }, [](Napi::Env e, const std::string&) { return e.Undefined(); });
  }

  Shared s_{};
  std::string isa_;
};

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  auto sup = supported_isas();
  Napi::Array supported = Napi::Array::New(env, sup.size());
  for (size_t i = 0; i < sup.size(); i++) supported.Set((uint32_t)i, sup[i].name);
  auto comp = compiled_isas();
  Napi::Array compiled = Napi::Array::New(env, comp.size());
  for (size_t i = 0; i < comp.size(); i++) compiled.Set((uint32_t)i, comp[i]);
  o.Set("best", sup.front().name);
  o.Set("supported", supported);
  o.Set("compiled", compiled);
  o.Set("cpu", cpu_name());
  o.Set("arch", arch_name());
  o.Set("hardwareConcurrency", (double)std::thread::hardware_concurrency());
#if defined(CWTS_HAVE_CBLAS)
  o.Set("blas", CWTS_BLAS_NAME);
#else
  o.Set("blas", env.Null());
#endif
  o.Set("napiVersion", NAPI_VERSION);
  return o;
}

}  // namespace

Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("Engine", Engine::Init(env));
  return exports;
}

NODE_API_MODULE(cwts_cpu_simd, InitAll)
