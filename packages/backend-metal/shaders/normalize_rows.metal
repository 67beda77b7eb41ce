// GENERATED from @cwts/backend-vulkan/shaders/normalize_rows.spv (sha256 dfec4529076fb758134dbb9b4533ada03457ea70dd1c22765abedb55d7c7fbf8) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
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

struct _193
{
    float _m0[1];
};

constant uint _215_tmp [[function_constant(0)]];
constant uint _215 = is_function_constant_defined(_215_tmp) ? _215_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_215, 1u, 1u);

kernel void main0(constant _42& _44 [[buffer(0)]], const device _59& _61 [[buffer(1)]], device _193& _195 [[buffer(2)]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    uint _31 = gl_NumWorkGroups.x * _30;
    for (uint _224 = gl_GlobalInvocationID.x; _224 < _44._m0; _224 += _31)
    {
        uint _56 = _224 * _44._m1;
        float _226;
        bool _227;
        bool _228;
        _228 = false;
        _227 = false;
        _226 = 0.0;
        bool _100;
        float _103;
        bool _95;
        for (uint _225 = 0u; _225 < _44._m1; _228 = _95, _227 = _100, _226 = _103, _225++)
        {
            uint _85 = _56 + _225;
            if (!_228)
            {
                _95 = (as_type<uint>(_61._m0[_85]) & 2139095040u) == 2139095040u;
            }
            else
            {
                _95 = _228;
            }
            _100 = _227 || (_61._m0[_85] != _61._m0[_56]);
            _103 = _226 + _61._m0[_85];
        }
        float _111 = _226 / float(_44._m1);
        float _234;
        if (_227 && (!_228))
        {
            float _235;
            _235 = 0.0;
            for (uint _229 = 0u; _229 < _44._m1; )
            {
                float _136 = _61._m0[_56 + _229] - _111;
                _235 = fma(_136, _136, _235);
                _229++;
                continue;
            }
            _234 = _235;
        }
        else
        {
            _234 = 0.0;
        }
        float _236;
        if (((!_227) || _228) || (_234 <= 0.0))
        {
            _236 = 0.0;
        }
        else
        {
            _236 = rsqrt(_234);
        }
        for (uint _237 = 0u; _237 < _44._m1; _237++)
        {
            float _243;
            if (_236 == 0.0)
            {
                _243 = 0.0;
            }
            else
            {
                _243 = (_61._m0[_56 + _237] - _111) * _236;
            }
            if (_44._m2 != 0u)
            {
                _195._m0[(_237 * _44._m0) + _224] = _243;
            }
            else
            {
                _195._m0[_56 + _237] = _243;
            }
        }
    }
}

