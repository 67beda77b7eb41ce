#!/usr/bin/env node
// Import graph checks: file-level import cycles (type-only imports included, since
// `import type` cycles vanish from dist/ but still tangle the source) and imports against the
// documented dependency direction of @cwts/core's folders (docs/architecture.md).
//
// A regex scanner rather than madge/dependency-cruiser: those need the TS 5 JS API or Node 22,
// and relative specifiers in this repo are always literal strings ending in `.js`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Which core folders each core folder may import. Same-folder imports are always allowed.
 * `index.ts` (the root barrel) may import anything. Order follows the documented direction:
 * domain <- contracts <- observability/config/di/plugins <- adapter-kit, microstructure,
 * compute, detectors, risk, journal <- services (tokens of core services) <- engine <- reports <-
 * cli; testing sits beside engine for the suites.
 */
export const CORE_LAYERS = {
  domain: [],
  contracts: ['domain'],
  observability: ['domain', 'contracts'],
  config: ['domain', 'contracts'],
  di: ['domain', 'contracts', 'observability'],
  plugins: ['domain', 'contracts', 'observability', 'config', 'di'],
  microstructure: ['domain', 'contracts', 'observability'],
  compute: ['domain', 'contracts', 'observability', 'config'],
  'adapter-kit': ['domain', 'contracts', 'observability', 'config', 'microstructure'],
  detectors: ['domain', 'contracts', 'observability', 'config', 'di', 'plugins', 'microstructure', 'compute'],
  risk: ['domain', 'contracts', 'observability', 'config', 'di', 'plugins', 'microstructure', 'compute'],
  // microstructure: the SPSC ring that hands records to the journal's writer thread.
  journal: ['domain', 'contracts', 'observability', 'config', 'microstructure'],
  routing: ['domain', 'contracts', 'observability', 'config'],
  // Venue intake on worker threads (docs/architecture.md, "Venue intake").
  intake: ['domain', 'contracts', 'observability', 'config', 'microstructure', 'adapter-kit'],
  // Tokens of core services typed by the folders above (type-only imports).
  services: ['domain', 'contracts', 'observability', 'config', 'di', 'microstructure', 'compute', 'risk', 'journal'],
  engine: ['domain', 'contracts', 'observability', 'config', 'di', 'plugins', 'microstructure', 'compute', 'adapter-kit', 'detectors', 'risk', 'journal', 'routing', 'services', 'intake'],
  testing: ['domain', 'contracts', 'observability', 'config', 'di', 'plugins', 'microstructure', 'compute', 'adapter-kit', 'detectors', 'risk', 'routing', 'services', 'intake'],
  reports: ['domain', 'contracts', 'observability', 'config', 'microstructure', 'risk', 'journal', 'engine'],
  // The cluster contract and its loader (docs/scale-out.md): beside reports, above engine.
  cluster: ['domain', 'contracts', 'observability', 'config', 'plugins', 'microstructure', 'risk', 'engine'],
  cli: ['domain', 'contracts', 'observability', 'config', 'di', 'plugins', 'microstructure', 'compute', 'adapter-kit', 'detectors', 'risk', 'journal', 'routing', 'services', 'engine', 'reports', 'cluster', 'intake'],
};

const IMPORT_RE = /(?:^|[;\s])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function stripComments(src) {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"])\/\/.*$/gm, '$1');
}

function listSources(dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'dist' && e.name !== '__fixtures__') listSources(p, out);
    } else if (/\.(ts|mts)$/.test(e.name) && !/\.d\.ts$/.test(e.name) && !/\.test\.ts$/.test(e.name)) {
      out.push(p);
    }
  }
  return out;
}

function resolveSpecifier(fromFile, spec) {
  const base = path.resolve(path.dirname(fromFile), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), base, `${base}.ts`, path.join(base, 'index.ts')];
  return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile()) ?? null;
}

/** Edges file -> imported files for every non-test source file under the given roots. */
export function buildGraph(srcRoots) {
  const graph = new Map();
  for (const root of srcRoots) {
    for (const file of listSources(root)) {
      const src = stripComments(fs.readFileSync(file, 'utf8'));
      const targets = new Set();
      for (const m of src.matchAll(IMPORT_RE)) {
        const target = resolveSpecifier(file, m[1] ?? m[2]);
        if (target) targets.add(target);
      }
      graph.set(file, [...targets]);
    }
  }
  return graph;
}

/** Strongly connected components with more than one file (or a self-import): the cycles. */
export function findCycles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const cycles = [];
  // Iterative Tarjan: the graph is small, but recursion depth should not depend on it.
  for (const start of graph.keys()) {
    if (idx.has(start)) continue;
    const work = [[start, 0]];
    idx.set(start, index); low.set(start, index); index++; stack.push(start); onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const [v, i] = frame;
      const succ = graph.get(v) ?? [];
      if (i < succ.length) {
        frame[1]++;
        const w = succ[i];
        if (!graph.has(w)) continue;
        if (!idx.has(w)) {
          idx.set(w, index); low.set(w, index); index++; stack.push(w); onStack.add(w);
          work.push([w, 0]);
        } else if (onStack.has(w)) {
          low.set(v, Math.min(low.get(v), idx.get(w)));
        }
      } else {
        work.pop();
        if (work.length > 0) {
          const parent = work[work.length - 1][0];
          low.set(parent, Math.min(low.get(parent), low.get(v)));
        }
        if (low.get(v) === idx.get(v)) {
          const comp = [];
          let w;
          do { w = stack.pop(); onStack.delete(w); comp.push(w); } while (w !== v);
          if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(comp.sort());
        }
      }
    }
  }
  return cycles;
}

/** Imports between core folders that the layer table does not allow, as "from -> to (file)". */
export function findLayerViolations(graph, coreSrc, layers = CORE_LAYERS) {
  const out = [];
  for (const [file, targets] of graph) {
    const rel = path.relative(coreSrc, file);
    if (rel.startsWith('..')) continue;
    const from = rel.split(path.sep)[0];
    if (!rel.includes(path.sep)) continue; // the root barrel
    for (const t of targets) {
      const trel = path.relative(coreSrc, t);
      if (trel.startsWith('..') || !trel.includes(path.sep)) continue;
      const to = trel.split(path.sep)[0];
      if (to === from) continue;
      const allowed = layers[from];
      if (!allowed) { out.push(`${from} (unknown folder: add it to CORE_LAYERS) -> ${to}: ${rel}`); continue; }
      if (!allowed.includes(to)) out.push(`${from} -> ${to}: ${rel} imports ${trel}`);
    }
  }
  return out.sort();
}

export function repoRoot() {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
}

export function sourceRoots(root = repoRoot()) {
  const roots = [];
  for (const group of ['packages', 'examples']) {
    const dir = path.join(root, group);
    if (!fs.existsSync(dir)) continue;
    for (const pkg of fs.readdirSync(dir)) roots.push(path.join(dir, pkg, 'src'));
  }
  return roots;
}

export function checkRepo(root = repoRoot()) {
  const graph = buildGraph(sourceRoots(root));
  const rel = (f) => path.relative(root, f);
  return {
    files: graph.size,
    cycles: findCycles(graph).map((c) => c.map(rel)),
    violations: findLayerViolations(graph, path.join(root, 'packages/core/src')),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = checkRepo();
  console.log(`${r.files} source files scanned`);
  for (const c of r.cycles) console.log(`cycle: ${c.join(' -> ')}`);
  for (const v of r.violations) console.log(`direction: ${v}`);
  if (r.cycles.length === 0 && r.violations.length === 0) console.log('no cycles, no imports against the documented direction');
  process.exitCode = r.cycles.length + r.violations.length > 0 ? 1 : 0;
}
