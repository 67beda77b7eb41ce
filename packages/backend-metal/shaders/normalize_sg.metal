// GENERATED from @cwts/backend-vulkan/shaders/normalize_sg.spv (sha256 b2a114845257a49599889cf4badbcad1824f0ddd7f1bc51a807b049eb3925517) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
#pragma clang diagnostic ignored "-Wmissing-prototypes"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

template<typename T>
[[clang::optnone]] T spvFMul(T l, T r)
{
    return fma(l, r, T(0));
}

template<typename T, int Cols, int Rows>
[[clang::optnone]] vec<T, Cols> spvFMulVectorMatrix(vec<T, Rows> v, matrix<T, Cols, Rows> m)
{
    vec<T, Cols> res = vec<T, Cols>(0);
    for (uint i = Rows; i > 0; --i)
    {
        vec<T, Cols> tmp(0);
        for (uint j = 0; j < Cols; ++j)
        {
            tmp[j] = m[j][i - 1];
        }
        res = fma(tmp, vec<T, Cols>(v[i - 1]), res);
    }
    return res;
}

template<typename T, int Cols, int Rows>
[[clang::optnone]] vec<T, Rows> spvFMulMatrixVector(matrix<T, Cols, Rows> m, vec<T, Cols> v)
{
    vec<T, Rows> res = vec<T, Rows>(0);
    for (uint i = Cols; i > 0; --i)
    {
        res = fma(m[i - 1], vec<T, Rows>(v[i - 1]), res);
    }
    return res;
}

template<typename T, int LCols, int LRows, int RCols, int RRows>
[[clang::optnone]] matrix<T, RCols, LRows> spvFMulMatrixMatrix(matrix<T, LCols, LRows> l, matrix<T, RCols, RRows> r)
{
    matrix<T, RCols, LRows> res;
    for (uint i = 0; i < RCols; i++)
    {
        vec<T, RCols> tmp(0);
        for (uint j = 0; j < LCols; j++)
        {
            tmp = fma(vec<T, RCols>(r[i][j]), l[j], tmp);
        }
        res[i] = tmp;
    }
    return res;
}

template<typename T>
[[clang::optnone]] T spvFAdd(T l, T r)
{
    return fma(T(1), l, r);
}

template<typename T>
[[clang::optnone]] T spvFSub(T l, T r)
{
    return fma(T(-1), r, l);
}

#ifndef SPIRV_CROSS_CONSTANT_ID_0
#define SPIRV_CROSS_CONSTANT_ID_0 64u
#endif
constant uint _96 = SPIRV_CROSS_CONSTANT_ID_0;

struct _165
{
    uint _m0;
    uint _m1;
    uint _m2;
    uint _m3;
};

struct _194
{
    float _m0[1];
};

struct _458
{
    float _m0[1];
};

constant uint _477_tmp [[function_constant(0)]];
constant uint _477 = is_function_constant_defined(_477_tmp) ? _477_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_477, 1u, 1u);

kernel void main0(constant _165& _167 [[buffer(0)]], const device _194& _196 [[buffer(1)]], device _458& _460 [[buffer(2)]], uint gl_SubgroupID [[simdgroup_index_in_threadgroup]], uint gl_NumSubgroups [[simdgroups_per_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float2 _99[_96];
    do
    {
        uint _175 = (gl_WorkGroupID.y * _167._m3) + gl_WorkGroupID.x;
        if (_175 >= _167._m0)
        {
            break;
        }
        uint _191 = _175 * _167._m1;
        float _200 = _196._m0[_191];
        float _683;
        float2 _688;
        _688 = float2(0.0);
        _683 = 0.0;
        float2 _245;
        float _717;
        for (uint _682 = gl_LocalInvocationID.x; _682 < _167._m1; _688 = _245, _683 = _717, _682 += _96)
        {
            uint _217 = _191 + _682;
            bool _489 = (as_type<uint>(_196._m0[_217]) & 2139095040u) == 2139095040u;
            if (_489)
            {
                _717 = _683;
            }
            else
            {
                _717 = fast::max(_683, abs(_196._m0[_217]));
            }
            _245 = spvFAdd(_688, float2(float(_196._m0[_217] != _200), float(_489)));
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float _495 = simd_max(_683);
        bool _496 = simd_is_first();
        if (_496)
        {
            ((threadgroup float*)&_99[gl_SubgroupID])[0u] = _495;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float _685;
        _685 = 0.0;
        for (uint _684 = 0u; _684 < gl_NumSubgroups; )
        {
            _685 = fast::max(_685, ((threadgroup float*)&_99[_684])[0u]);
            _684++;
            continue;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _523 = simd_sum(_688);
        bool _524 = simd_is_first();
        if (_524)
        {
            _99[gl_SubgroupID] = _523;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _690;
        _690 = float2(0.0);
        for (uint _689 = 0u; _689 < gl_NumSubgroups; )
        {
            _690 += _99[_689];
            _689++;
            continue;
        }
        bool _257 = _690.x == 0.0;
        bool _264;
        if (!_257)
        {
            _264 = _690.y > 0.0;
        }
        else
        {
            _264 = _257;
        }
        int _694;
        if (_685 == 0.0)
        {
            _694 = 0;
        }
        else
        {
            _694 = 127 - int(max(((as_type<uint>(_685) >> uint(23)) & 255u), 1u));
        }
        int _272 = _694 / 2;
        float _570 = as_type<float>(uint(_272 + 127) << uint(23));
        int _279 = _694 - _272;
        float _577 = as_type<float>(uint(_279 + 127) << uint(23));
        float _585 = spvFMul(spvFMul(_200, _570), _577);
        float _696;
        _696 = 0.0;
        float _326;
        for (uint _695 = gl_LocalInvocationID.x; _695 < _167._m1; _696 = _326, _695 += _96)
        {
            uint _305 = _191 + _695;
            float _714;
            if ((as_type<uint>(_196._m0[_305]) & 2139095040u) == 2139095040u)
            {
                _714 = 0.0;
            }
            else
            {
                _714 = spvFSub(spvFMul(spvFMul(_196._m0[_305], _570), _577), _585);
            }
            _326 = spvFAdd(_696, _714);
        }
        float2 _331 = float2(_696, 0.0);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _607 = simd_sum(_331);
        bool _608 = simd_is_first();
        if (_608)
        {
            _99[gl_SubgroupID] = _607;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _698;
        _698 = float2(0.0);
        for (uint _697 = 0u; _697 < gl_NumSubgroups; )
        {
            _698 += _99[_697];
            _697++;
            continue;
        }
        float _334 = _698.x;
        float _337 = float(_167._m1);
        float _338 = _334 / _337;
        float2 _700;
        _700 = float2(0.0);
        for (uint _699 = gl_LocalInvocationID.x; _699 < _167._m1; )
        {
            float _366 = spvFSub(spvFSub(spvFMul(spvFMul(_196._m0[_191 + _699], _570), _577), _585), _338);
            _700 = spvFAdd(_700, float2(_366, spvFMul(_366, _366)));
            _699 += _96;
            continue;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _644 = simd_sum(_700);
        bool _645 = simd_is_first();
        if (_645)
        {
            _99[gl_SubgroupID] = _644;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _702;
        _702 = float2(0.0);
        for (uint _701 = 0u; _701 < gl_NumSubgroups; )
        {
            _702 += _99[_701];
            _701++;
            continue;
        }
        float _391 = spvFSub(_702.y, spvFMul(_702.x, _702.x) / _337);
        float _399 = spvFAdd(_338, _702.x / _337);
        bool _408;
        if (!_264)
        {
            _408 = !(_391 > 0.0);
        }
        else
        {
            _408 = _264;
        }
        float _706;
        if (_408)
        {
            _706 = 0.0;
        }
        else
        {
            _706 = rsqrt(_391);
        }
        for (uint _707 = gl_LocalInvocationID.x; _707 < _167._m1; _707 += _96)
        {
            float _711;
            if (_706 == 0.0)
            {
                _711 = 0.0;
            }
            else
            {
                _711 = spvFMul(spvFSub(spvFSub(spvFMul(spvFMul(_196._m0[_191 + _707], _570), _577), _585), _399), _706);
            }
            if (_167._m2 != 0u)
            {
                _460._m0[(_707 * _167._m0) + _175] = _711;
            }
            else
            {
                _460._m0[_191 + _707] = _711;
            }
        }
        break;
    } while(false);
}

