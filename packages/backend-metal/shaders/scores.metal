// GENERATED from @cwts/backend-vulkan/shaders/scores.spv (sha256 5f7fc246b4f6c16fd803d7fba8fd7c482538a7c336578256fe19fa6ce7b54c9e) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
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

struct _19
{
    uint _m0;
    uint _m1;
    uint _m2;
};

constant uint _35_tmp [[function_constant(0)]];
constant uint _35 = is_function_constant_defined(_35_tmp) ? _35_tmp : 64u;

struct _80
{
    float _m0[1];
};

struct _101
{
    float _m0[1];
};

struct _341
{
    float _m0[1];
};

constant uint _364_tmp [[function_constant(0)]];
constant uint _364 = is_function_constant_defined(_364_tmp) ? _364_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_364, 1u, 1u);

kernel void main0(constant _19& _21 [[buffer(0)]], const device _80& _82 [[buffer(1)]], const device _101& _103 [[buffer(2)]], device _341& _343 [[buffer(3)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    uint _17 = gl_WorkGroupID.y * 8u;
    uint _29 = min(8u, (_21._m2 - _17));
    uint _36 = gl_NumWorkGroups.x * _35;
    uint _366;
    _366 = gl_GlobalInvocationID.x;
    for (; _366 < _21._m0; _366 += _36)
    {
        float _398;
        float _400;
        float _402;
        float _404;
        float _406;
        float _408;
        float _410;
        float _412;
        if (_29 == 8u)
        {
            float _399;
            float _401;
            float _403;
            float _405;
            float _407;
            float _409;
            float _411;
            float _413;
            _413 = 0.0;
            _411 = 0.0;
            _409 = 0.0;
            _407 = 0.0;
            _405 = 0.0;
            _403 = 0.0;
            _401 = 0.0;
            _399 = 0.0;
            for (uint _397 = 0u; _397 < _21._m1; )
            {
                uint _88 = (_397 * _21._m0) + _366;
                uint _98 = (_17 * _21._m1) + _397;
                _413 = fma(_82._m0[_88], _103._m0[_98 + (7u * _21._m1)], _413);
                _411 = fma(_82._m0[_88], _103._m0[_98 + (6u * _21._m1)], _411);
                _409 = fma(_82._m0[_88], _103._m0[_98 + (5u * _21._m1)], _409);
                _407 = fma(_82._m0[_88], _103._m0[_98 + (4u * _21._m1)], _407);
                _405 = fma(_82._m0[_88], _103._m0[_98 + (3u * _21._m1)], _405);
                _403 = fma(_82._m0[_88], _103._m0[_98 + (2u * _21._m1)], _403);
                _401 = fma(_82._m0[_88], _103._m0[_98 + _21._m1], _401);
                _399 = fma(_82._m0[_88], _103._m0[_98], _399);
                _397++;
                continue;
            }
            _412 = _413;
            _410 = _411;
            _408 = _409;
            _406 = _407;
            _404 = _405;
            _402 = _403;
            _400 = _401;
            _398 = _399;
        }
        else
        {
            float _369;
            float _370;
            float _372;
            float _375;
            float _379;
            float _384;
            float _390;
            _390 = 0.0;
            _384 = 0.0;
            _379 = 0.0;
            _375 = 0.0;
            _372 = 0.0;
            _370 = 0.0;
            _369 = 0.0;
            float _227;
            float _442;
            float _447;
            float _451;
            float _454;
            float _456;
            float _457;
            for (uint _367 = 0u; _367 < _21._m1; _390 = _457, _384 = _456, _379 = _454, _375 = _451, _372 = _447, _370 = _442, _369 = _227, _367++)
            {
                uint _211 = (_367 * _21._m0) + _366;
                uint _220 = (_17 * _21._m1) + _367;
                _227 = fma(_82._m0[_211], _103._m0[_220], _369);
                if (_29 > 1u)
                {
                    _442 = fma(_82._m0[_211], _103._m0[_220 + _21._m1], _370);
                }
                else
                {
                    _442 = _370;
                }
                if (_29 > 2u)
                {
                    _447 = fma(_82._m0[_211], _103._m0[_220 + (2u * _21._m1)], _372);
                }
                else
                {
                    _447 = _372;
                }
                if (_29 > 3u)
                {
                    _451 = fma(_82._m0[_211], _103._m0[_220 + (3u * _21._m1)], _375);
                }
                else
                {
                    _451 = _375;
                }
                if (_29 > 4u)
                {
                    _454 = fma(_82._m0[_211], _103._m0[_220 + (4u * _21._m1)], _379);
                }
                else
                {
                    _454 = _379;
                }
                if (_29 > 5u)
                {
                    _456 = fma(_82._m0[_211], _103._m0[_220 + (5u * _21._m1)], _384);
                }
                else
                {
                    _456 = _384;
                }
                if (_29 > 6u)
                {
                    _457 = fma(_82._m0[_211], _103._m0[_220 + (6u * _21._m1)], _390);
                }
                else
                {
                    _457 = _390;
                }
            }
            _412 = 0.0;
            _410 = _390;
            _408 = _384;
            _406 = _379;
            _404 = _375;
            _402 = _372;
            _400 = _370;
            _398 = _369;
        }
        spvUnsafeArray<float, 8> _330 = spvUnsafeArray<float, 8>({ _398, _400, _402, _404, _406, _408, _410, _412 });
        spvUnsafeArray<float, 8> _321;
        _321 = _330;
        for (uint _421 = 0u; _421 < _29; )
        {
            _343._m0[((_17 + _421) * _21._m0) + _366] = fast::clamp(_321[_421], -1.0, 1.0);
            _421++;
            continue;
        }
    }
}

