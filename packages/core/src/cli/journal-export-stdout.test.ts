/**
 * The CLI masks what it prints with the loaded config's redactor, which also holds the values of
 * non-secret `${VAR}`s (a symbol, a name). `journal export` to stdout is the journal's data, read
 * back by `journal import`: it must be written as the journal holds it, byte for byte what
 * `--out` writes, not with BTCUSDT shown as `${CWTS_TEST_EXPORT_SYMBOL}`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { outputRedactor } from '../config/index.js';
import { JournalStore } from '../journal/store.js';
import { simConfig } from '../../test/fixtures/sim-config.js';
import { main } from './main.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-export-stdout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; stdout: string }> {
  const written: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (written.push(String(s)), true));
  try {
    return { code: await main(['node', 'cwts-ultra', ...args]), stdout: written.join('') };
  } finally {
    spy.mockRestore();
  }
}

describe('journal export --config to stdout', () => {
  it("writes the records unmasked (the config's ${VAR} values are data there), as --out does", async () => {
    const db = join(dir, 'j.db');
    const s = JournalStore.open(db);
    s.append({ t: 'order', order: { exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 't', clientOrderId: 'cw-1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1, updatedTs: 1 } as never, ts: 1 });
    s.flush();
    s.close();
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, simConfig('exportstdout', `[journal]\npath = ${JSON.stringify(db)}\n`).replace('symbols = ["BTCUSDT"]', 'symbols = ["${CWTS_TEST_EXPORT_SYMBOL}"]'));
    process.env.CWTS_TEST_EXPORT_SYMBOL = 'BTCUSDT';
    try {
      const { code, stdout } = await cli('journal', 'export', '--config', cfg);
      expect(code).toBe(0);
      // the value is masked in what the CLI says...
      expect(outputRedactor.redact('BTCUSDT')).toBe('${CWTS_TEST_EXPORT_SYMBOL}');
      // ...not in the data
      expect(stdout).toContain('"symbol":"BTCUSDT"');
      const file = join(dir, 'e.jsonl');
      expect(await cli('journal', 'export', '--config', cfg, '--out', file)).toMatchObject({ code: 0 });
      expect(stdout).toBe(readFileSync(file, 'utf8'));
    } finally {
      delete process.env.CWTS_TEST_EXPORT_SYMBOL;
    }
  });
});
