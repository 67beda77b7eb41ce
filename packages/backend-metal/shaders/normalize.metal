// GENERATED from @cwts/backend-vulkan/shaders/normalize.spv (sha256 3787be8dfa3bf68af223516c0f5f4adab2361d472c31438d552cc6e10c49532e) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

#ifndef SPIRV_CROSS_CONSTANT_ID_0
#define SPIRV_CROSS_CONSTANT_ID_0 64u
#endif
constant uint _38 = SPIRV_CROSS_CONSTANT_ID_0;
constant uint _47 = (_38 / 2u);

struct _84
{
    uint _m0;
    uint _m1;
    uint _m2;
    uint _m3;
};

struct _112
{
    float _m0[1];
};

struct _265
{
    float _m0[1];
};

constant uint _284_tmp [[function_constant(0)]];
constant uint _284 = is_function_constant_defined(_284_tmp) ? _284_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_284, 1u, 1u);

kernel void main0(constant _84& _86 [[buffer(0)]], const device _112& _114 [[buffer(1)]], device _265& _267 [[buffer(2)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]])
{
    threadgroup float2 _41[_38];
    do
    {
        uint _94 = (gl_WorkGroupID.y * _86._m3) + gl_WorkGroupID.x;
        if (_94 >= _86._m0)
        {
            break;
        }
        uint _109 = _94 * _86._m1;
        float2 _405;
        float _408;
        _408 = 0.0;
        _405 = float2(0.0);
        for (uint _404 = gl_LocalInvocationID.x; _404 < _86._m1; )
        {
            uint _137 = _109 + _404;
            bool _296 = (as_type<uint>(_114._m0[_137]) & 2139095040u) == 2139095040u;
            _408 += float(_296);
            _405 += float2(_296 ? 0.0 : _114._m0[_137], float(_114._m0[_137] != _114._m0[_109]));
            _404 += _38;
            continue;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        _41[gl_LocalInvocationID.x] = _405;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint _406 = _47; _406 > 0u; _406 = _406 >> uint(1))
        {
            if (gl_LocalInvocationID.x < _406)
            {
                _41[gl_LocalInvocationID.x] += _41[gl_LocalInvocationID.x + _406];
            }
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        float2 _331 = _41[0];
        float2 _167 = float2(_408, 0.0);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        _41[gl_LocalInvocationID.x] = _167;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint _409 = _47; _409 > 0u; _409 = _409 >> uint(1))
        {
            if (gl_LocalInvocationID.x < _409)
            {
                _41[gl_LocalInvocationID.x] += _41[gl_LocalInvocationID.x + _409];
            }
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        float2 _366 = _41[0];
        float _177 = _331.x / float(_86._m1);
        float _411;
        _411 = 0.0;
        for (uint _410 = gl_LocalInvocationID.x; _410 < _86._m1; )
        {
            float _204 = _114._m0[_109 + _410] - _177;
            _411 = fma(_204, _204, _411);
            _410 += _38;
            continue;
        }
        float2 _214 = float2(_411, 0.0);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        _41[gl_LocalInvocationID.x] = _214;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint _412 = _47; _412 > 0u; _412 = _412 >> uint(1))
        {
            if (gl_LocalInvocationID.x < _412)
            {
                _41[gl_LocalInvocationID.x] += _41[gl_LocalInvocationID.x + _412];
            }
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        float _413;
        if (((_331.y == 0.0) || (_366.x > 0.0)) || (_41[0].x <= 0.0))
        {
            _413 = 0.0;
        }
        else
        {
            _413 = rsqrt(_41[0].x);
        }
        for (uint _414 = gl_LocalInvocationID.x; _414 < _86._m1; _414 += _38)
        {
            float _415;
            if (_413 == 0.0)
            {
                _415 = 0.0;
            }
            else
            {
                _415 = (_114._m0[_109 + _414] - _177) * _413;
            }
            if (_86._m2 != 0u)
            {
                _267._m0[(_414 * _86._m0) + _94] = _415;
            }
            else
            {
                _267._m0[_109 + _414] = _415;
            }
        }
        break;
    } while(false);
}

