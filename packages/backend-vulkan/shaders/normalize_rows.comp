#version 450
// Row normalisation, one invocation per row (the variant for short rows: no barriers, no shared
// memory; with the transposed output consecutive invocations write consecutive addresses).
// Same rules as normalize.comp: out = (x - mean) / ||x - mean||, or zeros for a row whose values
// are all equal or that holds NaN/Inf.
// Accuracy far from zero (raw prices near 30000 moving by 0.01): the sums are taken of
// y = x - x0, the row shifted by its first value (exact in float32 when x and x0 are within a
// factor of two, Sterbenz), so the price level never enters a float sum; the second pass is the
// corrected two-pass (sum c^2 - (sum c)^2 / D, with the mean moved by sum c / D), which removes
// what is left of the mean's rounding. A plain sum / D around 30000 rounds by as much as the
// windows' own spread and put scores off by up to ~1. Costs one subtract and one add per value.
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Src { float src[]; };
layout(std430, binding = 1) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform P { uint rows; uint dim; uint transposed; uint gridX; } pc;

bool nonFinite(float x) { return (floatBitsToUint(x) & 0x7f800000u) == 0x7f800000u; }

void main() {
  uint stride = gl_NumWorkGroups.x * WG;
  for (uint row = gl_GlobalInvocationID.x; row < pc.rows; row += stride) {
    uint base = row * pc.dim;
    float x0 = src[base];
    float s = 0.0;
    bool varies = false, bad = false;
    for (uint d = 0u; d < pc.dim; ++d) {
      float x = src[base + d];
      bad = bad || nonFinite(x);
      varies = varies || x != x0;
      s += x - x0;
    }
    float mean = s / float(pc.dim); // of the shifted row
    float ss = 0.0;
    if (varies && !bad) {
      float sc = 0.0;
      for (uint d = 0u; d < pc.dim; ++d) {
        float c = (src[base + d] - x0) - mean;
        sc += c;
        ss += c * c;
      }
      ss -= sc * sc / float(pc.dim);
      mean += sc / float(pc.dim);
    }
    float inv = (!varies || bad || ss <= 0.0) ? 0.0 : inversesqrt(ss);
    for (uint d = 0u; d < pc.dim; ++d) {
      float v = inv == 0.0 ? 0.0 : ((src[base + d] - x0) - mean) * inv;
      if (pc.transposed != 0u) dst[d * pc.rows + row] = v;
      else dst[base + d] = v;
    }
  }
}
