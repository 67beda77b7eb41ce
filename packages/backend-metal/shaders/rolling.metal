// GENERATED from @cwts/backend-vulkan/shaders/rolling.spv (sha256 13c7a66b00996750b35df6d78a780360d09824c18a2b06caaec4d4eeb3ad6d7b) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

constant uint _30_tmp [[function_constant(0)]];
constant uint _30 = is_function_constant_defined(_30_tmp) ? _30_tmp : 64u;

struct _33
{
    uint _m0;
    uint _m1;
    uint _m2;
};

struct _118
{
    float _m0[1];
};

struct _252
{
    float _m0[1];
};

struct _259
{
    float _m0[1];
};

constant uint _342_tmp [[function_constant(0)]];
constant uint _342 = is_function_constant_defined(_342_tmp) ? _342_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_342, 1u, 1u);

kernel void main0(constant _33& _35 [[buffer(0)]], const device _118& _120 [[buffer(1)]], device _252& _254 [[buffer(2)]], device _259& _261 [[buffer(3)]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    uint _31 = gl_NumWorkGroups.x * _30;
    float _45 = 1.0 / float(_35._m1);
    uint _61 = ((_35._m0 + _35._m2) - 1u) / _35._m2;
    for (uint _362 = gl_GlobalInvocationID.x; _362 < _61; _362 += _31)
    {
        uint _78 = _362 * _35._m2;
        uint _86 = min((_78 + _35._m2), _35._m0);
        uint _363;
        _363 = _78;
        uint _381;
        uint _387;
        bool _457;
        float _460;
        float _461;
        uint _365 = 0u;
        uint _366 = 0u;
        bool _370 = true;
        float _372 = 0.0;
        float _374 = 0.0;
        for (; _363 < _86; _374 = _461, _372 = _460, _370 = _457, _366 = _387, _365 = _381, _363++)
        {
            uint _109 = _363 + _35._m1;
            uint _110 = _109 - 1u;
            uint _382;
            uint _388;
            bool _394;
            float _413;
            float _420;
            if (_363 != _78)
            {
                uint _127 = _363 - 1u;
                uint _140 = (_365 + uint((as_type<uint>(_120._m0[_110]) & 2139095040u) == 2139095040u)) - uint((as_type<uint>(_120._m0[_127]) & 2139095040u) == 2139095040u);
                uint _367;
                if (_120._m0[_110] == _120._m0[_109 - 2u])
                {
                    _367 = _366 + 1u;
                }
                else
                {
                    _367 = 1u;
                }
                bool _395;
                float _414;
                float _421;
                if (_140 != 0u)
                {
                    _421 = _374;
                    _414 = _372;
                    _395 = true;
                }
                else
                {
                    bool _396;
                    float _415;
                    float _422;
                    if (!_370)
                    {
                        float _167 = _120._m0[_110] - _120._m0[_127];
                        float _170 = fma(_167, _45, _372);
                        float _181 = ((_120._m0[_110] - _170) + _120._m0[_127]) - _372;
                        float _186 = fma(_167, _181, _374);
                        _422 = _186;
                        _415 = _170;
                        _396 = (abs(_167 * _181) > (16.0 * fast::max(_186, 0.0))) ? true : _370;
                    }
                    else
                    {
                        _422 = _374;
                        _415 = _372;
                        _396 = _370;
                    }
                    _421 = _422;
                    _414 = _415;
                    _395 = _396;
                }
                _420 = _421;
                _413 = _414;
                _394 = _395;
                _388 = _367;
                _382 = _140;
            }
            else
            {
                _420 = _374;
                _413 = _372;
                _394 = _370;
                _388 = _366;
                _382 = _365;
            }
            if (_363 == _78)
            {
                uint _386;
                uint _392;
                _392 = 1u;
                _386 = _382;
                float _222;
                uint _463;
                uint _465;
                uint _380 = 0u;
                float _427 = _120._m0[_363];
                for (; _380 < _35._m1; _427 = _222, _392 = _465, _386 = _463, _380++)
                {
                    _222 = _120._m0[_363 + _380];
                    if ((as_type<uint>(_222) & 2139095040u) == 2139095040u)
                    {
                        _463 = _386 + uint(1);
                    }
                    else
                    {
                        _463 = _386;
                    }
                    if (_380 > 0u)
                    {
                        uint _429;
                        if (_222 == _427)
                        {
                            _429 = _392 + 1u;
                        }
                        else
                        {
                            _429 = 1u;
                        }
                        _465 = _429;
                    }
                    else
                    {
                        _465 = _392;
                    }
                }
                _387 = _392;
                _381 = _386;
            }
            else
            {
                _387 = _388;
                _381 = _382;
            }
            if (_381 != 0u)
            {
                _254._m0[_363] = as_type<float>(0x7fc00000u /* nan */);
                _261._m0[_363] = as_type<float>(0x7fc00000u /* nan */);
                _461 = _420;
                _460 = _413;
                _457 = _394;
                continue;
            }
            float _410;
            float _417;
            bool _458;
            if (_387 >= _35._m1)
            {
                _458 = false;
                _417 = 0.0;
                _410 = _120._m0[_110];
            }
            else
            {
                float _411;
                float _418;
                if (_394)
                {
                    float _400;
                    _400 = 0.0;
                    for (uint _399 = 0u; _399 < _35._m1; )
                    {
                        _400 += _120._m0[_363 + _399];
                        _399++;
                        continue;
                    }
                    float _407;
                    _407 = 0.0;
                    for (uint _401 = 0u; _401 < _35._m1; )
                    {
                        float _320 = fma(-_400, _45, _120._m0[_363 + _401]);
                        _407 = fma(_320, _320, _407);
                        _401++;
                        continue;
                    }
                    _418 = _407;
                    _411 = _400 * _45;
                }
                else
                {
                    _418 = _420;
                    _411 = _413;
                }
                _458 = _394 ? false : _394;
                _417 = _418;
                _410 = _411;
            }
            _254._m0[_363] = _410;
            _261._m0[_363] = fast::max(_417 * _45, 0.0);
            _461 = _417;
            _460 = _410;
            _457 = _458;
        }
    }
}

