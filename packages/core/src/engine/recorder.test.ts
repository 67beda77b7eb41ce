import { existsSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineInstrument } from '../domain/instrument.js';
import type { MarketEvent } from '../domain/events.js';
import { Recorder, RECORDING_KIND } from './recorder.js';

const I = defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const trade = (n: number): MarketEvent => ({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', price: 100 + n, qty: 1, side: 'buy', tradeId: String(n), ts: n, recvTs: n }) as MarketEvent;

describe('Recorder', () => {
  it('writes a header and the events as JSON lines', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-rec-')), 'r.jsonl');
    const rec = new Recorder(path);
    rec.open([I]);
    for (let n = 0; n < 3; n++) rec.write(trade(n));
    rec.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ kind: RECORDING_KIND, instruments: [{ symbol: 'BTCUSDT' }] });
    expect(lines.slice(1).map((l) => l.tradeId)).toEqual(['0', '1', '2']);
    expect(rec.events).toBe(3);
  });

  it('a write that fails mid-run (a full disk) ends the recording, reported once; it never throws at the engine', (ctx) => {
    // Linux's always-full device stands in for a full disk
    if (!existsSync('/dev/full')) ctx.skip('no /dev/full on this system (Linux has it) to stand in for a full disk');
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-rec-')), 'r.jsonl');
    const failures: string[] = [];
    const rec = new Recorder(path, (m) => failures.push(m));
    rec.open([I]);
    // from here every write fails with ENOSPC, as on a disk that filled up while recording
    (rec as unknown as { fd: number }).fd = openSync('/dev/full', 'w');
    const big = 'x'.repeat(70_000);
    expect(() => {
      for (let n = 0; n < 5; n++) rec.write({ ...trade(n), tradeId: `${n}${big}` } as MarketEvent);
      rec.flush();
      rec.close();
    }).not.toThrow();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/recording .*r\.jsonl stopped after 1 events: ENOSPC/);
    expect(rec.failure).toBe(failures[0]);
    // later events are not even buffered
    rec.write(trade(9));
    expect((rec as unknown as { buf: string[] }).buf).toEqual([]);
  });
});
