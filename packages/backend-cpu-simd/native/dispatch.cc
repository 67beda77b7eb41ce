#include "dispatch.h"

#include <cstdio>
#include <cstring>

namespace cwts {

namespace {
#if defined(__x86_64__) || defined(_M_X64)
bool os_saves_zmm() {
#if defined(__GNUC__) || defined(__clang__)
  // XCR0 bits 1,2 (SSE, AVX) and 5,6,7 (opmask, ZMM_Hi256, Hi16_ZMM) must be enabled by the OS.
  unsigned int eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (eax & 0xE6) == 0xE6;
#else
  return true;
#endif
}
#endif
}  // namespace

std::vector<IsaInfo> supported_isas() {
  std::vector<IsaInfo> out;
#if defined(__GNUC__) || defined(__clang__)
#if defined(CWTS_HAVE_AVX512_TU)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      os_saves_zmm())
    out.push_back({"avx512", table_avx512()});
#endif
#if defined(CWTS_HAVE_AVX2_TU)
  // __builtin_cpu_supports already accounts for OS support of the YMM state.
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) out.push_back({"avx2", table_avx2()});
#endif
#endif
#if defined(CWTS_HAVE_NEON_TU)
  out.push_back({"neon", table_neon()});  // Advanced SIMD is mandatory on AArch64.
#endif
  out.push_back({"scalar", table_scalar()});
  return out;
}

std::vector<std::string> compiled_isas() {
  std::vector<std::string> out;
#if defined(CWTS_HAVE_AVX512_TU)
  out.push_back("avx512");
#endif
#if defined(CWTS_HAVE_AVX2_TU)
  out.push_back("avx2");
#endif
#if defined(CWTS_HAVE_NEON_TU)
  out.push_back("neon");
#endif
  out.push_back("scalar");
  return out;
}

std::string cpu_name() {
#if defined(__linux__)
  FILE* f = fopen("/proc/cpuinfo", "r");
  if (f) {
    char line[512];
    while (fgets(line, sizeof line, f)) {
      if (strncmp(line, "model name", 10) == 0 || strncmp(line, "Hardware", 8) == 0) {
        const char* p = strchr(line, ':');
        if (p) {
          std::string s(p + 1);
          while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(s.begin());
          while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
          fclose(f);
          return s;
        }
      }
    }
    fclose(f);
  }
#endif
  return arch_name() + " cpu";
}

std::string arch_name() {
#if defined(__x86_64__) || defined(_M_X64)
  return "x64";
#elif defined(__aarch64__) || defined(_M_ARM64)
  return "arm64";
#else
  return "unknown";
#endif
}

}  // namespace cwts
