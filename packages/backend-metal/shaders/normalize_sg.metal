// GENERATED from @cwts/backend-vulkan/shaders/normalize_sg.spv (sha256 b8449dca8ca678c3ab0619ab506dd8a2a04b222ddc96a0d533220a6b59e179f2) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

#ifndef SPIRV_CROSS_CONSTANT_ID_0
#define SPIRV_CROSS_CONSTANT_ID_0 64u
#endif
constant uint _35 = SPIRV_CROSS_CONSTANT_ID_0;

struct _79
{
    uint _m0;
    uint _m1;
    uint _m2;
    uint _m3;
};

struct _109
{
    float _m0[1];
};

struct _260
{
    float _m0[1];
};

constant uint _279_tmp [[function_constant(0)]];
constant uint _279 = is_function_constant_defined(_279_tmp) ? _279_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_279, 1u, 1u);

kernel void main0(constant _79& _81 [[buffer(0)]], const device _109& _111 [[buffer(1)]], device _260& _262 [[buffer(2)]], uint gl_SubgroupID [[simdgroup_index_in_threadgroup]], uint gl_NumSubgroups [[simdgroups_per_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    threadgroup float2 _38[_35];
    do
    {
        uint _89 = (gl_WorkGroupID.y * _81._m3) + gl_WorkGroupID.x;
        if (_89 >= _81._m0)
        {
            break;
        }
        uint _106 = _89 * _81._m1;
        float2 _379;
        float _384;
        _384 = 0.0;
        _379 = float2(0.0);
        for (uint _378 = gl_LocalInvocationID.x; _378 < _81._m1; )
        {
            uint _132 = _106 + _378;
            bool _291 = (as_type<uint>(_111._m0[_132]) & 2139095040u) == 2139095040u;
            _384 += float(_291);
            _379 += float2(_291 ? 0.0 : _111._m0[_132], float(_111._m0[_132] != _111._m0[_106]));
            _378 += _35;
            continue;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _297 = simd_sum(_379);
        bool _298 = simd_is_first();
        if (_298)
        {
            _38[gl_SubgroupID] = _297;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _381;
        _381 = float2(0.0);
        for (uint _380 = 0u; _380 < gl_NumSubgroups; )
        {
            _381 += _38[_380];
            _380++;
            continue;
        }
        float2 _162 = float2(_384, 0.0);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _325 = simd_sum(_162);
        bool _326 = simd_is_first();
        if (_326)
        {
            _38[gl_SubgroupID] = _325;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _386;
        _386 = float2(0.0);
        for (uint _385 = 0u; _385 < gl_NumSubgroups; )
        {
            _386 += _38[_385];
            _385++;
            continue;
        }
        float _165 = _386.x;
        float _168 = _381.x;
        float _172 = _168 / float(_81._m1);
        float _175 = _381.y;
        float _388;
        _388 = 0.0;
        for (uint _387 = gl_LocalInvocationID.x; _387 < _81._m1; )
        {
            float _199 = _111._m0[_106 + _387] - _172;
            _388 = fma(_199, _199, _388);
            _387 += _35;
            continue;
        }
        float2 _209 = float2(_388, 0.0);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _353 = simd_sum(_209);
        bool _354 = simd_is_first();
        if (_354)
        {
            _38[gl_SubgroupID] = _353;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _390;
        _390 = float2(0.0);
        for (uint _389 = 0u; _389 < gl_NumSubgroups; )
        {
            _390 += _38[_389];
            _389++;
            continue;
        }
        float _391;
        if (((_175 == 0.0) || (_165 > 0.0)) || (_390.x <= 0.0))
        {
            _391 = 0.0;
        }
        else
        {
            _391 = rsqrt(_390.x);
        }
        for (uint _392 = gl_LocalInvocationID.x; _392 < _81._m1; _392 += _35)
        {
            float _393;
            if (_391 == 0.0)
            {
                _393 = 0.0;
            }
            else
            {
                _393 = (_111._m0[_106 + _392] - _172) * _391;
            }
            if (_81._m2 != 0u)
            {
                _262._m0[(_392 * _81._m0) + _89] = _393;
            }
            else
            {
                _262._m0[_106 + _392] = _393;
            }
        }
        break;
    } while(false);
}

