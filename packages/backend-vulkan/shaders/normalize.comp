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

void main() {
  uint row = gl_WorkGroupID.y * pc.gridX + gl_WorkGroupID.x;
  if (row >= pc.rows) return; // uniform per workgroup
  uint l = gl_LocalInvocationID.x;
  uint base = row * pc.dim;
  float x0 = src[base];
  vec2 acc = vec2(0.0);
  float bad = 0.0;
  for (uint d = l; d < pc.dim; d += WG) {
    float x = src[base + d];
    bool nf = nonFinite(x);
    acc += vec2(nf ? 0.0 : x - x0, x != x0 ? 1.0 : 0.0);
    bad += nf ? 1.0 : 0.0;
  }
  vec2 s = wgSum(acc);
  bad = wgSum(vec2(bad, 0.0)).x;
  float mean = s.x / float(pc.dim); // of the shifted row
  bool isFlat = s.y == 0.0 || bad > 0.0;
  vec2 cs = vec2(0.0); // (sum c, sum c^2)
  for (uint d = l; d < pc.dim; d += WG) {
    float c = (src[base + d] - x0) - mean;
    cs += vec2(c, c * c);
  }
  cs = wgSum(cs);
  float tot = cs.y - cs.x * cs.x / float(pc.dim);
  mean += cs.x / float(pc.dim);
  float inv = (isFlat || !(tot > 0.0)) ? 0.0 : inversesqrt(tot);
  for (uint d = l; d < pc.dim; d += WG) {
    float v = inv == 0.0 ? 0.0 : ((src[base + d] - x0) - mean) * inv;
    if (pc.transposed != 0u) dst[d * pc.rows + row] = v;
    else dst[base + d] = v;
  }
}
