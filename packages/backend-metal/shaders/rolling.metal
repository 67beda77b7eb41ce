// GENERATED from @cwts/backend-vulkan/shaders/rolling.spv (sha256 5bffc1c898336106536a82fab6b296c39f5c871b05f105d5869f1878eefe1fec) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
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

struct _218
{
    float _m0[1];
};

struct _404
{
    float _m0[1];
};

struct _411
{
    float _m0[1];
};

constant uint _622_tmp [[function_constant(0)]];
constant uint _622 = is_function_constant_defined(_622_tmp) ? _622_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_622, 1u, 1u);

kernel void main0(constant _128& _130 [[buffer(0)]], const device _218& _220 [[buffer(1)]], device _404& _406 [[buffer(2)]], device _411& _413 [[buffer(3)]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    uint _126 = gl_NumWorkGroups.x * _125;
    float _135 = float(_130._m1);
    float _139 = 1.0 / _135;
    uint _152 = ((_130._m0 + _130._m2) - 1u) / _130._m2;
    for (uint _894 = gl_GlobalInvocationID.x; _894 < _152; _894 += _126)
    {
        uint _169 = _894 * _130._m2;
        uint _177 = min((_169 + _130._m2), _130._m0);
        float _186 = float(_130._m2) * 0.00120000005699694156646728515625;
        uint _895;
        float2 _904;
        float2 _991;
        _991 = float2(1.0);
        _904 = float2(1.0);
        _895 = _169;
        uint _921;
        uint _931;
        bool _1065;
        float2 _1068;
        float _1084;
        float _1085;
        float _1086;
        float2 _1120;
        uint _897 = 0u;
        uint _898 = 0u;
        bool _902 = true;
        float _906 = 0.0;
        float _908 = 0.0;
        float _910 = 0.0;
        for (; _895 < _177; _991 = _1120, _910 = _1086, _908 = _1085, _906 = _1084, _904 = _1068, _902 = _1065, _898 = _931, _897 = _921, _895++)
        {
            uint _209 = _895 + _130._m1;
            uint _210 = _209 - 1u;
            uint _922;
            uint _932;
            bool _942;
            float _982;
            float _1008;
            float _1088;
            if (_895 != _169)
            {
                uint _227 = _895 - 1u;
                uint _240 = (_897 + uint((as_type<uint>(_220._m0[_210]) & 2139095040u) == 2139095040u)) - uint((as_type<uint>(_220._m0[_227]) & 2139095040u) == 2139095040u);
                uint _899;
                if (_220._m0[_210] == _220._m0[_209 - 2u])
                {
                    _899 = _898 + 1u;
                }
                else
                {
                    _899 = 1u;
                }
                bool _943;
                float _983;
                float _1009;
                float _1089;
                if (_240 != 0u)
                {
                    _1089 = _910;
                    _1009 = _908;
                    _983 = _906;
                    _943 = true;
                }
                else
                {
                    bool _944;
                    float _984;
                    float _1010;
                    float _1090;
                    if (!_902)
                    {
                        float _645 = spvFMul(spvFMul(_220._m0[_210], _904.x), _904.y);
                        float _656 = spvFMul(spvFMul(_220._m0[_227], _904.x), _904.y);
                        bool _945;
                        float _985;
                        float _1011;
                        float _1091;
                        if (!(abs(_645) <= 4294967296.0))
                        {
                            _1091 = _910;
                            _1011 = _908;
                            _985 = _906;
                            _945 = true;
                        }
                        else
                        {
                            float _290 = spvFAdd(_906, spvFMul(spvFSub(_645, _656), _139));
                            float _294 = _645 - _656;
                            float _301 = ((_645 - _290) + _656) - _906;
                            float _306 = fma(_294, _301, _908);
                            float _309 = fast::max(_910, _306);
                            bool _946;
                            if (abs(_294 * _301) > (16.0 * fast::max(_306, 0.0)))
                            {
                                _946 = true;
                            }
                            else
                            {
                                bool _947;
                                if (fma(_135 * _290, _290, _306) < (_309 * _186))
                                {
                                    _947 = true;
                                }
                                else
                                {
                                    bool _337 = abs(_290) < 2.3283064365386962890625e-10;
                                    bool _345;
                                    if (_337)
                                    {
                                        _345 = _306 < (5.4210105393100953915108285077057e-20 * _135);
                                    }
                                    else
                                    {
                                        _345 = _337;
                                    }
                                    _947 = _345 ? true : _902;
                                }
                                _946 = _947;
                            }
                            _1091 = _309;
                            _1011 = _306;
                            _985 = _290;
                            _945 = _946;
                        }
                        _1090 = _1091;
                        _1010 = _1011;
                        _984 = _985;
                        _944 = _945;
                    }
                    else
                    {
                        _1090 = _910;
                        _1010 = _908;
                        _984 = _906;
                        _944 = _902;
                    }
                    _1089 = _1090;
                    _1009 = _1010;
                    _983 = _984;
                    _943 = _944;
                }
                _1088 = _1089;
                _1008 = _1009;
                _982 = _983;
                _942 = _943;
                _932 = _899;
                _922 = _240;
            }
            else
            {
                _1088 = _910;
                _1008 = _908;
                _982 = _906;
                _942 = _902;
                _932 = _898;
                _922 = _897;
            }
            if (_895 == _169)
            {
                uint _930;
                uint _940;
                _940 = 1u;
                _930 = _922;
                float _374;
                uint _1103;
                uint _1105;
                uint _920 = 0u;
                float _1016 = _220._m0[_895];
                for (; _920 < _130._m1; _1016 = _374, _940 = _1105, _930 = _1103, _920++)
                {
                    _374 = _220._m0[_895 + _920];
                    if ((as_type<uint>(_374) & 2139095040u) == 2139095040u)
                    {
                        _1103 = _930 + uint(1);
                    }
                    else
                    {
                        _1103 = _930;
                    }
                    if (_920 > 0u)
                    {
                        uint _1018;
                        if (_374 == _1016)
                        {
                            _1018 = _940 + 1u;
                        }
                        else
                        {
                            _1018 = 1u;
                        }
                        _1105 = _1018;
                    }
                    else
                    {
                        _1105 = _940;
                    }
                }
                _931 = _940;
                _921 = _930;
            }
            else
            {
                _931 = _932;
                _921 = _922;
            }
            if (_921 != 0u)
            {
                _406._m0[_895] = as_type<float>(0x7fc00000u /* nan */);
                _413._m0[_895] = as_type<float>(0x7fc00000u /* nan */);
                _1120 = _991;
                _1086 = _1088;
                _1085 = _1008;
                _1084 = _982;
                _1068 = _904;
                _1065 = _942;
                continue;
            }
            float _979;
            float2 _987;
            float _1005;
            bool _1066;
            float2 _1082;
            float _1100;
            if (_931 >= _130._m1)
            {
                float _430 = abs(_220._m0[_210]);
                int _975;
                if (_430 == 0.0)
                {
                    _975 = 0;
                }
                else
                {
                    _975 = 127 - int(max(((as_type<uint>(_430) >> uint(23)) & 255u), 1u));
                }
                int _687 = _975 / 2;
                float _701 = as_type<float>(uint(_687 + 127) << uint(23));
                int _692 = _975 - _687;
                float _708 = as_type<float>(uint(_692 + 127) << uint(23));
                _1100 = 0.0;
                _1082 = float2(_701, _708);
                _1066 = false;
                _1005 = 0.0;
                _987 = float2(as_type<float>(uint((_975 / (-2)) + 127) << uint(23)), as_type<float>(uint(127 - _692) << uint(23)));
                _979 = spvFMul(spvFMul(_220._m0[_210], _701), _708);
            }
            else
            {
                float _980;
                float2 _988;
                float _1006;
                float2 _1083;
                float _1101;
                if (_942)
                {
                    float _952;
                    _952 = 0.0;
                    for (uint _951 = 0u; _951 < _130._m1; )
                    {
                        _952 = fast::max(_952, abs(_220._m0[_895 + _951]));
                        _951++;
                        continue;
                    }
                    int _953;
                    if (_952 == 0.0)
                    {
                        _953 = 0;
                    }
                    else
                    {
                        _953 = 127 - int(max(((as_type<uint>(_952) >> uint(23)) & 255u), 1u));
                    }
                    int _772 = _953 / 2;
                    float _786 = as_type<float>(uint(_772 + 127) << uint(23));
                    int _777 = _953 - _772;
                    float _793 = as_type<float>(uint(_777 + 127) << uint(23));
                    float _955;
                    float _956;
                    _956 = 0.0;
                    _955 = 0.0;
                    float _505;
                    float _527;
                    for (uint _954 = 0u; _954 < _130._m1; _956 = _527, _955 = _505, _954++)
                    {
                        float _832 = spvFMul(spvFMul(_220._m0[_895 + _954], _786), _793);
                        _505 = spvFAdd(_955, _832);
                        float _972;
                        if (abs(_955) >= abs(_832))
                        {
                            _972 = spvFAdd(spvFSub(_955, _505), _832);
                        }
                        else
                        {
                            _972 = spvFAdd(spvFSub(_832, _505), _955);
                        }
                        _527 = spvFAdd(_956, _972);
                    }
                    float _535 = spvFMul(spvFAdd(_955, _956), _139);
                    float _958;
                    float _959;
                    _959 = 0.0;
                    _958 = 0.0;
                    float _567;
                    float _587;
                    for (uint _957 = 0u; _957 < _130._m1; _959 = _587, _958 = _567, _957++)
                    {
                        float _559 = spvFSub(spvFMul(spvFMul(_220._m0[_895 + _957], _786), _793), _535);
                        float _563 = spvFMul(_559, _559);
                        _567 = spvFAdd(_958, _563);
                        float _969;
                        if (_958 >= _563)
                        {
                            _969 = spvFAdd(spvFSub(_958, _567), _563);
                        }
                        else
                        {
                            _969 = spvFAdd(spvFSub(_563, _567), _958);
                        }
                        _587 = spvFAdd(_959, _969);
                    }
                    float _593 = _958 + _959;
                    _1101 = fast::max(_593, 0.0);
                    _1083 = float2(_786, _793);
                    _1006 = _593;
                    _988 = float2(as_type<float>(uint((_953 / (-2)) + 127) << uint(23)), as_type<float>(uint(127 - _777) << uint(23)));
                    _980 = _535;
                }
                else
                {
                    _1101 = _1088;
                    _1083 = _904;
                    _1006 = _1008;
                    _988 = _991;
                    _980 = _982;
                }
                _1100 = _1101;
                _1082 = _1083;
                _1066 = _942 ? false : _942;
                _1005 = _1006;
                _987 = _988;
                _979 = _980;
            }
            _406._m0[_895] = spvFMul(spvFMul(_979, _987.x), _987.y);
            _413._m0[_895] = fast::max(spvFMul(spvFMul(spvFMul(spvFMul(_1005 * _139, _987.x), _987.y), _987.x), _987.y), 0.0);
            _1120 = _987;
            _1086 = _1100;
            _1085 = _1005;
            _1084 = _979;
            _1068 = _1082;
            _1065 = _1066;
        }
    }
}

