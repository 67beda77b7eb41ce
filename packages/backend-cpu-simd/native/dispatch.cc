#include "dispatch.h"

#include <cstdio>
#include <cstdlib>
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

#if defined(__aarch64__) && defined(__linux__)
namespace {
// AArch64 Linux names no model in /proc/cpuinfo, only the MIDR fields "CPU implementer" and
// "CPU part"; the cores a trading host is likely to have are named, others shown by number.
std::string arm_core_name(unsigned implementer, unsigned part) {
  struct Core { unsigned implementer, part; const char* name; };
  static const Core cores[] = {
      {0x41, 0xd03, "Arm Cortex-A53"}, {0x41, 0xd07, "Arm Cortex-A57"}, {0x41, 0xd08, "Arm Cortex-A72"},
      {0x41, 0xd0b, "Arm Cortex-A76"}, {0x41, 0xd0c, "Arm Neoverse N1"}, {0x41, 0xd40, "Arm Neoverse V1"},
      {0x41, 0xd49, "Arm Neoverse N2"}, {0x41, 0xd4f, "Arm Neoverse V2"}, {0xc0, 0xac3, "AmpereOne"},
  };
  for (const Core& c : cores)
    if (c.implementer == implementer && c.part == part) return c.name;
  char buf[64];
  snprintf(buf, sizeof buf, "arm64 cpu (implementer 0x%02x, part 0x%03x)", implementer, part);
  return buf;
}
}  // namespace
#endif

std::string cpu_name() {
#if defined(__aarch64__) && defined(__linux__)
  // Only the AArch64 fields count: under user-mode emulation (qemu-aarch64) /proc/cpuinfo is the
  // x86 host's, whose "model name" would name a CPU this binary is not running on.
  FILE* f = fopen("/proc/cpuinfo", "r");
  long implementer = -1, part = -1;
  if (f) {
    char line[512];
    while (fgets(line, sizeof line, f) && (implementer < 0 || part < 0)) {
      const char* p = strchr(line, ':');
      if (!p) continue;
      if (strncmp(line, "CPU implementer", 15) == 0) implementer = strtol(p + 1, nullptr, 0);
      else if (strncmp(line, "CPU part", 8) == 0) part = strtol(p + 1, nullptr, 0);
    }
    fclose(f);
  }
  if (implementer >= 0 && part >= 0) return arm_core_name((unsigned)implementer, (unsigned)part);
#elif defined(__linux__)
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
