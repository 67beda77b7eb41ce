// GENERATED from @cwts/backend-vulkan/shaders/normalize_rows.spv (sha256 1cd17a64b77e3e3f9fed2537529e344e6a4d27883f29e2c4d46fef077dbad5cb) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
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

constant uint _86_tmp [[function_constant(0)]];
constant uint _86 = is_function_constant_defined(_86_tmp) ? _86_tmp : 64u;

struct _98
{
    uint _m0;
    uint _m1;
    uint _m2;
    uint _m3;
};

struct _118
{
    float _m0[1];
};

struct _341
{
    float _m0[1];
};

constant uint _363_tmp [[function_constant(0)]];
constant uint _363 = is_function_constant_defined(_363_tmp) ? _363_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_363, 1u, 1u);

kernel void main0(constant _98& _100 [[buffer(0)]], const device _118& _120 [[buffer(1)]], device _341& _343 [[buffer(2)]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    uint _87 = gl_NumWorkGroups.x * _86;
    for (uint _439 = gl_GlobalInvocationID.x; _439 < _100._m0; _439 += _87)
    {
        uint _110 = _439 * _100._m1;
        float _441;
        bool _444;
        bool _446;
        _446 = false;
        _444 = false;
        _441 = 0.0;
        bool _147;
        bool _152;
        float _477;
        for (uint _440 = 0u; _440 < _100._m1; _446 = _147, _444 = _152, _441 = _477, _440++)
        {
            uint _138 = _110 + _440;
            bool _370 = (as_type<uint>(_120._m0[_138]) & 2139095040u) == 2139095040u;
            _147 = _446 || _370;
            _152 = _444 || (_120._m0[_138] != _120._m0[_110]);
            if (_370)
            {
                _477 = _441;
            }
            else
            {
                _477 = fast::max(_441, abs(_120._m0[_138]));
            }
        }
        int _442;
        if (_441 == 0.0)
        {
            _442 = 0;
        }
        else
        {
            _442 = 127 - int(max(((as_type<uint>(_441) >> uint(23)) & 255u), 1u));
        }
        int _173 = _442 / 2;
        float _395 = as_type<float>(uint(_173 + 127) << uint(23));
        float _402 = as_type<float>(uint((_442 - _173) + 127) << uint(23));
        float _410 = spvFMul(spvFMul(_120._m0[_110], _395), _402);
        float _460;
        float _472;
        if (_444 && (!_446))
        {
            float _448;
            _448 = 0.0;
            for (uint _447 = 0u; _447 < _100._m1; )
            {
                _448 = spvFAdd(_448, spvFSub(spvFMul(spvFMul(_120._m0[_110 + _447], _395), _402), _410));
                _447++;
                continue;
            }
            float _230 = float(_100._m1);
            float _231 = _448 / _230;
            float _450;
            float _451;
            _451 = 0.0;
            _450 = 0.0;
            for (uint _449 = 0u; _449 < _100._m1; )
            {
                float _258 = spvFSub(spvFSub(spvFMul(spvFMul(_120._m0[_110 + _449], _395), _402), _410), _231);
                _451 = spvFAdd(_451, spvFMul(_258, _258));
                _450 = spvFAdd(_450, _258);
                _449++;
                continue;
            }
            _472 = spvFAdd(_231, _450 / _230);
            _460 = spvFSub(_451, spvFMul(_450, _450) / _230);
        }
        else
        {
            _472 = 0.0;
            _460 = 0.0;
        }
        float _461;
        if (((!_444) || _446) || (_460 <= 0.0))
        {
            _461 = 0.0;
        }
        else
        {
            _461 = rsqrt(_460);
        }
        for (uint _462 = 0u; _462 < _100._m1; _462++)
        {
            float _473;
            if (_461 == 0.0)
            {
                _473 = 0.0;
            }
            else
            {
                _473 = spvFMul(spvFSub(spvFSub(spvFMul(spvFMul(_120._m0[_110 + _462], _395), _402), _410), _472), _461);
            }
            if (_100._m2 != 0u)
            {
                _343._m0[(_462 * _100._m0) + _439] = _473;
            }
            else
            {
                _343._m0[_110 + _462] = _473;
            }
        }
    }
}

