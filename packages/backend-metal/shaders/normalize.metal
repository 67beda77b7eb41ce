// GENERATED from @cwts/backend-vulkan/shaders/normalize.spv (sha256 071f1af2941bd746152aac0d60e3df64d5c7808bb84097054ed442a15917afb8) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
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
constant uint _98 = SPIRV_CROSS_CONSTANT_ID_0;
constant uint _107 = (_98 / 2u);
constant uint _145 = (_98 / 2u);

struct _179
{
    uint _m0;
    uint _m1;
    uint _m2;
    uint _m3;
};

struct _207
{
    float _m0[1];
};

struct _472
{
    float _m0[1];
};

constant uint _491_tmp [[function_constant(0)]];
constant uint _491 = is_function_constant_defined(_491_tmp) ? _491_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_491, 1u, 1u);

kernel void main0(constant _179& _181 [[buffer(0)]], const device _207& _209 [[buffer(1)]], device _472& _474 [[buffer(2)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]])
{
    threadgroup float2 _101[_98];
    do
    {
        uint _189 = (gl_WorkGroupID.y * _181._m3) + gl_WorkGroupID.x;
        if (_189 >= _181._m0)
        {
            break;
        }
        uint _204 = _189 * _181._m1;
        float _213 = _209._m0[_204];
        float _726;
        float2 _729;
        _729 = float2(0.0);
        _726 = 0.0;
        float2 _259;
        float _757;
        for (uint _725 = gl_LocalInvocationID.x; _725 < _181._m1; _729 = _259, _726 = _757, _725 += _98)
        {
            uint _231 = _204 + _725;
            bool _503 = (as_type<uint>(_209._m0[_231]) & 2139095040u) == 2139095040u;
            if (_503)
            {
                _757 = _726;
            }
            else
            {
                _757 = fast::max(_726, abs(_209._m0[_231]));
            }
            _259 = spvFAdd(_729, float2(float(_209._m0[_231] != _213), float(_503)));
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        ((threadgroup float*)&_101[gl_LocalInvocationID.x])[0u] = _726;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint _727 = _145; _727 > 0u; _727 = _727 >> uint(1))
        {
            if (gl_LocalInvocationID.x < _727)
            {
                ((threadgroup float*)&_101[gl_LocalInvocationID.x])[0u] = fast::max(((threadgroup float*)&_101[gl_LocalInvocationID.x])[0u], ((threadgroup float*)&_101[gl_LocalInvocationID.x + _727])[0u]);
            }
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        float _539 = ((threadgroup float*)&_101[0])[0u];
        threadgroup_barrier(mem_flags::mem_threadgroup);
        _101[gl_LocalInvocationID.x] = _729;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint _730 = _107; _730 > 0u; _730 = _730 >> uint(1))
        {
            if (gl_LocalInvocationID.x < _730)
            {
                _101[gl_LocalInvocationID.x] += _101[gl_LocalInvocationID.x + _730];
            }
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        bool _271 = _101[0].x == 0.0;
        bool _278;
        if (!_271)
        {
            _278 = _101[0].y > 0.0;
        }
        else
        {
            _278 = _271;
        }
        int _733;
        if (_539 == 0.0)
        {
            _733 = 0;
        }
        else
        {
            _733 = 127 - int(max(((as_type<uint>(_539) >> uint(23)) & 255u), 1u));
        }
        int _286 = _733 / 2;
        float _599 = as_type<float>(uint(_286 + 127) << uint(23));
        int _293 = _733 - _286;
        float _606 = as_type<float>(uint(_293 + 127) << uint(23));
        float _614 = spvFMul(spvFMul(_213, _599), _606);
        float _735;
        _735 = 0.0;
        float _340;
        for (uint _734 = gl_LocalInvocationID.x; _734 < _181._m1; _735 = _340, _734 += _98)
        {
            uint _319 = _204 + _734;
            float _752;
            if ((as_type<uint>(_209._m0[_319]) & 2139095040u) == 2139095040u)
            {
                _752 = 0.0;
            }
            else
            {
                _752 = spvFSub(spvFMul(spvFMul(_209._m0[_319], _599), _606), _614);
            }
            _340 = spvFAdd(_735, _752);
        }
        float2 _345 = float2(_735, 0.0);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        _101[gl_LocalInvocationID.x] = _345;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint _736 = _107; _736 > 0u; _736 = _736 >> uint(1))
        {
            if (gl_LocalInvocationID.x < _736)
            {
                _101[gl_LocalInvocationID.x] += _101[gl_LocalInvocationID.x + _736];
            }
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        float2 _665 = _101[0];
        float _351 = float(_181._m1);
        float _352 = _665.x / _351;
        float2 _738;
        _738 = float2(0.0);
        for (uint _737 = gl_LocalInvocationID.x; _737 < _181._m1; )
        {
            float _380 = spvFSub(spvFSub(spvFMul(spvFMul(_209._m0[_204 + _737], _599), _606), _614), _352);
            _738 = spvFAdd(_738, float2(_380, spvFMul(_380, _380)));
            _737 += _98;
            continue;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        _101[gl_LocalInvocationID.x] = _738;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint _739 = _107; _739 > 0u; _739 = _739 >> uint(1))
        {
            if (gl_LocalInvocationID.x < _739)
            {
                _101[gl_LocalInvocationID.x] += _101[gl_LocalInvocationID.x + _739];
            }
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        float _405 = spvFSub(_101[0].y, spvFMul(_101[0].x, _101[0].x) / _351);
        float _413 = spvFAdd(_352, _101[0].x / _351);
        bool _422;
        if (!_278)
        {
            _422 = !(_405 > 0.0);
        }
        else
        {
            _422 = _278;
        }
        float _742;
        if (_422)
        {
            _742 = 0.0;
        }
        else
        {
            _742 = rsqrt(_405);
        }
        for (uint _743 = gl_LocalInvocationID.x; _743 < _181._m1; _743 += _98)
        {
            float _747;
            if (_742 == 0.0)
            {
                _747 = 0.0;
            }
            else
            {
                _747 = spvFMul(spvFSub(spvFSub(spvFMul(spvFMul(_209._m0[_204 + _743], _599), _606), _614), _413), _742);
            }
            if (_181._m2 != 0u)
            {
                _474._m0[(_743 * _181._m0) + _189] = _747;
            }
            else
            {
                _474._m0[_204 + _743] = _747;
            }
        }
        break;
    } while(false);
}

