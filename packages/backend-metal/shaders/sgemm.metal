// GENERATED from @cwts/backend-vulkan/shaders/sgemm.spv (sha256 c510184fb982fe2043f0d0466bdaf549bf0c25eb0b1d6ecabf0eafb98a8ece7a) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
#pragma clang diagnostic ignored "-Wmissing-prototypes"
#pragma clang diagnostic ignored "-Wmissing-braces"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

template<typename T, size_t Num>
struct spvUnsafeArray
{
    T elements[Num ? Num : 1];
    
    thread T& operator [] (size_t pos) thread
    {
        return elements[pos];
    }
    constexpr const thread T& operator [] (size_t pos) const thread
    {
        return elements[pos];
    }
    
    device T& operator [] (size_t pos) device
    {
        return elements[pos];
    }
    constexpr const device T& operator [] (size_t pos) const device
    {
        return elements[pos];
    }
    
    constexpr const constant T& operator [] (size_t pos) const constant
    {
        return elements[pos];
    }
    
    threadgroup T& operator [] (size_t pos) threadgroup
    {
        return elements[pos];
    }
    constexpr const threadgroup T& operator [] (size_t pos) const threadgroup
    {
        return elements[pos];
    }
};

#ifndef SPIRV_CROSS_CONSTANT_ID_0
#define SPIRV_CROSS_CONSTANT_ID_0 16u
#endif
constant uint _22 = SPIRV_CROSS_CONSTANT_ID_0;
#ifndef SPIRV_CROSS_CONSTANT_ID_1
#define SPIRV_CROSS_CONSTANT_ID_1 16u
#endif
constant uint _27 = SPIRV_CROSS_CONSTANT_ID_1;
constant uint _28 = (_22 * _27);
constant uint _34 = (_27 * 4u);
constant uint _39 = (_22 * 4u);

struct _81
{
    uint _m0;
    uint _m1;
    uint _m2;
    float _m3;
    float _m4;
};

constant uint _98 = (_34 * 16u);
constant uint _114 = (16u * _34);

struct _138
{
    float _m0[1];
};

constant uint _165 = (16u * _39);
constant uint _181 = (16u * _39);

struct _204
{
    float _m0[1];
};

struct _383
{
    float _m0[1];
};

constant uint _399_tmp [[function_constant(0)]];
constant uint _399 = is_function_constant_defined(_399_tmp) ? _399_tmp : 1u;
constant uint _400_tmp [[function_constant(1)]];
constant uint _400 = is_function_constant_defined(_400_tmp) ? _400_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_399, _400, 1u);

kernel void main0(constant _81& _83 [[buffer(0)]], const device _138& _140 [[buffer(1)]], const device _204& _206 [[buffer(2)]], device _383& _385 [[buffer(3)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]])
{
    threadgroup float _117[_114];
    threadgroup float _184[_181];
    uint _25 = (gl_LocalInvocationID.y * _22) + gl_LocalInvocationID.x;
    uint _35 = gl_WorkGroupID.y * _34;
    uint _40 = gl_WorkGroupID.x * _39;
    uint _402;
    _402 = 0u;
    spvUnsafeArray<spvUnsafeArray<float, 4>, 4> _62;
    for (; _402 < 4u; _402++)
    {
        for (uint _431 = 0u; _431 < 4u; )
        {
            _62[_402][_431] = 0.0;
            _431++;
            continue;
        }
    }
    spvUnsafeArray<float, 4> _240;
    spvUnsafeArray<float, 4> _262;
    for (uint _403 = 0u; _403 < _83._m2; _403 += 16u)
    {
        for (uint _411 = _25; _411 < _98; _411 += _28)
        {
            uint _102 = _411 / 16u;
            uint _105 = _411 % 16u;
            uint _109 = _35 + _102;
            uint _113 = _403 + _105;
            bool _126 = _109 < _83._m0;
            bool _133;
            if (_126)
            {
                _133 = _113 < _83._m2;
            }
            else
            {
                _133 = _126;
            }
            float _428;
            if (_133)
            {
                _428 = _140._m0[(_109 * _83._m2) + _113];
            }
            else
            {
                _428 = 0.0;
            }
            _117[(_105 * _34) + _102] = _428;
        }
        for (uint _412 = _25; _412 < _165; _412 += _28)
        {
            uint _169 = _412 / _39;
            uint _172 = _412 % _39;
            uint _176 = _403 + _169;
            uint _180 = _40 + _172;
            bool _192 = _176 < _83._m2;
            bool _199;
            if (_192)
            {
                _199 = _180 < _83._m1;
            }
            else
            {
                _199 = _192;
            }
            float _425;
            if (_199)
            {
                _425 = _206._m0[(_176 * _83._m1) + _180];
            }
            else
            {
                _425 = 0.0;
            }
            _184[(_169 * _39) + _172] = _425;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        uint _413;
        _413 = 0u;
        for (; _413 < 16u; _413++)
        {
            for (uint _417 = 0u; _417 < 4u; )
            {
                _240[_417] = _117[((_413 * _34) + gl_LocalInvocationID.y) + (_417 * _27)];
                _417++;
                continue;
            }
            for (uint _418 = 0u; _418 < 4u; )
            {
                _262[_418] = _184[((_413 * _39) + gl_LocalInvocationID.x) + (_418 * _22)];
                _418++;
                continue;
            }
            uint _419;
            _419 = 0u;
            for (; _419 < 4u; _419++)
            {
                for (uint _423 = 0u; _423 < 4u; )
                {
                    _62[_419][_423] = fma(_240[_419], _262[_423], _62[_419][_423]);
                    _423++;
                    continue;
                }
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    for (uint _404 = 0u; _404 < 4u; _404++)
    {
        uint _327 = (_35 + gl_LocalInvocationID.y) + (_404 * _27);
        if (_327 >= _83._m0)
        {
            continue;
        }
        for (uint _405 = 0u; _405 < 4u; _405++)
        {
            uint _349 = (_40 + gl_LocalInvocationID.x) + (_405 * _22);
            if (_349 >= _83._m1)
            {
                continue;
            }
            uint _363 = (_327 * _83._m1) + _349;
            float _407;
            if (_83._m4 != 0.0)
            {
                _407 = fma(_83._m3, _62[_404][_405], _83._m4 * _385._m0[_363]);
            }
            else
            {
                _407 = _83._m3 * _62[_404][_405];
            }
            _385._m0[_363] = _407;
        }
    }
}

