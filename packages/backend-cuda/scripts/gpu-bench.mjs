#!/usr/bin/env node
// Device timings of the CUDA (or, with --backend rocm, ROCm) backend as one JSON object on
// stdout (scripts/device-figures.mjs). Needs the built addon and dist/.
import { deviceFigures } from './device-figures.mjs';

const which = process.argv.includes('--backend') ? process.argv[process.argv.indexOf('--backend') + 1] : 'cuda';
// In the repository the ROCm package sits next to this one (it depends on us, not we on it).
const mod = which === 'rocm' ? await import('../../backend-rocm/dist/index.js') : await import('../dist/index.js');
const provider = which === 'rocm' ? mod.rocmProvider : mod.cudaProvider;

const out = { backend: which, date: new Date().toISOString() };
const probe = await provider.probe();
out.probe = probe;
if (!probe.available) {
  console.log(JSON.stringify(out, null, 2));
  process.exit(2);
}
const backend = await provider.create({});
Object.assign(out, await deviceFigures(backend));
await backend.dispose();
console.log(JSON.stringify(out, null, 2));
