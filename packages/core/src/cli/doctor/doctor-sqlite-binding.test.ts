/**
 * pnpm 10+ skips better-sqlite3's install script unless it is approved (docs/native-packages.md),
 * and its addon is never built. `run` then fails at once with "journal ...: cannot open: Could not
 * locate the bindings file", while doctor PASSed journal-location: it loaded the addon only to
 * read an existing journal's writer, and a fresh host has none.
 *
 * Here better-sqlite3 is installed but its addon cannot be loaded (what a skipped install script
 * leaves): the constructor throws better-sqlite3's own error.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

vi.mock('better-sqlite3', () => {
  class Database {
    constructor() {
      throw new Error('Could not locate the bindings file. Tried:\n → /x/node_modules/better-sqlite3/build/better_sqlite3.node');
    }
  }
  return { default: Database };
});

const { checkJournalLocation } = await import('./deploy-checks.js');

describe('doctor journal-location without the SQLite addon', () => {
  it('FAILs a journal not created yet, naming the error and the pnpm approval that builds it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-doctor-sqlite-'));
    const cfg = { journal: { fsync: 'batch', batch_ms: 50 }, system: { name: 'desk' } } as unknown as Parameters<typeof checkJournalLocation>[0];
    const r = checkJournalLocation(cfg, join(dir, 'data'));
    expect(r.status).toBe('FAIL');
    expect(r.detail).toMatch(/better-sqlite3's native addon cannot be loaded \(Could not locate the bindings file\. Tried:\): `run` cannot open the journal/);
    // the dozen paths better-sqlite3 tried are left out of the one-line detail
    expect(r.detail).not.toContain('build/better_sqlite3.node');
    expect(r.fix).toContain('allowBuilds:');
    expect(r.fix).toContain('better-sqlite3: true');
  });
});
