// GENERATED from @cwts/backend-vulkan/shaders/scores_drange.spv (sha256 029ba41606c69159d737c39ff46eeb401c8189224d0965f55fefed6894f76ba6) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
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
    uint _m3;
    uint _m4;
};

constant uint _35_tmp [[function_constant(0)]];
constant uint _35 = is_function_constant_defined(_35_tmp) ? _35_tmp : 64u;

struct _86
{
    float _m0[1];
};

struct _108
{
    float _m0[1];
};

struct _353
{
    float _m0[1];
};

constant uint _436_tmp [[function_constant(0)]];
constant uint _436 = is_function_constant_defined(_436_tmp) ? _436_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_436, 1u, 1u);

kernel void main0(constant _19& _21 [[buffer(0)]], const device _86& _88 [[buffer(1)]], const device _108& _110 [[buffer(2)]], device _353& _355 [[buffer(3)]], uint3 gl_WorkGroupID [[threadgroup_position_in_grid]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    uint _17 = gl_WorkGroupID.y * 8u;
    uint _29 = min(8u, (_21._m2 - _17));
    uint _36 = gl_NumWorkGroups.x * _35;
    uint _438;
    _438 = gl_GlobalInvocationID.x;
    for (; _438 < _21._m0; _438 += _36)
    {
        float _470;
        float _472;
        float _474;
        float _476;
        float _478;
        float _480;
        float _482;
        float _484;
        if (_29 == 8u)
        {
            float _471;
            float _473;
            float _475;
            float _477;
            float _479;
            float _481;
            float _483;
            float _485;
            _485 = 0.0;
            _483 = 0.0;
            _481 = 0.0;
            _479 = 0.0;
            _477 = 0.0;
            _475 = 0.0;
            _473 = 0.0;
            _471 = 0.0;
            for (uint _469 = _21._m3; _469 < (_21._m3 + _21._m4); )
            {
                uint _94 = (_469 * _21._m0) + _438;
                uint _105 = (_17 * _21._m1) + _469;
                _485 = fma(_88._m0[_94], _110._m0[_105 + (7u * _21._m1)], _485);
                _483 = fma(_88._m0[_94], _110._m0[_105 + (6u * _21._m1)], _483);
                _481 = fma(_88._m0[_94], _110._m0[_105 + (5u * _21._m1)], _481);
                _479 = fma(_88._m0[_94], _110._m0[_105 + (4u * _21._m1)], _479);
                _477 = fma(_88._m0[_94], _110._m0[_105 + (3u * _21._m1)], _477);
                _475 = fma(_88._m0[_94], _110._m0[_105 + (2u * _21._m1)], _475);
                _473 = fma(_88._m0[_94], _110._m0[_105 + _21._m1], _473);
                _471 = fma(_88._m0[_94], _110._m0[_105], _471);
                _469++;
                continue;
            }
            _484 = _485;
            _482 = _483;
            _480 = _481;
            _478 = _479;
            _476 = _477;
            _474 = _475;
            _472 = _473;
            _470 = _471;
        }
        else
        {
            float _441;
            float _442;
            float _444;
            float _447;
            float _451;
            float _456;
            float _462;
            _462 = 0.0;
            _456 = 0.0;
            _451 = 0.0;
            _447 = 0.0;
            _444 = 0.0;
            _442 = 0.0;
            _441 = 0.0;
            float _239;
            float _520;
            float _525;
            float _529;
            float _532;
            float _534;
            float _535;
            for (uint _439 = _21._m3; _439 < (_21._m3 + _21._m4); _462 = _535, _456 = _534, _451 = _532, _447 = _529, _444 = _525, _442 = _520, _441 = _239, _439++)
            {
                uint _223 = (_439 * _21._m0) + _438;
                uint _232 = (_17 * _21._m1) + _439;
                _239 = fma(_88._m0[_223], _110._m0[_232], _441);
                if (_29 > 1u)
                {
                    _520 = fma(_88._m0[_223], _110._m0[_232 + _21._m1], _442);
                }
                else
                {
                    _520 = _442;
                }
                if (_29 > 2u)
                {
                    _525 = fma(_88._m0[_223], _110._m0[_232 + (2u * _21._m1)], _444);
                }
                else
                {
                    _525 = _444;
                }
                if (_29 > 3u)
                {
                    _529 = fma(_88._m0[_223], _110._m0[_232 + (3u * _21._m1)], _447);
                }
                else
                {
                    _529 = _447;
                }
                if (_29 > 4u)
                {
                    _532 = fma(_88._m0[_223], _110._m0[_232 + (4u * _21._m1)], _451);
                }
                else
                {
                    _532 = _451;
                }
                if (_29 > 5u)
                {
                    _534 = fma(_88._m0[_223], _110._m0[_232 + (5u * _21._m1)], _456);
                }
                else
                {
                    _534 = _456;
                }
                if (_29 > 6u)
                {
                    _535 = fma(_88._m0[_223], _110._m0[_232 + (6u * _21._m1)], _462);
                }
                else
                {
                    _535 = _462;
                }
            }
            _484 = 0.0;
            _482 = _462;
            _480 = _456;
            _478 = _451;
            _476 = _447;
            _474 = _444;
            _472 = _442;
            _470 = _441;
        }
        spvUnsafeArray<float, 8> _342 = spvUnsafeArray<float, 8>({ _470, _472, _474, _476, _478, _480, _482, _484 });
        spvUnsafeArray<float, 8> _333;
        _333 = _342;
        for (uint _493 = 0u; _493 < _29; _493++)
        {
            uint _363 = ((_17 + _493) * _21._m0) + _438;
            float _499;
            if ((_21._m3 + _21._m4) == _21._m1)
            {
                float _498;
                if (_21._m3 == 0u)
                {
                    _498 = _333[_493];
                }
                else
                {
                    _498 = _355._m0[_363] + _333[_493];
                }
                _499 = fast::clamp(_498, -1.0, 1.0);
            }
            else
            {
                float _497;
                if (_21._m3 == 0u)
                {
                    _497 = _333[_493];
                }
                else
                {
                    _497 = _355._m0[_363] + _333[_493];
                }
                _499 = _497;
            }
            _355._m0[_363] = _499;
        }
    }
}

