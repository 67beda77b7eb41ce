/**
 * validate-config ("exit 0 = usable") said valid on a host where better-sqlite3's addon was never
 * built (pnpm 10+ without `allowBuilds: better-sqlite3: true`), and `run` then failed at once
 * opening the journal. It is a host check like the compute probes: not made under --file-only,
 * which a CI machine without the build uses.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ANY_PORTS, simConfig } from '../../test/fixtures/sim-config.js';

vi.mock('better-sqlite3', () => {
  class Database {
    constructor() {
      throw new Error('Could not locate the bindings file. Tried:\n → /x/node_modules/better-sqlite3/build/better_sqlite3.node');
    }
  }
  return { default: Database };
});

const { validateConfigCommand } = await import('./validate.js');

describe('validate-config without the SQLite addon', () => {
  it('says invalid (exit 1) with the error and the fix; --file-only does not load it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-validate-sqlite-'));
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, simConfig('validate-sqlite', ANY_PORTS + `[journal]\npath = ${JSON.stringify(join(dir, 'j.db'))}\n`));
    const { CWTS_CONTROL_TOKEN: _, ...env } = process.env;
    const lines: string[] = [];
    expect(await validateConfigCommand({ config: cfg, env }, (l) => lines.push(l)), lines.join('\n')).toBe(1);
    expect(lines[0]).toMatch(/: invalid$/);
    expect(lines.join('\n')).toMatch(/error: better-sqlite3's native addon cannot be loaded \(Could not locate the bindings file\. Tried:\): `run` cannot open the journal, so it refuses to start; fix: .*allowBuilds:.*better-sqlite3: true/);
    const fileOnly: string[] = [];
    expect(await validateConfigCommand({ config: cfg, fileOnly: true, env }, (l) => fileOnly.push(l)), fileOnly.join('\n')).toBe(0);
    expect(fileOnly.join('\n')).not.toContain('better-sqlite3');
  }, 60_000);
});
