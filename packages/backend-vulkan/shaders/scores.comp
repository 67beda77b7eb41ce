#version 450
// scores[b][k] = dot(qn[b], sn[k]) for normalised rows (Pearson correlation), clamped to [-1, 1].
// sn is stored transposed (dim x K) so consecutive invocations (consecutive k) read consecutive
// addresses. Each invocation owns one stored window and QB queries (a workgroup-uniform block,
// so the query reads are uniform: broadcast from cache on GPUs, scalar loads on lavapipe; no
// shared memory or barriers). Grid: x covers K (grid-stride), y covers query blocks.
// Compiled twice: scores.spv sums all of D; scores_drange.spv (-DD_RANGE) sums d in
// [d0, d0 + dc), adds that to the partial sums the previous dispatch stored, and clamps in the
// dispatch that reaches D. The host uses it to split a long D into several dispatches on
// devices that limit an invocation's loop iterations (llvmpipe); scores.spv keeps the
// push-constant layout @cwts/backend-metal passes. (The partial sums are read after the loop:
// spirv-cross numbers Metal's buffers by first use, and Metal binds them in binding order.)
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;
const uint QB = 8;

layout(std430, binding = 0) readonly buffer SnT { float snT[]; };
layout(std430, binding = 1) readonly buffer Qn { float qn[]; };
#ifdef D_RANGE
layout(std430, binding = 2) buffer Out { float outScores[]; };
layout(push_constant) uniform P { uint K; uint D; uint B; uint d0; uint dc; } pc;
#define D_BEGIN pc.d0
#define D_END (pc.d0 + pc.dc)
// Partial sums are stored unclamped until the dispatch that reaches D.
#define TOTAL(o, x) (pc.d0 == 0u ? (x) : outScores[o] + (x))
#define RESULT(o, x) (D_END == pc.D ? clamp(TOTAL(o, x), -1.0, 1.0) : TOTAL(o, x))
#else
layout(std430, binding = 2) writeonly buffer Out { float outScores[]; };
layout(push_constant) uniform P { uint K; uint D; uint B; } pc;
#define D_BEGIN 0u
#define D_END pc.D
#define RESULT(o, x) clamp((x), -1.0, 1.0)
#endif

void main() {
  uint b0 = gl_WorkGroupID.y * QB;
  uint nq = min(QB, pc.B - b0);
  uint strideK = gl_NumWorkGroups.x * WG;
  for (uint k = gl_GlobalInvocationID.x; k < pc.K; k += strideK) {
    float acc0 = 0.0, acc1 = 0.0, acc2 = 0.0, acc3 = 0.0, acc4 = 0.0, acc5 = 0.0, acc6 = 0.0, acc7 = 0.0;
    if (nq == QB) {
      for (uint d = D_BEGIN; d < D_END; ++d) {
        float s = snT[d * pc.K + k];
        uint q = b0 * pc.D + d;
        acc0 += s * qn[q];
        acc1 += s * qn[q + pc.D];
        acc2 += s * qn[q + 2u * pc.D];
        acc3 += s * qn[q + 3u * pc.D];
        acc4 += s * qn[q + 4u * pc.D];
        acc5 += s * qn[q + 5u * pc.D];
        acc6 += s * qn[q + 6u * pc.D];
        acc7 += s * qn[q + 7u * pc.D];
      }
    } else {
      // Tail block (fewer than QB queries): the same sums, guarded.
      for (uint d = D_BEGIN; d < D_END; ++d) {
        float s = snT[d * pc.K + k];
        uint q = b0 * pc.D + d;
        acc0 += s * qn[q];
        if (nq > 1u) acc1 += s * qn[q + pc.D];
        if (nq > 2u) acc2 += s * qn[q + 2u * pc.D];
        if (nq > 3u) acc3 += s * qn[q + 3u * pc.D];
        if (nq > 4u) acc4 += s * qn[q + 4u * pc.D];
        if (nq > 5u) acc5 += s * qn[q + 5u * pc.D];
        if (nq > 6u) acc6 += s * qn[q + 6u * pc.D];
      }
    }
    float acc[8] = float[8](acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7);
    for (uint q = 0u; q < nq; ++q) outScores[(b0 + q) * pc.K + k] = RESULT((b0 + q) * pc.K + k, acc[q]);
  }
}
