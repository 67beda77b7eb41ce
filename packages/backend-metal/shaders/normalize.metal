// GENERATED from @cwts/backend-vulkan/shaders/normalize.spv (sha256 5e78f61c02aeeaba5775da1420e70ac85f34ec11eac32b399e5445c1db4b9cbf) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
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

struct _299
{
    float _m0[1];
};

constant uint _318_tmp [[function_constant(0)]];
constant uint _318 = is_function_constant_defined(_318_tmp) ? _318_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_318, 1u, 1u);

kernel void main0(constant _84& _86 [[buffer(0)]], const device _112& _114 [[buffer(1)]], device _299& _301 [[buffer(2)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]])
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
        float _118 = _114._m0[_109];
        float2 _443;
        float _446;
        _446 = 0.0;
        _443 = float2(0.0);
        float2 _161;
        float _165;
        for (uint _442 = gl_LocalInvocationID.x; _442 < _86._m1; _446 = _165, _443 = _161, _442 += _38)
        {
            uint _137 = _109 + _442;
            bool _330 = (as_type<uint>(_114._m0[_137]) & 2139095040u) == 2139095040u;
            float _464;
            if (_330)
            {
                _464 = 0.0;
            }
            else
            {
                _464 = _114._m0[_137] - _118;
            }
            _161 = _443 + float2(_464, float(_114._m0[_137] != _118));
            _165 = _446 + float(_330);
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        _41[gl_LocalInvocationID.x] = _443;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint _444 = _47; _444 > 0u; _444 = _444 >> uint(1))
        {
            if (gl_LocalInvocationID.x < _444)
            {
                _41[gl_LocalInvocationID.x] += _41[gl_LocalInvocationID.x + _444];
            }
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        float2 _365 = _41[0];
        float2 _173 = float2(_446, 0.0);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        _41[gl_LocalInvocationID.x] = _173;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint _447 = _47; _447 > 0u; _447 = _447 >> uint(1))
        {
            if (gl_LocalInvocationID.x < _447)
            {
                _41[gl_LocalInvocationID.x] += _41[gl_LocalInvocationID.x + _447];
            }
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        float2 _400 = _41[0];
        float _182 = float(_86._m1);
        float _183 = _365.x / _182;
        bool _190 = (_365.y == 0.0) || (_400.x > 0.0);
        float2 _449;
        _449 = float2(0.0);
        for (uint _448 = gl_LocalInvocationID.x; _448 < _86._m1; )
        {
            float _212 = (_114._m0[_109 + _448] - _118) - _183;
            _449 += float2(_212, _212 * _212);
            _448 += _38;
            continue;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        _41[gl_LocalInvocationID.x] = _449;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint _450 = _47; _450 > 0u; _450 = _450 >> uint(1))
        {
            if (gl_LocalInvocationID.x < _450)
            {
                _41[gl_LocalInvocationID.x] += _41[gl_LocalInvocationID.x + _450];
            }
            threadgroup_barrier(mem_flags::mem_threadgroup);
        }
        float _237 = _41[0].y - ((_41[0].x * _41[0].x) / _182);
        float _245 = _183 + (_41[0].x / _182);
        bool _254;
        if (!_190)
        {
            _254 = !(_237 > 0.0);
        }
        else
        {
            _254 = _190;
        }
        float _453;
        if (_254)
        {
            _453 = 0.0;
        }
        else
        {
            _453 = rsqrt(_237);
        }
        for (uint _454 = gl_LocalInvocationID.x; _454 < _86._m1; _454 += _38)
        {
            float _458;
            if (_453 == 0.0)
            {
                _458 = 0.0;
            }
            else
            {
                _458 = ((_114._m0[_109 + _454] - _118) - _245) * _453;
            }
            if (_86._m2 != 0u)
            {
                _301._m0[(_454 * _86._m0) + _94] = _458;
            }
            else
            {
                _301._m0[_109 + _454] = _458;
            }
        }
        break;
    } while(false);
}

