// GENERATED from @cwts/backend-vulkan/shaders/normalize_sg.spv (sha256 fa9e3563e3de6978685a46c2d337c896eaf3c44adae7882ee1eaa34f4b42a620) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
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

struct _294
{
    float _m0[1];
};

constant uint _313_tmp [[function_constant(0)]];
constant uint _313 = is_function_constant_defined(_313_tmp) ? _313_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_313, 1u, 1u);

kernel void main0(constant _79& _81 [[buffer(0)]], const device _109& _111 [[buffer(1)]], device _294& _296 [[buffer(2)]], uint gl_SubgroupID [[simdgroup_index_in_threadgroup]], uint gl_NumSubgroups [[simdgroups_per_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
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
        float _115 = _111._m0[_106];
        float2 _417;
        float _422;
        _422 = 0.0;
        _417 = float2(0.0);
        float2 _156;
        float _160;
        for (uint _416 = gl_LocalInvocationID.x; _416 < _81._m1; _422 = _160, _417 = _156, _416 += _35)
        {
            uint _132 = _106 + _416;
            bool _325 = (as_type<uint>(_111._m0[_132]) & 2139095040u) == 2139095040u;
            float _440;
            if (_325)
            {
                _440 = 0.0;
            }
            else
            {
                _440 = _111._m0[_132] - _115;
            }
            _156 = _417 + float2(_440, float(_111._m0[_132] != _115));
            _160 = _422 + float(_325);
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _331 = simd_sum(_417);
        bool _332 = simd_is_first();
        if (_332)
        {
            _38[gl_SubgroupID] = _331;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _419;
        _419 = float2(0.0);
        for (uint _418 = 0u; _418 < gl_NumSubgroups; )
        {
            _419 += _38[_418];
            _418++;
            continue;
        }
        float2 _168 = float2(_422, 0.0);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _359 = simd_sum(_168);
        bool _360 = simd_is_first();
        if (_360)
        {
            _38[gl_SubgroupID] = _359;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _424;
        _424 = float2(0.0);
        for (uint _423 = 0u; _423 < gl_NumSubgroups; )
        {
            _424 += _38[_423];
            _423++;
            continue;
        }
        float _171 = _424.x;
        float _174 = _419.x;
        float _177 = float(_81._m1);
        float _178 = _174 / _177;
        float _181 = _419.y;
        bool _185 = (_181 == 0.0) || (_171 > 0.0);
        float2 _426;
        _426 = float2(0.0);
        for (uint _425 = gl_LocalInvocationID.x; _425 < _81._m1; )
        {
            float _207 = (_111._m0[_106 + _425] - _115) - _178;
            _426 += float2(_207, _207 * _207);
            _425 += _35;
            continue;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _387 = simd_sum(_426);
        bool _388 = simd_is_first();
        if (_388)
        {
            _38[gl_SubgroupID] = _387;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        float2 _428;
        _428 = float2(0.0);
        for (uint _427 = 0u; _427 < gl_NumSubgroups; )
        {
            _428 += _38[_427];
            _427++;
            continue;
        }
        float _232 = _428.y - ((_428.x * _428.x) / _177);
        float _240 = _178 + (_428.x / _177);
        bool _249;
        if (!_185)
        {
            _249 = !(_232 > 0.0);
        }
        else
        {
            _249 = _185;
        }
        float _432;
        if (_249)
        {
            _432 = 0.0;
        }
        else
        {
            _432 = rsqrt(_232);
        }
        for (uint _433 = gl_LocalInvocationID.x; _433 < _81._m1; _433 += _35)
        {
            float _437;
            if (_432 == 0.0)
            {
                _437 = 0.0;
            }
            else
            {
                _437 = ((_111._m0[_106 + _433] - _115) - _240) * _432;
            }
            if (_81._m2 != 0u)
            {
                _296._m0[(_433 * _81._m0) + _89] = _437;
            }
            else
            {
                _296._m0[_106 + _433] = _437;
            }
        }
        break;
    } while(false);
}

