#include "vendor_blas.h"

#include <dlfcn.h>
#include <cstdlib>

namespace cwts {

#if defined(CWTS_HIP)

VendorBlas::~VendorBlas() {}
bool VendorBlas::load(gpuStream_t) {
  reason_ = "no vendor BLAS in this build (rocBLAS is not packaged for Debian 12; sgemm is the shared kernel)";
  return false;
}
int VendorBlas::sgemm(int, int, int, float, const float*, const float*, float, float*) { return -1; }

#else

namespace {
// cuBLAS v2 C API (cublas_api.h): status and operation enums are plain ints in the ABI.
typedef int (*CreateFn)(void** handle);
typedef int (*DestroyFn)(void* handle);
typedef int (*SetStreamFn)(void* handle, cudaStream_t stream);
typedef int (*SgemmFn)(void* handle, int transa, int transb, int m, int n, int k, const float* alpha, const float* A, int lda,
                       const float* B, int ldb, const float* beta, float* C, int ldc);
constexpr int kOpN = 0;  // CUBLAS_OP_N
}  // namespace

VendorBlas::~VendorBlas() {
  if (handle_ != nullptr && destroy_ != nullptr) reinterpret_cast<DestroyFn>(destroy_)(handle_);
  // The library stays loaded: unloading cuBLAS while the CUDA runtime holds its state is unsafe.
}

bool VendorBlas::load(cudaStream_t stream) {
  const char* env = std::getenv("CWTS_CUBLAS_PATH");
  const char* candidates[] = {env, "libcublas.so.13", "libcublas.so.12", "libcublas.so"};
  std::string tried;
  for (const char* c : candidates) {
    if (c == nullptr || *c == '\0') continue;
    lib_ = dlopen(c, RTLD_NOW | RTLD_LOCAL);
    if (lib_ != nullptr) {
      name_ = c;
      break;
    }
    tried += tried.empty() ? c : std::string(", ") + c;
  }
  if (lib_ == nullptr) {
    reason_ = "cuBLAS not found (tried " + tried + ")";
    return false;
  }
  create_ = dlsym(lib_, "cublasCreate_v2");
  destroy_ = dlsym(lib_, "cublasDestroy_v2");
  setStream_ = dlsym(lib_, "cublasSetStream_v2");
  sgemm_ = dlsym(lib_, "cublasSgemm_v2");
  if (!create_ || !destroy_ || !setStream_ || !sgemm_) {
    reason_ = name_ + " lacks the cuBLAS v2 entry points";
    return false;
  }
  void* h = nullptr;
  int st = reinterpret_cast<CreateFn>(create_)(&h);
  if (st != 0 || h == nullptr) {
    reason_ = "cublasCreate failed with status " + std::to_string(st);
    return false;
  }
  st = reinterpret_cast<SetStreamFn>(setStream_)(h, stream);
  if (st != 0) {
    reinterpret_cast<DestroyFn>(destroy_)(h);
    reason_ = "cublasSetStream failed with status " + std::to_string(st);
    return false;
  }
  handle_ = h;
  reason_.clear();
  return true;
}

int VendorBlas::sgemm(int m, int n, int k, float alpha, const float* A, const float* B, float beta, float* C) {
  if (handle_ == nullptr) return -1;
  // Row-major C = A B is column-major C^T = B^T A^T: swap the operands and the m/n roles.
  return reinterpret_cast<SgemmFn>(sgemm_)(handle_, kOpN, kOpN, n, m, k, &alpha, B, n, A, k, &beta, C, n);
}

#endif

}  // namespace cwts
