import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without declarations
import { buildGraph, checkRepo, findCycles, findLayerViolations } from '../scripts/import-graph.mjs';

// Known exceptions, empty since the architecture issue moved portfolio, risk state and the
// position check into risk/ and the engine's book store into microstructure/. The lists are
// exact: a new cycle or a new import against the direction fails (the lists only shrink).
const KNOWN_CYCLES: string[][] = [];
const KNOWN_VIOLATION_PREFIXES: string[] = [];

function tree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cwts-imports-'));
  for (const [name, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), body);
  }
  return dir;
}

describe('import graph', () => {
  it('finds a cycle made only of type imports, and ignores imports in comments', () => {
    const dir = tree({
      'src/a.ts': "import type { B } from './b.js';\nexport type A = { b?: B };\n",
      'src/b.ts': "import type { A } from './a.js';\nexport type B = { a?: A };\n",
      'src/c.ts': "// import { A } from './a.js';\n/* import './b.js' */\nexport const c = 1;\n",
    });
    const cycles = findCycles(buildGraph([path.join(dir, 'src')]));
    expect(cycles.map((c: string[]) => c.map((f) => path.basename(f)))).toEqual([['a.ts', 'b.ts']]);
  });

  it('finds a longer cycle through a folder index and a dynamic import', () => {
    const dir = tree({
      'src/x/index.ts': "export * from './x1.js';\n",
      'src/x/x1.ts': "import { y } from '../y.js';\nexport const x1 = y;\n",
      'src/y.ts': "export const y = 1;\nexport const load = () => import('./x/index.js');\n",
    });
    expect(findCycles(buildGraph([path.join(dir, 'src')])).length).toBe(1);
  });

  it('flags an import against the documented direction', () => {
    const dir = tree({
      'src/domain/a.ts': "import { e } from '../engine/e.js';\nexport const a = e;\n",
      'src/engine/e.ts': "import { d } from '../domain/d.js';\nexport const e = d;\n",
      'src/domain/d.ts': 'export const d = 1;\n',
    });
    const src = path.join(dir, 'src');
    expect(findLayerViolations(buildGraph([src]), src)).toEqual(['domain -> engine: domain/a.ts imports engine/e.ts']);
  });

  it('the repository has exactly the known cycles and direction violations (the list only shrinks)', () => {
    const r = checkRepo();
    expect(r.files).toBeGreaterThan(50);
    expect(r.cycles).toEqual(KNOWN_CYCLES);
    expect(r.violations).toEqual(KNOWN_VIOLATION_PREFIXES);
  });
});
