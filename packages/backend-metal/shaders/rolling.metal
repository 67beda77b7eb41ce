// GENERATED from @cwts/backend-vulkan/shaders/rolling.spv (sha256 284f807bd765030a693cef26dfe34f527d12b7b04b197d7babc2f0d807cbdc1b) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
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

constant uint _125_tmp [[function_constant(0)]];
constant uint _125 = is_function_constant_defined(_125_tmp) ? _125_tmp : 64u;

struct _128
{
    uint _m0;
    uint _m1;
    uint _m2;
};

struct _211
{
    float _m0[1];
};

struct _380
{
    float _m0[1];
};

struct _387
{
    float _m0[1];
};

constant uint _596_tmp [[function_constant(0)]];
constant uint _596 = is_function_constant_defined(_596_tmp) ? _596_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_596, 1u, 1u);

kernel void main0(constant _128& _130 [[buffer(0)]], const device _211& _213 [[buffer(1)]], device _380& _382 [[buffer(2)]], device _387& _389 [[buffer(3)]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    uint _126 = gl_NumWorkGroups.x * _125;
    float _135 = float(_130._m1);
    float _139 = 1.0 / _135;
    uint _152 = ((_130._m0 + _130._m2) - 1u) / _130._m2;
    for (uint _868 = gl_GlobalInvocationID.x; _868 < _152; _868 += _126)
    {
        uint _169 = _868 * _130._m2;
        uint _177 = min((_169 + _130._m2), _130._m0);
        uint _869;
        float2 _878;
        float2 _959;
        _959 = float2(1.0);
        _878 = float2(1.0);
        _869 = _169;
        uint _892;
        uint _901;
        bool _1031;
        float2 _1034;
        float _1049;
        float _1050;
        float2 _1069;
        uint _871 = 0u;
        uint _872 = 0u;
        bool _876 = true;
        float _880 = 0.0;
        float _882 = 0.0;
        for (; _869 < _177; _959 = _1069, _882 = _1050, _880 = _1049, _878 = _1034, _876 = _1031, _872 = _901, _871 = _892, _869++)
        {
            uint _202 = _869 + _130._m1;
            uint _203 = _202 - 1u;
            uint _893;
            uint _902;
            bool _911;
            float _950;
            float _975;
            if (_869 != _169)
            {
                uint _220 = _869 - 1u;
                uint _233 = (_871 + uint((as_type<uint>(_213._m0[_203]) & 2139095040u) == 2139095040u)) - uint((as_type<uint>(_213._m0[_220]) & 2139095040u) == 2139095040u);
                uint _873;
                if (_213._m0[_203] == _213._m0[_202 - 2u])
                {
                    _873 = _872 + 1u;
                }
                else
                {
                    _873 = 1u;
                }
                bool _912;
                float _951;
                float _976;
                if (_233 != 0u)
                {
                    _976 = _882;
                    _951 = _880;
                    _912 = true;
                }
                else
                {
                    bool _913;
                    float _952;
                    float _977;
                    if (!_876)
                    {
                        float _619 = spvFMul(spvFMul(_213._m0[_203], _878.x), _878.y);
                        float _630 = spvFMul(spvFMul(_213._m0[_220], _878.x), _878.y);
                        bool _914;
                        float _953;
                        float _978;
                        if (!(abs(_619) <= 4294967296.0))
                        {
                            _978 = _882;
                            _953 = _880;
                            _914 = true;
                        }
                        else
                        {
                            float _283 = spvFAdd(_880, spvFMul(spvFSub(_619, _630), _139));
                            float _287 = _619 - _630;
                            float _294 = ((_619 - _283) + _630) - _880;
                            float _299 = fma(_287, _294, _882);
                            bool _915;
                            if (abs(_287 * _294) > (16.0 * fast::max(_299, 0.0)))
                            {
                                _915 = true;
                            }
                            else
                            {
                                bool _313 = abs(_283) < 2.3283064365386962890625e-10;
                                bool _321;
                                if (_313)
                                {
                                    _321 = _299 < (5.4210105393100953915108285077057e-20 * _135);
                                }
                                else
                                {
                                    _321 = _313;
                                }
                                _915 = _321 ? true : _876;
                            }
                            _978 = _299;
                            _953 = _283;
                            _914 = _915;
                        }
                        _977 = _978;
                        _952 = _953;
                        _913 = _914;
                    }
                    else
                    {
                        _977 = _882;
                        _952 = _880;
                        _913 = _876;
                    }
                    _976 = _977;
                    _951 = _952;
                    _912 = _913;
                }
                _975 = _976;
                _950 = _951;
                _911 = _912;
                _902 = _873;
                _893 = _233;
            }
            else
            {
                _975 = _882;
                _950 = _880;
                _911 = _876;
                _902 = _872;
                _893 = _871;
            }
            if (_869 == _169)
            {
                uint _900;
                uint _909;
                _909 = 1u;
                _900 = _893;
                float _350;
                uint _1052;
                uint _1054;
                uint _891 = 0u;
                float _983 = _213._m0[_869];
                for (; _891 < _130._m1; _983 = _350, _909 = _1054, _900 = _1052, _891++)
                {
                    _350 = _213._m0[_869 + _891];
                    if ((as_type<uint>(_350) & 2139095040u) == 2139095040u)
                    {
                        _1052 = _900 + uint(1);
                    }
                    else
                    {
                        _1052 = _900;
                    }
                    if (_891 > 0u)
                    {
                        uint _985;
                        if (_350 == _983)
                        {
                            _985 = _909 + 1u;
                        }
                        else
                        {
                            _985 = 1u;
                        }
                        _1054 = _985;
                    }
                    else
                    {
                        _1054 = _909;
                    }
                }
                _901 = _909;
                _892 = _900;
            }
            else
            {
                _901 = _902;
                _892 = _893;
            }
            if (_892 != 0u)
            {
                _382._m0[_869] = as_type<float>(0x7fc00000u /* nan */);
                _389._m0[_869] = as_type<float>(0x7fc00000u /* nan */);
                _1069 = _959;
                _1050 = _975;
                _1049 = _950;
                _1034 = _878;
                _1031 = _911;
                continue;
            }
            float _947;
            float2 _955;
            float _972;
            bool _1032;
            float2 _1047;
            if (_901 >= _130._m1)
            {
                float _406 = abs(_213._m0[_203]);
                int _943;
                if (_406 == 0.0)
                {
                    _943 = 0;
                }
                else
                {
                    _943 = 127 - int(max(((as_type<uint>(_406) >> uint(23)) & 255u), 1u));
                }
                int _661 = _943 / 2;
                float _675 = as_type<float>(uint(_661 + 127) << uint(23));
                int _666 = _943 - _661;
                float _682 = as_type<float>(uint(_666 + 127) << uint(23));
                _1047 = float2(_675, _682);
                _1032 = false;
                _972 = 0.0;
                _955 = float2(as_type<float>(uint((_943 / (-2)) + 127) << uint(23)), as_type<float>(uint(127 - _666) << uint(23)));
                _947 = spvFMul(spvFMul(_213._m0[_203], _675), _682);
            }
            else
            {
                float _948;
                float2 _956;
                float _973;
                float2 _1048;
                if (_911)
                {
                    float _920;
                    _920 = 0.0;
                    for (uint _919 = 0u; _919 < _130._m1; )
                    {
                        _920 = fast::max(_920, abs(_213._m0[_869 + _919]));
                        _919++;
                        continue;
                    }
                    int _921;
                    if (_920 == 0.0)
                    {
                        _921 = 0;
                    }
                    else
                    {
                        _921 = 127 - int(max(((as_type<uint>(_920) >> uint(23)) & 255u), 1u));
                    }
                    int _746 = _921 / 2;
                    float _760 = as_type<float>(uint(_746 + 127) << uint(23));
                    int _751 = _921 - _746;
                    float _767 = as_type<float>(uint(_751 + 127) << uint(23));
                    float _923;
                    float _924;
                    _924 = 0.0;
                    _923 = 0.0;
                    float _481;
                    float _503;
                    for (uint _922 = 0u; _922 < _130._m1; _924 = _503, _923 = _481, _922++)
                    {
                        float _806 = spvFMul(spvFMul(_213._m0[_869 + _922], _760), _767);
                        _481 = spvFAdd(_923, _806);
                        float _940;
                        if (abs(_923) >= abs(_806))
                        {
                            _940 = spvFAdd(spvFSub(_923, _481), _806);
                        }
                        else
                        {
                            _940 = spvFAdd(spvFSub(_806, _481), _923);
                        }
                        _503 = spvFAdd(_924, _940);
                    }
                    float _511 = spvFMul(spvFAdd(_923, _924), _139);
                    float _926;
                    float _927;
                    _927 = 0.0;
                    _926 = 0.0;
                    float _543;
                    float _563;
                    for (uint _925 = 0u; _925 < _130._m1; _927 = _563, _926 = _543, _925++)
                    {
                        float _535 = spvFSub(spvFMul(spvFMul(_213._m0[_869 + _925], _760), _767), _511);
                        float _539 = spvFMul(_535, _535);
                        _543 = spvFAdd(_926, _539);
                        float _937;
                        if (_926 >= _539)
                        {
                            _937 = spvFAdd(spvFSub(_926, _543), _539);
                        }
                        else
                        {
                            _937 = spvFAdd(spvFSub(_539, _543), _926);
                        }
                        _563 = spvFAdd(_927, _937);
                    }
                    _1048 = float2(_760, _767);
                    _973 = _926 + _927;
                    _956 = float2(as_type<float>(uint((_921 / (-2)) + 127) << uint(23)), as_type<float>(uint(127 - _751) << uint(23)));
                    _948 = _511;
                }
                else
                {
                    _1048 = _878;
                    _973 = _975;
                    _956 = _959;
                    _948 = _950;
                }
                _1047 = _1048;
                _1032 = _911 ? false : _911;
                _972 = _973;
                _955 = _956;
                _947 = _948;
            }
            _382._m0[_869] = spvFMul(spvFMul(_947, _955.x), _955.y);
            _389._m0[_869] = fast::max(spvFMul(spvFMul(spvFMul(spvFMul(_972 * _139, _955.x), _955.y), _955.x), _955.y), 0.0);
            _1069 = _955;
            _1050 = _972;
            _1049 = _947;
            _1034 = _1047;
            _1031 = _1032;
        }
    }
}

