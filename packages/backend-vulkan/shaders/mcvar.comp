#version 450
// Monte Carlo VaR, device part. For path p: s[p] = sum_t sum_j v[j] * z[p][t][j] where
// v = factor^T weights (computed on the host in double), so the path loss is
// -(horizon * (weights . means) + s[p]), finished on the host.
// z follows the contract exactly: Philox4x32-10, key (seedLo, seedHi), counter
// (p, t, j / 4, 0); pair h = (j % 4) >> 1 gives u1 = (x[2h] + 0.5) / 2^32,
// u2 = (x[2h+1] + 0.5) / 2^32, z = sqrt(-2 ln u1) * (j even ? cos : sin)(2 pi u2).
// One dispatch covers the steps [t0, t0 + steps): the host splits a long horizon into several
// dispatches on devices that limit an invocation's loop iterations (llvmpipe), each adding the
// sum over its steps to what the previous one stored.
#extension GL_EXT_control_flow_attributes : require
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer V { float v[]; };
layout(std430, binding = 1) buffer S { float sums[]; };
// (The sixth word was an always-0 path base; @cwts/backend-metal still passes 0 there: t0 = 0,
// steps = the whole horizon.)
layout(push_constant) uniform P { uint paths; uint steps; uint F; uint seedLo; uint seedHi; uint t0; } pc;

uvec4 philox4x32_10(uvec4 c, uvec2 k) {
  [[unroll]] for (int i = 0; i < 10; ++i) {
    uint hi0, lo0, hi1, lo1;
    umulExtended(0xD2511F53u, c.x, hi0, lo0);
    umulExtended(0xCD9E8D57u, c.z, hi1, lo1);
    c = uvec4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k += uvec2(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

// (x + 0.5) / 2^32 in float. float(x) rounds x to 24 significant bits; for x near 2^32 this
// reaches 1.0, where ln gives 0 and z = 0 (the exact value is below 2e-5 there).
float unit(uint x) { return (float(x) + 0.5) * 2.3283064365386963e-10; }

const float TWO_PI = 6.283185307179586;

void main() {
  uint stride = gl_NumWorkGroups.x * WG;
  for (uint p = gl_GlobalInvocationID.x; p < pc.paths; p += stride) {
    float s = 0.0;
    for (uint t = pc.t0; t < pc.t0 + pc.steps; ++t) {
      for (uint jb = 0; jb * 4u < pc.F; ++jb) {
        uvec4 x = philox4x32_10(uvec4(p, t, jb, 0u), uvec2(pc.seedLo, pc.seedHi));
        // Unrolled (no loop iterations counted against the device's budget).
        [[unroll]] for (uint h = 0; h < 2u; ++h) {
          uint j = jb * 4u + h * 2u;
          if (j < pc.F) {
            float u1 = unit(h == 0u ? x.x : x.z);
            float u2 = unit(h == 0u ? x.y : x.w);
            float r = sqrt(max(-2.0 * log(u1), 0.0));
            // cos(2 pi u) = -cos(2 pi (u - 0.5)): keeps the argument in [-pi, pi].
            float a = TWO_PI * (u2 - 0.5);
            s += v[j] * (-r * cos(a));
            if (j + 1u < pc.F) s += v[j + 1u] * (-r * sin(a));
          }
        }
      }
    }
    // Read after the loops: spirv-cross numbers Metal's buffers by first use, and
    // @cwts/backend-metal binds them in binding order (v, then sums).
    sums[p] = pc.t0 == 0u ? s : sums[p] + s;
  }
}
