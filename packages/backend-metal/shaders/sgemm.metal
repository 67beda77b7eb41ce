// GENERATED from @cwts/backend-vulkan/shaders/sgemm.spv (sha256 362b387fd3110f5b86087b1abdc477ec8b825ac808ba50332e74c2ef4e0b39c4) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
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

struct _75
{
    uint _m0;
    uint _m1;
    uint _m2;
    float _m3;
    float _m4;
    uint _m5;
    uint _m6;
};

constant uint _106 = (_34 * 16u);
constant uint _122 = (16u * _34);

struct _143
{
    float _m0[1];
};

constant uint _171 = (16u * _39);
constant uint _187 = (16u * _39);

struct _209
{
    float _m0[1];
};

struct _386
{
    float _m0[1];
};

constant uint _424_tmp [[function_constant(0)]];
constant uint _424 = is_function_constant_defined(_424_tmp) ? _424_tmp : 1u;
constant uint _425_tmp [[function_constant(1)]];
constant uint _425 = is_function_constant_defined(_425_tmp) ? _425_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_424, _425, 1u);

kernel void main0(constant _75& _77 [[buffer(0)]], const device _143& _145 [[buffer(1)]], const device _209& _211 [[buffer(2)]], device _386& _388 [[buffer(3)]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]])
{
    threadgroup float _125[_122];
    threadgroup float _190[_187];
    uint _25 = (gl_LocalInvocationID.y * _22) + gl_LocalInvocationID.x;
    uint _35 = gl_WorkGroupID.y * _34;
    uint _40 = gl_WorkGroupID.x * _39;
    uint _427;
    _427 = 0u;
    spvUnsafeArray<spvUnsafeArray<float, 4>, 4> _62;
    for (; _427 < 4u; _427++)
    {
        for (uint _459 = 0u; _459 < 4u; )
        {
            _62[_427][_459] = 0.0;
            _459++;
            continue;
        }
    }
    uint _85 = _77._m5 + _77._m6;
    spvUnsafeArray<float, 4> _245;
    spvUnsafeArray<float, 4> _267;
    for (uint _428 = _77._m5; _428 < _85; _428 += 16u)
    {
        for (uint _440 = _25; _440 < _106; _440 += _28)
        {
            uint _110 = _440 / 16u;
            uint _113 = _440 % 16u;
            uint _117 = _35 + _110;
            uint _121 = _428 + _113;
            float _457;
            if ((_117 < _77._m0) && (_121 < _85))
            {
                _457 = _145._m0[(_117 * _77._m2) + _121];
            }
            else
            {
                _457 = 0.0;
            }
            _125[(_113 * _34) + _110] = _457;
        }
        for (uint _441 = _25; _441 < _171; _441 += _28)
        {
            uint _175 = _441 / _39;
            uint _178 = _441 % _39;
            uint _182 = _428 + _175;
            uint _186 = _40 + _178;
            bool _197 = _182 < _85;
            bool _204;
            if (_197)
            {
                _204 = _186 < _77._m1;
            }
            else
            {
                _204 = _197;
            }
            float _454;
            if (_204)
            {
                _454 = _211._m0[(_182 * _77._m1) + _186];
            }
            else
            {
                _454 = 0.0;
            }
            _190[(_175 * _39) + _178] = _454;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        uint _442;
        _442 = 0u;
        for (; _442 < 16u; _442++)
        {
            for (uint _446 = 0u; _446 < 4u; )
            {
                _245[_446] = _125[((_442 * _34) + gl_LocalInvocationID.y) + (_446 * _27)];
                _446++;
                continue;
            }
            for (uint _447 = 0u; _447 < 4u; )
            {
                _267[_447] = _190[((_442 * _39) + gl_LocalInvocationID.x) + (_447 * _22)];
                _447++;
                continue;
            }
            uint _448;
            _448 = 0u;
            for (; _448 < 4u; _448++)
            {
                for (uint _452 = 0u; _452 < 4u; )
                {
                    _62[_448][_452] = fma(_245[_448], _267[_452], _62[_448][_452]);
                    _452++;
                    continue;
                }
            }
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    for (uint _429 = 0u; _429 < 4u; _429++)
    {
        uint _332 = (_35 + gl_LocalInvocationID.y) + (_429 * _27);
        if (_332 >= _77._m0)
        {
            continue;
        }
        for (uint _430 = 0u; _430 < 4u; _430++)
        {
            uint _354 = (_40 + gl_LocalInvocationID.x) + (_430 * _22);
            if (_354 >= _77._m1)
            {
                continue;
            }
            uint _368 = (_332 * _77._m1) + _354;
            float _433;
            if (_77._m6 == 0u)
            {
                float _432;
                if (_77._m4 != 0.0)
                {
                    _432 = _77._m4 * _388._m0[_368];
                }
                else
                {
                    _432 = 0.0;
                }
                _433 = _432;
            }
            else
            {
                float _434;
                if (_77._m4 != 0.0)
                {
                    _434 = fma(_77._m3, _62[_429][_430], _77._m4 * _388._m0[_368]);
                }
                else
                {
                    _434 = _77._m3 * _62[_429][_430];
                }
                _433 = _434;
            }
            _388._m0[_368] = _433;
        }
    }
}

