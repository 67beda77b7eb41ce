#pragma once
#include <string>
#include <vector>
#include "kernels.h"

namespace cwts {

struct IsaInfo {
  std::string name;        // "avx512" | "avx2" | "neon" | "scalar"
  const KernelTable* table;
};

// Kernel sets compiled into this binary that this CPU can run, best first (scalar always last).
std::vector<IsaInfo> supported_isas();
// Kernel sets compiled into this binary, whatever the CPU.
std::vector<std::string> compiled_isas();
std::string cpu_name();
std::string arch_name();

}  // namespace cwts
