// GENERATED from @cwts/backend-vulkan/shaders/mcvar.spv (sha256 c7334ee9ee672af73570721a09d8e0f49be1d7fce56d94a56d4239f3fa8ac8bb) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

struct _41
{
    uint _m0;
    uint _m1;
};

constant uint _99_tmp [[function_constant(0)]];
constant uint _99 = is_function_constant_defined(_99_tmp) ? _99_tmp : 64u;

struct _111
{
    uint _m0;
    uint _m1;
    uint _m2;
    uint _m3;
    uint _m4;
    uint _m5;
};

struct _227
{
    float _m0[1];
};

struct _268
{
    float _m0[1];
};

constant uint _277_tmp [[function_constant(0)]];
constant uint _277 = is_function_constant_defined(_277_tmp) ? _277_tmp : 1u;
constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(_277, 1u, 1u);

kernel void main0(constant _111& _113 [[buffer(0)]], const device _227& _229 [[buffer(1)]], device _268& _270 [[buffer(2)]], uint3 gl_NumWorkGroups [[threadgroups_per_grid]], uint3 gl_GlobalInvocationID [[thread_position_in_grid]])
{
    uint _100 = gl_NumWorkGroups.x * _99;
    for (uint _347 = gl_GlobalInvocationID.x; _347 < _113._m0; _347 += _100)
    {
        uint _123 = _113._m5 + _347;
        float _350;
        _350 = 0.0;
        float _365;
        for (uint _348 = 0u; _348 < _113._m1; _350 = _365, _348++)
        {
            uint _351;
            _365 = _350;
            _351 = 0u;
            float _363;
            uint _145;
            uint _148;
            for (;;)
            {
                _145 = _351 * 4u;
                _148 = _113._m2;
                if (_145 < _148)
                {
                    uint4 _354;
                    uint2 _369;
                    _369 = uint2(_113._m3, _113._m4);
                    _354 = uint4(_123, _348, _351, 0u);
                    for (int _353 = 0; _353 < 10; )
                    {
                        _41 _293;
                        _293._m0 = 3528531795u * _354.x;
                        _293._m1 = mulhi(3528531795u, _354.x);
                        _41 _298;
                        _298._m0 = 3449720151u * _354.z;
                        _298._m1 = mulhi(3449720151u, _354.z);
                        uint _306 = _369.x;
                        uint _314 = _369.y;
                        _369 += uint2(2654435769u, 3144134277u);
                        _354 = uint4((_298._m1 ^ _354.y) ^ _306, _298._m0, (_293._m1 ^ _354.w) ^ _314, _293._m0);
                        _353++;
                        continue;
                    }
                    _363 = _365;
                    float _387;
                    for (uint _355 = 0u; _355 < 2u; _363 = _387, _355++)
                    {
                        uint _178 = _145 + (_355 * 2u);
                        if (_178 >= _148)
                        {
                            break;
                        }
                        bool _188 = _355 == 0u;
                        uint _358;
                        if (_188)
                        {
                            _358 = _354.x;
                        }
                        else
                        {
                            _358 = _354.z;
                        }
                        uint _360;
                        if (_188)
                        {
                            _360 = _354.y;
                        }
                        else
                        {
                            _360 = _354.w;
                        }
                        float _225 = 6.283185482025146484375 * fma(float(_360) + 0.5, 2.3283064365386962890625e-10, -0.5);
                        float _235 = -sqrt(fast::max((-2.0) * log((float(_358) + 0.5) * 2.3283064365386962890625e-10), 0.0));
                        float _241 = fma(_229._m0[_178], _235 * cos(_225), _363);
                        uint _243 = _178 + 1u;
                        if (_243 < _148)
                        {
                            _387 = fma(_229._m0[_243], _235 * sin(_225), _241);
                        }
                        else
                        {
                            _387 = _241;
                        }
                    }
                    _365 = _363;
                    _351++;
                    continue;
                }
                else
                {
                    break;
                }
            }
        }
        _270._m0[_347] = _350;
    }
}

