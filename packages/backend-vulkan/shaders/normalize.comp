#version 450
// Row normalisation for Pearson correlation: out = (x - mean) / ||x - mean|| per row, or all
// zeros when the row has zero variance (every element equal to the first: an exact test, not an
// epsilon, so a constant window scores exactly 0 as the contract demands) or holds NaN/Inf
// (treated as zero variance, as the reference does). Non-finite is tested on the exponent bits,
// which no fast-math setting can fold away.
// One workgroup per row. Reductions use subgroupAdd when the device supports subgroup arithmetic
// in compute (normalize_sg.spv, compiled with -DUSE_SUBGROUP=1), else a shared-memory tree.
// Accuracy far from zero (raw prices near 30000 moving by 0.01): the sums are taken of
// y = x - x0, the row shifted by its first value (exact in float32 when x and x0 are within a
// factor of two, Sterbenz), so the price level never enters a float sum; the second pass is the
// corrected two-pass (sum c^2 - (sum c)^2 / D, with the mean moved by sum c / D; both sums in
// the one reduction that was there), which removes what is left of the mean's rounding. A plain
// sum / D around 30000 rounds by as much as the windows' own spread and put scores off by ~1.
// Magnitude (token amounts in base units, 1e19..1e36; tiny values near 1e-25): a float32 sum of
// squares overflows to Infinity past ~1e19 and underflows to 0 below ~1e-19, and such a window
// scored 0 where the float64 oracle gives its correlation. The row is first scaled by a power of
// two that brings its largest finite |x| into [1, 2): exact (no rounding added, the result is
// scale-free), so every sum stays in range. (A row whose largest value is subnormal is scaled
// up too, but a device that flushes subnormals reads zeros there: such a row scores 0.)
// transposed != 0 writes column-major (dim x rows) so the scores kernel reads it coalesced.
#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
layout(constant_id = 0) const uint WG = 64; // power of two, from device limits
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Src { float src[]; };
layout(std430, binding = 1) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform P { uint rows; uint dim; uint transposed; uint gridX; } pc;

shared vec2 red[WG];

bool nonFinite(float x) { return (floatBitsToUint(x) & 0x7f800000u) == 0x7f800000u; }

// 2^e exactly, for e in [-126, 127].
float pow2(int e) { return uintBitsToFloat(uint(e + 127) << 23); }

// k such that m * 2^k is in [1, 2) for a normal m >= 0 (0 for m = 0; a subnormal m is scaled up
// by 2^126). k is in [-127, 126].
int scaleExponent(float m) {
  uint e = (floatBitsToUint(m) >> 23) & 0xffu;
  return m == 0.0 ? 0 : 127 - int(max(e, 1u));
}

// x * 2^k in two exact steps (2^k alone may be out of float32's normal range). `precise`: the
// two factors must not be folded into one.
float scaled(float x, float a, float b) {
  precise float y = (x * a) * b;
  return y;
}

vec2 wgSum(vec2 v) {
  barrier();
#ifdef USE_SUBGROUP
  v = subgroupAdd(v);
  if (subgroupElect()) red[gl_SubgroupID] = v;
  barrier();
  vec2 t = vec2(0.0);
  for (uint i = 0; i < gl_NumSubgroups; ++i) t += red[i];
  return t;
#else
  uint l = gl_LocalInvocationID.x;
  red[l] = v;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (l < s) red[l] += red[l + s];
    barrier();
  }
  return red[0];
#endif
}

float wgMax(float v) {
  barrier();
#ifdef USE_SUBGROUP
  v = subgroupMax(v);
  if (subgroupElect()) red[gl_SubgroupID].x = v;
  barrier();
  float t = 0.0;
  for (uint i = 0; i < gl_NumSubgroups; ++i) t = max(t, red[i].x);
  return t;
#else
  uint l = gl_LocalInvocationID.x;
  red[l].x = v;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (l < s) red[l].x = max(red[l].x, red[l + s].x);
    barrier();
  }
  return red[0].x;
#endif
}

void main() {
  uint row = gl_WorkGroupID.y * pc.gridX + gl_WorkGroupID.x;
  if (row >= pc.rows) return; // uniform per workgroup
  uint l = gl_LocalInvocationID.x;
  uint base = row * pc.dim;
  float raw0 = src[base];
  // Pass 1: the largest finite |x|, whether any value differs from the first, non-finite count.
  float big = 0.0;
  vec2 counts = vec2(0.0); // (values unlike the first, non-finite values)
  for (uint d = l; d < pc.dim; d += WG) {
    float x = src[base + d];
    bool nf = nonFinite(x);
    big = nf ? big : max(big, abs(x));
    counts += vec2(x != raw0 ? 1.0 : 0.0, nf ? 1.0 : 0.0);
  }
  big = wgMax(big);
  counts = wgSum(counts);
  bool isFlat = counts.x == 0.0 || counts.y > 0.0;
  int k = scaleExponent(big);
  float ka = pow2(k / 2), kb = pow2(k - k / 2);
  float x0 = scaled(raw0, ka, kb);
  // Pass 2: the mean of the scaled row shifted by its first value. `precise` from here on: the
  // shift is exact only as written (a compiler free to reassociate or fuse sums of y - x0 put
  // the raw-price scores off by up to 2e-3 on lavapipe).
  precise float acc = 0.0;
  for (uint d = l; d < pc.dim; d += WG) {
    float x = src[base + d];
    acc += nonFinite(x) ? 0.0 : scaled(x, ka, kb) - x0;
  }
  precise float mean = wgSum(vec2(acc, 0.0)).x / float(pc.dim); // of the shifted row
  // Pass 3: the corrected two-pass sum of squares.
  precise vec2 cs = vec2(0.0); // (sum c, sum c^2)
  for (uint d = l; d < pc.dim; d += WG) {
    precise float c = (scaled(src[base + d], ka, kb) - x0) - mean;
    cs += vec2(c, c * c);
  }
  cs = wgSum(cs);
  precise float tot = cs.y - cs.x * cs.x / float(pc.dim);
  mean += cs.x / float(pc.dim);
  float inv = (isFlat || !(tot > 0.0)) ? 0.0 : inversesqrt(tot);
  for (uint d = l; d < pc.dim; d += WG) {
    precise float v = inv == 0.0 ? 0.0 : ((scaled(src[base + d], ka, kb) - x0) - mean) * inv;
    if (pc.transposed != 0u) dst[d * pc.rows + row] = v;
    else dst[base + d] = v;
  }
}
