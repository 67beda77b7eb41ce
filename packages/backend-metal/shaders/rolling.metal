// GENERATED from @cwts/backend-vulkan/shaders/rolling.spv (sha256 619887f7db027192b0f6935f1f52712bc73071fffc5ec188a31788f42866844d) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
#pragma clang diagnostic ignored "-Wmissing-prototypes"

#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

template<typename T>
[[clang::optnone]] T spvFMul(T l, T r)
{
    return fma(l, r, T(0));
}

template<typename T, int Cols, int Rows>
[[clang::optnone]] vec<T, Cols> spvFMulVectorMatrix(vec<T, Rows> v, matrix<T, Cols, Rows> m)
{
    vec<T, Cols> res = vec<T, Cols>(0);
    for (uint i = Rows; i > 0; --i)
    {
        vec<T, Cols> tmp(0);
        for (uint j = 0; j < Cols; ++j)
        {
            tmp[j] = m[j][i - 1];
        }
        res = fma(tmp, vec<T, Cols>(v[i - 1]), res);
    }
    return res;
}

template<typename T, int Cols, int Rows>
[[clang::optnone]] vec<T, Rows> spvFMulMatrixVector(matrix<T, Cols, Rows> m, vec<T, Cols> v)
{
    vec<T, Rows> res = vec<T, Rows>(0);
    for (uint i = Cols; i > 0; --i)
    {
        res = fma(m[i - 1], vec<T, Rows>(v[i - 1]), res);
    }
    return res;
}

template<typename T, int LCols, int LRows, int RCols, int RRows>
[[clang::optnone]] matrix<T, RCols, LRows> spvFMulMatrixMatrix(matrix<T, LCols, LRows> l, matrix<T, RCols, RRows> r)
{
    matrix<T, RCols, LRows> res;
    for (uint i = 0; i < RCols; i++)
    {
        vec<T, RCols> tmp(0);
        for (uint j = 0; j < LCols; j++)
        {
            tmp = fma(vec<T, RCols>(r[i][j]), l[j], tmp);
        }
        res[i] = tmp;
    }
    return res;
}

template<typename T>
[[clang::optnone]] T spvFAdd(T l, T r)
{
    return fma(T(1), l, r);
}

template<typename T>
[[clang::optnone]] T spvFSub(T l, T r)
{
    return fma(T(-1), r, l);
}

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

constant uint _400_tmp [[function_constant(0)]];
constant uint _400 = is_function_constant_defined(_400_tmp) ? _400_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_400, 1u, 1u);

kernel void main0(constant _33& _35 [[buffer(0)]], const device _118& _120 [[buffer(1)]], device _252& _254 [[buffer(2)]], device _259& _261 [[buffer(3)]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    uint _31 = gl_NumWorkGroups.x * _30;
    float _45 = 1.0 / float(_35._m1);
    uint _61 = ((_35._m0 + _35._m2) - 1u) / _35._m2;
    for (uint _420 = gl_GlobalInvocationID.x; _420 < _61; _420 += _31)
    {
        uint _78 = _420 * _35._m2;
        uint _86 = min((_78 + _35._m2), _35._m0);
        uint _439;
        uint _445;
        bool _529;
        float _532;
        float _533;
        uint _421 = _78;
        uint _423 = 0u;
        uint _424 = 0u;
        bool _428 = true;
        float _430 = 0.0;
        float _432 = 0.0;
        for (; _421 < _86; _432 = _533, _430 = _532, _428 = _529, _424 = _445, _423 = _439, _421++)
        {
            uint _109 = _421 + _35._m1;
            uint _110 = _109 - 1u;
            uint _440;
            uint _446;
            bool _452;
            float _479;
            float _486;
            if (_421 != _78)
            {
                uint _127 = _421 - 1u;
                uint _140 = (_423 + uint((as_type<uint>(_120._m0[_110]) & 2139095040u) == 2139095040u)) - uint((as_type<uint>(_120._m0[_127]) & 2139095040u) == 2139095040u);
                uint _425;
                if (_120._m0[_110] == _120._m0[_109 - 2u])
                {
                    _425 = _424 + 1u;
                }
                else
                {
                    _425 = 1u;
                }
                bool _453;
                float _480;
                float _487;
                if (_140 != 0u)
                {
                    _487 = _432;
                    _480 = _430;
                    _453 = true;
                }
                else
                {
                    bool _454;
                    float _481;
                    float _488;
                    if (!_428)
                    {
                        float _170 = spvFAdd(_430, spvFMul(spvFSub(_120._m0[_110], _120._m0[_127]), _45));
                        float _174 = _120._m0[_110] - _120._m0[_127];
                        float _181 = ((_120._m0[_110] - _170) + _120._m0[_127]) - _430;
                        float _186 = fma(_174, _181, _432);
                        _488 = _186;
                        _481 = _170;
                        _454 = (abs(_174 * _181) > (16.0 * fast::max(_186, 0.0))) ? true : _428;
                    }
                    else
                    {
                        _488 = _432;
                        _481 = _430;
                        _454 = _428;
                    }
                    _487 = _488;
                    _480 = _481;
                    _453 = _454;
                }
                _486 = _487;
                _479 = _480;
                _452 = _453;
                _446 = _425;
                _440 = _140;
            }
            else
            {
                _486 = _432;
                _479 = _430;
                _452 = _428;
                _446 = _424;
                _440 = _423;
            }
            if (_421 == _78)
            {
                uint _444;
                uint _450;
                _450 = 1u;
                _444 = _440;
                float _222;
                uint _535;
                uint _537;
                uint _438 = 0u;
                float _493 = _120._m0[_421];
                for (; _438 < _35._m1; _493 = _222, _450 = _537, _444 = _535, _438++)
                {
                    _222 = _120._m0[_421 + _438];
                    if ((as_type<uint>(_222) & 2139095040u) == 2139095040u)
                    {
                        _535 = _444 + uint(1);
                    }
                    else
                    {
                        _535 = _444;
                    }
                    if (_438 > 0u)
                    {
                        uint _495;
                        if (_222 == _493)
                        {
                            _495 = _450 + 1u;
                        }
                        else
                        {
                            _495 = 1u;
                        }
                        _537 = _495;
                    }
                    else
                    {
                        _537 = _450;
                    }
                }
                _445 = _450;
                _439 = _444;
            }
            else
            {
                _445 = _446;
                _439 = _440;
            }
            if (_439 != 0u)
            {
                _254._m0[_421] = as_type<float>(0x7fc00000u /* nan */);
                _261._m0[_421] = as_type<float>(0x7fc00000u /* nan */);
                _533 = _486;
                _532 = _479;
                _529 = _452;
                continue;
            }
            float _476;
            float _483;
            bool _530;
            if (_445 >= _35._m1)
            {
                _530 = false;
                _483 = 0.0;
                _476 = _120._m0[_110];
            }
            else
            {
                float _477;
                float _484;
                if (_452)
                {
                    float _458;
                    float _459;
                    _459 = 0.0;
                    _458 = 0.0;
                    float _301;
                    float _323;
                    for (uint _457 = 0u; _457 < _35._m1; _459 = _323, _458 = _301, _457++)
                    {
                        uint _295 = _421 + _457;
                        _301 = spvFAdd(_458, _120._m0[_295]);
                        float _471;
                        if (abs(_458) >= abs(_120._m0[_295]))
                        {
                            _471 = spvFAdd(spvFSub(_458, _301), _120._m0[_295]);
                        }
                        else
                        {
                            _471 = spvFAdd(spvFSub(_120._m0[_295], _301), _458);
                        }
                        _323 = spvFAdd(_459, _471);
                    }
                    float _331 = spvFMul(spvFAdd(_458, _459), _45);
                    float _461;
                    float _462;
                    _462 = 0.0;
                    _461 = 0.0;
                    float _359;
                    float _379;
                    for (uint _460 = 0u; _460 < _35._m1; _462 = _379, _461 = _359, _460++)
                    {
                        float _351 = spvFSub(_120._m0[_421 + _460], _331);
                        float _355 = spvFMul(_351, _351);
                        _359 = spvFAdd(_461, _355);
                        float _468;
                        if (_461 >= _355)
                        {
                            _468 = spvFAdd(spvFSub(_461, _359), _355);
                        }
                        else
                        {
                            _468 = spvFAdd(spvFSub(_355, _359), _461);
                        }
                        _379 = spvFAdd(_462, _468);
                    }
                    _484 = _461 + _462;
                    _477 = _331;
                }
                else
                {
                    _484 = _486;
                    _477 = _479;
                }
                _530 = _452 ? false : _452;
                _483 = _484;
                _476 = _477;
            }
            _254._m0[_421] = _476;
            _261._m0[_421] = fast::max(_483 * _45, 0.0);
            _533 = _483;
            _532 = _476;
            _529 = _530;
        }
    }
}

