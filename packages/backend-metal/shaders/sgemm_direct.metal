// GENERATED from @cwts/backend-vulkan/shaders/sgemm_direct.spv (sha256 fa8e5dd5fb135650c09338b3127bd34d218f76dba3d0f2ed2e990b934e942b43) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
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

constant uint _16_tmp [[function_constant(1)]];
constant uint _16 = is_function_constant_defined(_16_tmp) ? _16_tmp : 16u;
constant uint _18 = (_16 * 4u);
constant uint _28_tmp [[function_constant(0)]];
constant uint _28 = is_function_constant_defined(_28_tmp) ? _28_tmp : 16u;
constant uint _29 = (_28 * 4u);

struct _52
{
    uint _m0;
    uint _m1;
    uint _m2;
    float _m3;
    float _m4;
    uint _m5;
    uint _m6;
};

struct _145
{
    float _m0[1];
};

struct _174
{
    float _m0[1];
};

struct _289
{
    float _m0[1];
};

constant uint _327_tmp [[function_constant(0)]];
constant uint _327 = is_function_constant_defined(_327_tmp) ? _327_tmp : 1u;
constant uint _328_tmp [[function_constant(1)]];
constant uint _328 = is_function_constant_defined(_328_tmp) ? _328_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_327, _328, 1u);

kernel void main0(constant _52& _54 [[buffer(0)]], const device _145& _147 [[buffer(1)]], const device _174& _176 [[buffer(2)]], device _289& _291 [[buffer(3)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    uint _23 = (gl_WorkGroupID.y * _18) + gl_LocalInvocationID.y;
    uint _33 = (gl_WorkGroupID.x * _29) + gl_LocalInvocationID.x;
    spvUnsafeArray<uint, 4> _45;
    for (uint _330 = 0u; _330 < 4u; )
    {
        _45[_330] = min((_23 + (_330 * _16)), (_54._m0 - 1u));
        _330++;
        continue;
    }
    spvUnsafeArray<uint, 4> _74;
    for (uint _331 = 0u; _331 < 4u; )
    {
        _74[_331] = min((_33 + (_331 * _28)), (_54._m1 - 1u));
        _331++;
        continue;
    }
    uint _332;
    _332 = 0u;
    spvUnsafeArray<spvUnsafeArray<float, 4>, 4> _106;
    for (; _332 < 4u; _332++)
    {
        for (uint _353 = 0u; _353 < 4u; )
        {
            _106[_332][_353] = 0.0;
            _353++;
            continue;
        }
    }
    uint _333;
    _333 = _54._m5;
    spvUnsafeArray<float, 4> _142;
    spvUnsafeArray<float, 4> _171;
    for (; _333 < (_54._m5 + _54._m6); _333++)
    {
        for (uint _345 = 0u; _345 < 4u; )
        {
            _142[_345] = _147._m0[(_45[_345] * _54._m2) + _333];
            _345++;
            continue;
        }
        for (uint _346 = 0u; _346 < 4u; )
        {
            _171[_346] = _176._m0[(_333 * _54._m1) + _74[_346]];
            _346++;
            continue;
        }
        uint _347;
        _347 = 0u;
        for (; _347 < 4u; _347++)
        {
            for (uint _351 = 0u; _351 < 4u; )
            {
                _106[_347][_351] = fma(_142[_347], _171[_351], _106[_347][_351]);
                _351++;
                continue;
            }
        }
    }
    for (uint _334 = 0u; _334 < 4u; _334++)
    {
        uint _237 = _23 + (_334 * _16);
        if (_237 >= _54._m0)
        {
            continue;
        }
        for (uint _335 = 0u; _335 < 4u; _335++)
        {
            uint _257 = _33 + (_335 * _28);
            if (_257 >= _54._m1)
            {
                continue;
            }
            uint _271 = (_237 * _54._m1) + _257;
            float _338;
            if (_54._m6 == 0u)
            {
                float _337;
                if (_54._m4 != 0.0)
                {
                    _337 = _54._m4 * _291._m0[_271];
                }
                else
                {
                    _337 = 0.0;
                }
                _338 = _337;
            }
            else
            {
                float _339;
                if (_54._m4 != 0.0)
                {
                    _339 = fma(_54._m3, _106[_334][_335], _54._m4 * _291._m0[_271]);
                }
                else
                {
                    _339 = _54._m3 * _106[_334][_335];
                }
                _338 = _339;
            }
            _291._m0[_271] = _338;
        }
    }
}

