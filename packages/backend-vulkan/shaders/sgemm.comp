#version 450
// C = alpha * A x B + beta * C, row-major, A m x k, B k x n. Register-blocked tiles: a workgroup
// of TX x TY invocations computes a (TY*RM) x (TX*RN) tile of C, each invocation RM x RN
// elements (interleaved so stores and shared reads are conflict-free), stepping k by BK through
// shared memory. TX/TY are specialisation constants chosen from maxComputeWorkGroupInvocations.
// beta == 0 does not read C (BLAS semantics: NaN in C is ignored).
// One dispatch covers k in [k0, k0 + kc) (K is A's row length): the host splits long k ranges
// into several dispatches on devices that limit an invocation's loop iterations (llvmpipe), the
// later ones with beta = 1 accumulating into C. kc == 0 (the host's alpha == 0 call) reads
// neither A nor B: C = beta * C, or zeros when beta == 0 (BLAS: 0 * NaN in A or B is ignored).
layout(constant_id = 0) const uint TX = 16;
layout(constant_id = 1) const uint TY = 16;
layout(local_size_x_id = 0, local_size_y_id = 1) in;
const uint RM = 4;
const uint RN = 4;
const uint BK = 16;
const uint BM = TY * RM;
const uint BN = TX * RN;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) buffer C { float c[]; };
layout(push_constant) uniform P { uint M; uint N; uint K; float alpha; float beta; uint k0; uint kc; } pc;

shared float As[BK * BM];
shared float Bs[BK * BN];

void main() {
  uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
  uint tid = ty * TX + tx;
  uint nthreads = TX * TY;
  uint row0 = gl_WorkGroupID.y * BM;
  uint col0 = gl_WorkGroupID.x * BN;
  float acc[RM][RN];
  for (uint i = 0; i < RM; ++i) for (uint j = 0; j < RN; ++j) acc[i][j] = 0.0;

  uint kEnd = pc.k0 + pc.kc;
  for (uint k0 = pc.k0; k0 < kEnd; k0 += BK) {
    for (uint i = tid; i < BM * BK; i += nthreads) {
      uint mm = i / BK, kk = i % BK;
      uint r = row0 + mm, kc = k0 + kk;
      As[kk * BM + mm] = (r < pc.M && kc < kEnd) ? a[r * pc.K + kc] : 0.0;
    }
    for (uint i = tid; i < BK * BN; i += nthreads) {
      uint kk = i / BN, nn = i % BN;
      uint kr = k0 + kk, cc = col0 + nn;
      Bs[kk * BN + nn] = (kr < kEnd && cc < pc.N) ? b[kr * pc.N + cc] : 0.0;
    }
    barrier();
    for (uint kk = 0; kk < BK; ++kk) {
      float av[RM];
      float bv[RN];
      for (uint i = 0; i < RM; ++i) av[i] = As[kk * BM + ty + i * TY];
      for (uint j = 0; j < RN; ++j) bv[j] = Bs[kk * BN + tx + j * TX];
      for (uint i = 0; i < RM; ++i) for (uint j = 0; j < RN; ++j) acc[i][j] += av[i] * bv[j];
    }
    barrier();
  }
  for (uint i = 0; i < RM; ++i) {
    uint r = row0 + ty + i * TY;
    if (r >= pc.M) continue;
    for (uint j = 0; j < RN; ++j) {
      uint cc = col0 + tx + j * TX;
      if (cc >= pc.N) continue;
      uint idx = r * pc.N + cc;
      float v;
      if (pc.kc == 0u) {
        v = pc.beta != 0.0 ? pc.beta * c[idx] : 0.0;
      } else {
        v = pc.alpha * acc[i][j];
        if (pc.beta != 0.0) v += pc.beta * c[idx];
      }
      c[idx] = v;
    }
  }
}
