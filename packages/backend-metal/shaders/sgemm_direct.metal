// GENERATED from @cwts/backend-vulkan/shaders/sgemm_direct.spv (sha256 846b2cfaf78c014203854ebcbe3e41c640f7e9b24ceae1ddb7b43f2bf34ac991) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
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
};

struct _139
{
    float _m0[1];
};

struct _167
{
    float _m0[1];
};

struct _284
{
    float _m0[1];
};

constant uint _300_tmp [[function_constant(0)]];
constant uint _300 = is_function_constant_defined(_300_tmp) ? _300_tmp : 1u;
constant uint _301_tmp [[function_constant(1)]];
constant uint _301 = is_function_constant_defined(_301_tmp) ? _301_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_300, _301, 1u);

kernel void main0(constant _52& _54 [[buffer(0)]], const device _139& _141 [[buffer(1)]], const device _167& _169 [[buffer(2)]], device _284& _286 [[buffer(3)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_LocalInvocationID [[thread_position_in_threadgroup]])
{
    uint _23 = (gl_WorkGroupID.y * _18) + gl_LocalInvocationID.y;
    uint _33 = (gl_WorkGroupID.x * _29) + gl_LocalInvocationID.x;
    spvUnsafeArray<uint, 4> _45;
    for (uint _303 = 0u; _303 < 4u; )
    {
        _45[_303] = min((_23 + (_303 * _16)), (_54._m0 - 1u));
        _303++;
        continue;
    }
    spvUnsafeArray<uint, 4> _74;
    for (uint _304 = 0u; _304 < 4u; )
    {
        _74[_304] = min((_33 + (_304 * _28)), (_54._m1 - 1u));
        _304++;
        continue;
    }
    uint _305;
    _305 = 0u;
    spvUnsafeArray<spvUnsafeArray<float, 4>, 4> _106;
    for (; _305 < 4u; _305++)
    {
        for (uint _322 = 0u; _322 < 4u; )
        {
            _106[_305][_322] = 0.0;
            _322++;
            continue;
        }
    }
    uint _306;
    _306 = 0u;
    spvUnsafeArray<float, 4> _136;
    spvUnsafeArray<float, 4> _164;
    for (; _306 < _54._m2; _306++)
    {
        for (uint _314 = 0u; _314 < 4u; )
        {
            _136[_314] = _141._m0[(_45[_314] * _54._m2) + _306];
            _314++;
            continue;
        }
        for (uint _315 = 0u; _315 < 4u; )
        {
            _164[_315] = _169._m0[(_306 * _54._m1) + _74[_315]];
            _315++;
            continue;
        }
        uint _316;
        _316 = 0u;
        for (; _316 < 4u; _316++)
        {
            for (uint _320 = 0u; _320 < 4u; )
            {
                _106[_316][_320] = fma(_136[_316], _164[_320], _106[_316][_320]);
                _320++;
                continue;
            }
        }
    }
    for (uint _307 = 0u; _307 < 4u; _307++)
    {
        uint _230 = _23 + (_307 * _16);
        if (_230 >= _54._m0)
        {
            continue;
        }
        for (uint _308 = 0u; _308 < 4u; _308++)
        {
            uint _250 = _33 + (_308 * _28);
            if (_250 >= _54._m1)
            {
                continue;
            }
            uint _264 = (_230 * _54._m1) + _250;
            float _310;
            if (_54._m4 != 0.0)
            {
                _310 = fma(_54._m3, _106[_307][_308], _54._m4 * _286._m0[_264]);
            }
            else
            {
                _310 = _54._m3 * _106[_307][_308];
            }
            _286._m0[_264] = _310;
        }
    }
}

