#!/usr/bin/env node
// Regenerates shaders/*.metal and shaders/manifest.json from @cwts/backend-vulkan's SPIR-V with
// spirv-cross (Debian: apt-get install spirv-cross). `--check` only reports staleness (exit 1).
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasSpirvCross, kernelBuffers, mslDir, shaderNames, spirvDir, staleness, translate } from './msl.mjs';

if (process.argv.includes('--check')) {
  const problems = staleness();
  if (problems.length > 0) {
    console.error(`stale Metal shaders (run node scripts/generate-msl.mjs):\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`Metal shaders are current${hasSpirvCross() ? '' : ' (hashes only: spirv-cross not installed)'}`);
  process.exit(0);
}
if (!hasSpirvCross()) {
  console.error('spirv-cross not found (Debian: apt-get install spirv-cross)');
  process.exit(1);
}
const dir = spirvDir();
mkdirSync(mslDir, { recursive: true });
const names = shaderNames(dir);
for (const f of readdirSync(mslDir)) if (f.endsWith('.metal') && !names.includes(f.slice(0, -6))) rmSync(join(mslDir, f));
const manifest = {};
for (const name of names) {
  const text = translate(join(dir, `${name}.spv`), name);
  writeFileSync(join(mslDir, `${name}.metal`), text);
  manifest[name] = { entry: 'main0', buffers: kernelBuffers(text), functionConstants: [...new Set([...text.matchAll(/\[\[function_constant\((\d+)\)\]\]/g)].map((m) => Number(m[1])))] };
}
writeFileSync(join(mslDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
console.log(`wrote ${names.length} Metal shaders to ${mslDir}${existsSync(join(mslDir, 'manifest.json')) ? ' and manifest.json' : ''}`);
