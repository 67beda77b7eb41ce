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
// Magnitude, as normalize.comp: the row is scaled by the power of two that brings its largest
// finite |x| into [1, 2) (exact; the result is scale-free), so a row of values near 1e20 or
// 1e-25 does not overflow or underflow its float32 sum of squares and score 0.
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Src { float src[]; };
layout(std430, binding = 1) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform P { uint rows; uint dim; uint transposed; uint gridX; } pc;

bool nonFinite(float x) { return (floatBitsToUint(x) & 0x7f800000u) == 0x7f800000u; }

// 2^e exactly, for e in [-126, 127].
float pow2(int e) { return uintBitsToFloat(uint(e + 127) << 23); }

// k such that m * 2^k is in [1, 2) for a normal m >= 0 (0 for m = 0); k is in [-127, 126].
int scaleExponent(float m) {
  uint e = (floatBitsToUint(m) >> 23) & 0xffu;
  return m == 0.0 ? 0 : 127 - int(max(e, 1u));
}

// x * 2^k in two exact steps; `precise`: the two factors must not be folded into one.
float scaled(float x, float a, float b) {
  precise float y = (x * a) * b;
  return y;
}

void main() {
  uint stride = gl_NumWorkGroups.x * WG;
  for (uint row = gl_GlobalInvocationID.x; row < pc.rows; row += stride) {
    uint base = row * pc.dim;
    float big = 0.0;
    bool varies = false, bad = false;
    float raw0 = src[base];
    for (uint d = 0u; d < pc.dim; ++d) {
      float x = src[base + d];
      bool nf = nonFinite(x);
      bad = bad || nf;
      varies = varies || x != raw0;
      big = nf ? big : max(big, abs(x));
    }
    int k = scaleExponent(big);
    float ka = pow2(k / 2), kb = pow2(k - k / 2);
    float x0 = scaled(raw0, ka, kb);
    // `precise` from here on: the shift is exact only as written (a compiler free to reassociate
    // or fuse sums of y - x0 put the raw-price scores off by up to 2e-3 on lavapipe).
    precise float mean = 0.0, ss = 0.0;
    if (varies && !bad) {
      precise float s = 0.0;
      for (uint d = 0u; d < pc.dim; ++d) s += scaled(src[base + d], ka, kb) - x0;
      mean = s / float(pc.dim); // of the shifted row
      precise float sc = 0.0;
      for (uint d = 0u; d < pc.dim; ++d) {
        precise float c = (scaled(src[base + d], ka, kb) - x0) - mean;
        sc += c;
        ss += c * c;
      }
      ss -= sc * sc / float(pc.dim);
      mean += sc / float(pc.dim);
    }
    float inv = (!varies || bad || ss <= 0.0) ? 0.0 : inversesqrt(ss);
    for (uint d = 0u; d < pc.dim; ++d) {
      precise float v = inv == 0.0 ? 0.0 : ((scaled(src[base + d], ka, kb) - x0) - mean) * inv;
      if (pc.transposed != 0u) dst[d * pc.rows + row] = v;
      else dst[base + d] = v;
    }
  }
}
