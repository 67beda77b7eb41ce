// Thin vector wrappers, one set per instruction set. Included inside an anonymous namespace by
// exactly one translation unit, which defines one of CWTS_ISA_{SCALAR,AVX2,AVX512,NEON} and is
// compiled with the matching flags. VF: float lanes. VD: double lanes with an inclusive lane scan.
#pragma once

#if defined(CWTS_ISA_AVX512)
struct VF {
  typedef __m512 T;
  static constexpr int W = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T set1(float x) { return _mm512_set1_ps(x); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static void stream(float* p, T v) { _mm512_stream_ps(p, v); }
  static void fence() { _mm_sfence(); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T min(T a, T b) { return _mm512_min_ps(a, b); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  // Bit k set where lane k of a equals lane k of b (never for NaN).
  static unsigned eq_bits(T a, T b) { return (unsigned)_mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static float hsum(T v) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    return _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)));
  }
};
struct VD {
  typedef __m512d T;
  static constexpr int W = 8;
  static T set1(double x) { return _mm512_set1_pd(x); }
  static T loadf(const float* p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
  static T load(const double* p) { return _mm512_loadu_pd(p); }
  static unsigned ge_mask(T a, T b) { return (unsigned)_mm512_cmp_pd_mask(a, b, _CMP_GE_OQ); }
  // Every lane = the largest lane.
  static T hmax(T x) {
    x = _mm512_max_pd(x, _mm512_shuffle_f64x2(x, x, 0x4E));
    x = _mm512_max_pd(x, _mm512_shuffle_f64x2(x, x, 0xB1));
    return _mm512_max_pd(x, _mm512_permute_pd(x, 0x55));
  }
  static void store(double* p, T v) { _mm512_storeu_pd(p, v); }
  static void storef(float* p, T v) { _mm256_storeu_ps(p, _mm512_cvtpd_ps(v)); }
  static T add(T a, T b) { return _mm512_add_pd(a, b); }
  static T sub(T a, T b) { return _mm512_sub_pd(a, b); }
  static T mul(T a, T b) { return _mm512_mul_pd(a, b); }
  static T max(T a, T b) { return _mm512_max_pd(a, b); }
  static T min(T a, T b) { return _mm512_min_pd(a, b); }
  static T abs(T a) { return _mm512_abs_pd(a); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_pd(a, b, c); }
  template <int K> static T shl(T x) {
    return _mm512_castsi512_pd(_mm512_alignr_epi64(_mm512_castpd_si512(x), _mm512_setzero_si512(), 8 - K));
  }
  static T scan(T x) {
    x = add(x, shl<1>(x));
    x = add(x, shl<2>(x));
    return add(x, shl<4>(x));
  }
  static T last(T x) { return _mm512_permutexvar_pd(_mm512_set1_epi64(7), x); }
  static T ne01(T a, T b) { return _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(a, b, _CMP_NEQ_UQ), _mm512_set1_pd(1.0)); }
  static T selz(T cnt, T ifZero, T other) {
    return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(cnt, _mm512_setzero_pd(), _CMP_EQ_OQ), other, ifZero);
  }
  // Bit k set where lane k of a differs from lane k of b (or either is NaN).
  static unsigned ne_bits(T a, T b) { return (unsigned)_mm512_cmp_pd_mask(a, b, _CMP_NEQ_UQ); }
  // Lane k from ifSet where bit k of m is set, else from other.
  static T blend_bits(unsigned m, T ifSet, T other) { return _mm512_mask_blend_pd((__mmask8)m, other, ifSet); }
  static double first(T x) { return _mm512_cvtsd_f64(x); }
};
#elif defined(CWTS_ISA_AVX2)
struct VF {
  typedef __m256 T;
  static constexpr int W = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T set1(float x) { return _mm256_set1_ps(x); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static void stream(float* p, T v) { _mm256_stream_ps(p, v); }
  static void fence() { _mm_sfence(); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T min(T a, T b) { return _mm256_min_ps(a, b); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static unsigned eq_bits(T a, T b) { return (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_EQ_OQ)); }
  static float hsum(T v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    return _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)));
  }
};
struct VD {
  typedef __m256d T;
  static constexpr int W = 4;
  static T set1(double x) { return _mm256_set1_pd(x); }
  static T loadf(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
  static T load(const double* p) { return _mm256_loadu_pd(p); }
  static unsigned ge_mask(T a, T b) { return (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(a, b, _CMP_GE_OQ)); }
  // Every lane = the largest lane.
  static T hmax(T x) {
    x = _mm256_max_pd(x, _mm256_permute2f128_pd(x, x, 0x01));
    return _mm256_max_pd(x, _mm256_permute_pd(x, 0x5));
  }
  static void store(double* p, T v) { _mm256_storeu_pd(p, v); }
  static void storef(float* p, T v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v)); }
  static T add(T a, T b) { return _mm256_add_pd(a, b); }
  static T sub(T a, T b) { return _mm256_sub_pd(a, b); }
  static T mul(T a, T b) { return _mm256_mul_pd(a, b); }
  static T max(T a, T b) { return _mm256_max_pd(a, b); }
  static T min(T a, T b) { return _mm256_min_pd(a, b); }
  static T abs(T a) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_pd(a, b, c); }
  static T scan(T x) {
    // [x0, x1, x2, x3] -> inclusive prefix sums [x0, x0+x1, (x1+x2)+x0, (x2+x3)+(x0+x1)]. The
    // lane shifts with zero fill: a 128-bit half move (vperm2f128 zeroes the low half itself)
    // and one in-lane shuffle; full permutes (vpermpd) plus blends cost more on AMD Zen.
    T lo = _mm256_permute2f128_pd(x, x, 0x08);  // [0, 0, x0, x1]
    x = add(x, _mm256_shuffle_pd(lo, x, 0x5));  // + [0, x0, x1, x2]
    return add(x, _mm256_permute2f128_pd(x, x, 0x08));
  }
  static T last(T x) { return _mm256_permute4x64_pd(x, 0xFF); }
  static T ne01(T a, T b) { return _mm256_and_pd(_mm256_cmp_pd(a, b, _CMP_NEQ_UQ), _mm256_set1_pd(1.0)); }
  static T selz(T cnt, T ifZero, T other) {
    return _mm256_blendv_pd(other, ifZero, _mm256_cmp_pd(cnt, _mm256_setzero_pd(), _CMP_EQ_OQ));
  }
  static unsigned ne_bits(T a, T b) { return (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(a, b, _CMP_NEQ_UQ)); }
  // A table of the 16 lane masks: one load, where building the mask from m costs a transfer to
  // the vector unit and two more operations.
  static T blend_bits(unsigned m, T ifSet, T other) {
    alignas(32) static constexpr int64_t kMasks[16][4] = {
        {0, 0, 0, 0}, {-1, 0, 0, 0}, {0, -1, 0, 0}, {-1, -1, 0, 0}, {0, 0, -1, 0}, {-1, 0, -1, 0}, {0, -1, -1, 0}, {-1, -1, -1, 0},
        {0, 0, 0, -1}, {-1, 0, 0, -1}, {0, -1, 0, -1}, {-1, -1, 0, -1}, {0, 0, -1, -1}, {-1, 0, -1, -1}, {0, -1, -1, -1}, {-1, -1, -1, -1}};
    return _mm256_blendv_pd(other, ifSet, _mm256_load_pd(reinterpret_cast<const double*>(kMasks[m & 15u])));
  }
  static double first(T x) { return _mm256_cvtsd_f64(x); }
};
#elif defined(CWTS_ISA_NEON)
struct VF {
  typedef float32x4_t T;
  static constexpr int W = 4;
  static T zero() { return vdupq_n_f32(0.0f); }
  static T set1(float x) { return vdupq_n_f32(x); }
  static T load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, T v) { vst1q_f32(p, v); }
  static void stream(float* p, T v) { vst1q_f32(p, v); }
  static void fence() {}
  static T add(T a, T b) { return vaddq_f32(a, b); }
  static T sub(T a, T b) { return vsubq_f32(a, b); }
  static T mul(T a, T b) { return vmulq_f32(a, b); }
  static T fma(T a, T b, T c) { return vfmaq_f32(c, a, b); }
  static T min(T a, T b) { return vminq_f32(a, b); }
  static T max(T a, T b) { return vmaxq_f32(a, b); }
  static unsigned eq_bits(T a, T b) {
    const uint32x4_t bit = vcombine_u32(vcreate_u32(0x0000000200000001ull), vcreate_u32(0x0000000800000004ull));
    return vaddvq_u32(vandq_u32(vceqq_f32(a, b), bit));
  }
  static float hsum(T v) { return vaddvq_f32(v); }
};
struct VD {
  typedef float64x2_t T;
  static constexpr int W = 2;
  static T set1(double x) { return vdupq_n_f64(x); }
  static T loadf(const float* p) { return vcvt_f64_f32(vld1_f32(p)); }
  static T load(const double* p) { return vld1q_f64(p); }
  static unsigned ge_mask(T a, T b) {
    uint64x2_t c = vcgeq_f64(a, b);
    return (unsigned)((vgetq_lane_u64(c, 0) & 1) | ((vgetq_lane_u64(c, 1) & 1) << 1));
  }
  static T hmax(T x) { return vdupq_n_f64(vmaxvq_f64(x)); }
  static void store(double* p, T v) { vst1q_f64(p, v); }
  static void storef(float* p, T v) { vst1_f32(p, vcvt_f32_f64(v)); }
  static T add(T a, T b) { return vaddq_f64(a, b); }
  static T sub(T a, T b) { return vsubq_f64(a, b); }
  static T mul(T a, T b) { return vmulq_f64(a, b); }
  static T max(T a, T b) { return vmaxq_f64(a, b); }
  static T min(T a, T b) { return vminq_f64(a, b); }
  static T abs(T a) { return vabsq_f64(a); }
  static T fma(T a, T b, T c) { return vfmaq_f64(c, a, b); }
  static T scan(T x) { return add(x, vextq_f64(vdupq_n_f64(0.0), x, 1)); }
  static T last(T x) { return vdupq_laneq_f64(x, 1); }
  static T ne01(T a, T b) {
    T one = vdupq_n_f64(1.0);
    return vsubq_f64(one, vreinterpretq_f64_u64(vandq_u64(vceqq_f64(a, b), vreinterpretq_u64_f64(one))));
  }
  static T selz(T cnt, T ifZero, T other) { return vbslq_f64(vceqzq_f64(cnt), ifZero, other); }
  static unsigned ne_bits(T a, T b) {
    uint64x2_t c = vceqq_f64(a, b);
    return (unsigned)((~vgetq_lane_u64(c, 0) & 1) | ((~vgetq_lane_u64(c, 1) & 1) << 1));
  }
  static T blend_bits(unsigned m, T ifSet, T other) {
    const uint64x2_t bit = vcombine_u64(vcreate_u64(1), vcreate_u64(2));
    return vbslq_f64(vtstq_u64(vdupq_n_u64(m), bit), ifSet, other);
  }
  static double first(T x) { return vgetq_lane_f64(x, 0); }
};
#else  // CWTS_ISA_SCALAR: portable C++, no intrinsics; 4 independent lanes for ILP.
struct VF {
  struct T { float v[4]; };
  static constexpr int W = 4;
  static T zero() { return T{{0.f, 0.f, 0.f, 0.f}}; }
  static T set1(float x) { return T{{x, x, x, x}}; }
  static T load(const float* p) { return T{{p[0], p[1], p[2], p[3]}}; }
  static void store(float* p, T v) { for (int i = 0; i < 4; i++) p[i] = v.v[i]; }
  static void stream(float* p, T v) { store(p, v); }
  static void fence() {}
  static T add(T a, T b) { T r; for (int i = 0; i < 4; i++) r.v[i] = a.v[i] + b.v[i]; return r; }
  static T sub(T a, T b) { T r; for (int i = 0; i < 4; i++) r.v[i] = a.v[i] - b.v[i]; return r; }
  static T mul(T a, T b) { T r; for (int i = 0; i < 4; i++) r.v[i] = a.v[i] * b.v[i]; return r; }
  static T fma(T a, T b, T c) { T r; for (int i = 0; i < 4; i++) r.v[i] = a.v[i] * b.v[i] + c.v[i]; return r; }
  static T min(T a, T b) { T r; for (int i = 0; i < 4; i++) r.v[i] = b.v[i] < a.v[i] ? b.v[i] : a.v[i]; return r; }
  static T max(T a, T b) { T r; for (int i = 0; i < 4; i++) r.v[i] = b.v[i] > a.v[i] ? b.v[i] : a.v[i]; return r; }
  static unsigned eq_bits(T a, T b) { unsigned m = 0; for (int i = 0; i < 4; i++) m |= (unsigned)(a.v[i] == b.v[i]) << i; return m; }
  static float hsum(T v) { return (v.v[0] + v.v[1]) + (v.v[2] + v.v[3]); }
};
struct VD {
  typedef double T;
  static constexpr int W = 1;
  static T set1(double x) { return x; }
  static T loadf(const float* p) { return (double)p[0]; }
  static T load(const double* p) { return p[0]; }
  static unsigned ge_mask(T a, T b) { return a >= b ? 1u : 0u; }
  static T hmax(T x) { return x; }
  static void store(double* p, T v) { p[0] = v; }
  static void storef(float* p, T v) { p[0] = (float)v; }
  static T add(T a, T b) { return a + b; }
  static T sub(T a, T b) { return a - b; }
  static T mul(T a, T b) { return a * b; }
  static T max(T a, T b) { return b > a ? b : a; }
  static T min(T a, T b) { return b < a ? b : a; }
  static T abs(T a) { return a < 0.0 ? -a : a; }
  static T fma(T a, T b, T c) { return a * b + c; }
  static T scan(T x) { return x; }
  static T last(T x) { return x; }
  static double first(T x) { return x; }
  static T ne01(T a, T b) { return a != b ? 1.0 : 0.0; }
  static T selz(T cnt, T ifZero, T other) { return cnt == 0.0 ? ifZero : other; }
  static unsigned ne_bits(T a, T b) { return a != b ? 1u : 0u; }
  static T blend_bits(unsigned m, T ifSet, T other) { return (m & 1u) ? ifSet : other; }
};
#endif
