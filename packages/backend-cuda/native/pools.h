// Reusable memory for one context: pinned host staging (so host <-> device copies run at full
// DMA speed and asynchronously) and device temporaries for host-array kernel arguments.
// Both are size-bucketed free lists, touched only on the JS thread; memory returns to the
// driver when the context is destroyed.
#pragma once
#include <cstddef>
#include <map>
#include <vector>
#include "gpu_compat.h"

namespace cwts {

enum class PoolKind { Pinned, Device };

class BlockPool {
 public:
  explicit BlockPool(PoolKind kind) : kind_(kind) {}
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;
  ~BlockPool() { releaseAll(); }

  /** Smallest power of two >= bytes (at least 4 KiB): the bucket a block lives in. */
  static size_t bucketOf(size_t bytes) {
    size_t b = 4096;
    while (b < bytes) b <<= 1;
    return b;
  }

  /** A block of at least `bytes`; returns gpuSuccess or the allocator's error. */
  gpuError_t acquire(size_t bytes, void** out, size_t* bucket) {
    const size_t b = bucketOf(bytes);
    auto& list = free_[b];
    if (!list.empty()) {
      *out = list.back();
      list.pop_back();
      *bucket = b;
      return gpuSuccess;
    }
    void* p = nullptr;
    gpuError_t e = kind_ == PoolKind::Pinned ? gpuHostAlloc(&p, b) : gpuMalloc(&p, b);
    if (e != gpuSuccess) {
      // Give cached blocks back and try once more before reporting out of memory.
      releaseAll();
      (void)gpuGetLastError();
      e = kind_ == PoolKind::Pinned ? gpuHostAlloc(&p, b) : gpuMalloc(&p, b);
      if (e != gpuSuccess) return e;
    }
    held_ += b;
    *out = p;
    *bucket = b;
    return gpuSuccess;
  }

  void release(void* p, size_t bucket) { free_[bucket].push_back(p); }

  /** Frees every cached block (blocks in use are returned later and cached again). */
  void releaseAll() {
    for (auto& [b, list] : free_) {
      for (void* p : list) {
        if (kind_ == PoolKind::Pinned) (void)gpuFreeHost(p);
        else (void)gpuFree(p);
        held_ -= b;
      }
      list.clear();
    }
  }

  size_t held() const { return held_; }

 private:
  PoolKind kind_;
  std::map<size_t, std::vector<void*>> free_;
  size_t held_ = 0;
};

}  // namespace cwts
