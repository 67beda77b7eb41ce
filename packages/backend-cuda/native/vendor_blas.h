// The vendor BLAS, loaded at run time: cuBLAS on CUDA hosts that have it (its headers are not
// needed: the four entry points are declared here with their documented C ABI). Used only to
// compare our sgemm against in the same run (gpu-check, `cwts-ultra gpu-test`). The HIP build
// has none (Debian ships no rocBLAS); `available()` is then false with the reason.
#pragma once
#include <string>
#include "gpu_compat.h"

namespace cwts {

class VendorBlas {
 public:
  VendorBlas() = default;
  VendorBlas(const VendorBlas&) = delete;
  VendorBlas& operator=(const VendorBlas&) = delete;
  ~VendorBlas();

  /** Loads the library and creates a handle bound to `stream`; false with `reason()` otherwise. */
  bool load(gpuStream_t stream);
  bool available() const { return handle_ != nullptr; }
  const std::string& name() const { return name_; }
  const std::string& reason() const { return reason_; }

  /** Row-major C = alpha A B + beta C (m x k times k x n) on the bound stream; returns the BLAS status (0 = success). */
  int sgemm(int m, int n, int k, float alpha, const float* A, const float* B, float beta, float* C);

 private:
  void* lib_ = nullptr;
  void* handle_ = nullptr;
  std::string name_;
  std::string reason_ = "not loaded";
  void* create_ = nullptr;
  void* destroy_ = nullptr;
  void* setStream_ = nullptr;
  void* sgemm_ = nullptr;
};

}  // namespace cwts
