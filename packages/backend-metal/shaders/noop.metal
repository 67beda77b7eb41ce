// GENERATED from @cwts/backend-vulkan/shaders/noop.spv (sha256 e11beeda157b2ad5e0de8624758fe192f9b54479fe742d7daac471c107313472) by spirv-cross --msl --msl-version 20100. Do not edit: run `node scripts/generate-msl.mjs`.
#include <metal_stdlib>
#include <simd/simd.h>

using namespace metal;

constant uint3 gl_WorkGroupSize [[maybe_unused]] = uint3(1u);

kernel void main0()
{
}

