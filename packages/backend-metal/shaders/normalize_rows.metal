// GENERATED from @cwts/backend-vulkan/shaders/normalize_rows.spv (sha256 c8fcafa092d662e19298a10098a55d49b723011c821a7342c8746bc7cb8524aa) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

constant uint _30_tmp [[function_constant(0)]];
constant uint _30 = is_function_constant_defined(_30_tmp) ? _30_tmp : 64u;

struct _42
{
    uint _m0;
    uint _m1;
    uint _m2;
    uint _m3;
};

struct _59
{
    float _m0[1];
};

struct _219
{
    float _m0[1];
};

constant uint _241_tmp [[function_constant(0)]];
constant uint _241 = is_function_constant_defined(_241_tmp) ? _241_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_241, 1u, 1u);

kernel void main0(constant _42& _44 [[buffer(0)]], const device _59& _61 [[buffer(1)]], device _219& _221 [[buffer(2)]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    uint _31 = gl_NumWorkGroups.x * _30;
    for (uint _250 = gl_GlobalInvocationID.x; _250 < _44._m0; _250 += _31)
    {
        uint _56 = _250 * _44._m1;
        float _252;
        bool _253;
        bool _254;
        _254 = false;
        _253 = false;
        _252 = 0.0;
        bool _100;
        float _105;
        bool _95;
        for (uint _251 = 0u; _251 < _44._m1; _254 = _95, _253 = _100, _252 = _105, _251++)
        {
            uint _85 = _56 + _251;
            if (!_254)
            {
                _95 = (as_type<uint>(_61._m0[_85]) & 2139095040u) == 2139095040u;
            }
            else
            {
                _95 = _254;
            }
            _100 = _253 || (_61._m0[_85] != _61._m0[_56]);
            _105 = _252 + (_61._m0[_85] - _61._m0[_56]);
        }
        float _112 = float(_44._m1);
        float _113 = _252 / _112;
        float _263;
        float _273;
        if (_253 && (!_254))
        {
            float _256;
            float _257;
            _257 = 0.0;
            _256 = 0.0;
            for (uint _255 = 0u; _255 < _44._m1; )
            {
                float _141 = (_61._m0[_56 + _255] - _61._m0[_56]) - _113;
                _257 = fma(_141, _141, _257);
                _256 += _141;
                _255++;
                continue;
            }
            _273 = _113 + (_256 / _112);
            _263 = _257 - ((_256 * _256) / _112);
        }
        else
        {
            _273 = _113;
            _263 = 0.0;
        }
        float _264;
        if (((!_253) || _254) || (_263 <= 0.0))
        {
            _264 = 0.0;
        }
        else
        {
            _264 = rsqrt(_263);
        }
        for (uint _265 = 0u; _265 < _44._m1; _265++)
        {
            float _274;
            if (_264 == 0.0)
            {
                _274 = 0.0;
            }
            else
            {
                _274 = ((_61._m0[_56 + _265] - _61._m0[_56]) - _273) * _264;
            }
            if (_44._m2 != 0u)
            {
                _221._m0[(_265 * _44._m0) + _250] = _274;
            }
            else
            {
                _221._m0[_56 + _265] = _274;
            }
        }
    }
}

