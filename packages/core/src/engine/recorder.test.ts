import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineInstrument } from '../domain/instrument.js';
import type { MarketEvent } from '../domain/events.js';
import type { InstrumentTrading } from '../domain/trading-status.js';
import { Recorder, RECORDING_KIND, recordingTargetProblem } from './recorder.js';

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

  it("records each pair's trading status at load in the header (a recording without it replayed a halted pair as open)", () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-rec-')), 'r.jsonl');
    const rec = new Recorder(path);
    const postOnly = defineInstrument({ exchange: 'sim', symbol: 'NEW-USD', base: 'NEW', quote: 'USD', tickSize: '0.01', lotSize: '0.01', trading: 'post_only', venueStatus: 'post_only' });
    rec.open([I, postOnly]);
    rec.close();
    const header = JSON.parse(readFileSync(path, 'utf8').split('\n')[0]!);
    expect(header.instruments).toEqual([
      { exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001', minNotional: '0' },
      { exchange: 'sim', symbol: 'NEW-USD', base: 'NEW', quote: 'USD', tickSize: '0.01', lotSize: '0.01', minNotional: '0', trading: 'post_only', venueStatus: 'post_only' },
    ]);
  });

  it('records a status change during the run right before the next market event of the pair, with its times', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-rec-')), 'r.jsonl');
    const rec = new Recorder(path);
    let status: InstrumentTrading | undefined;
    const asked: string[] = [];
    rec.open([I], (exchange, symbol) => {
      asked.push(`${exchange}:${symbol}`);
      return status;
    });
    rec.write(trade(1)); // unknown: the status at load (none: open) applies, nothing to record
    status = 'open';
    rec.write(trade(2));
    status = 'closed'; // the venue halted the pair (a re-read found HALT)
    rec.write({ type: 'feed_status', exchange: 'sim', symbol: 'BTCUSDT', state: 'stale', reason: 'x', ts: 3 });
    rec.write(trade(4));
    rec.write(trade(5));
    rec.write({ type: 'trade', exchange: 'sim', symbol: 'ETHUSDT', price: 1, qty: 1, side: 'buy', tradeId: 'e', ts: 6, recvTs: 6 } as MarketEvent); // not recorded as an instrument
    status = 'open';
    // a Binance spot REST snapshot has no venue time: replayed at its arrival time
    rec.write({ type: 'book_snapshot', exchange: 'sim', symbol: 'BTCUSDT', seq: 1, reason: 'resync', bids: [], asks: [], ts: 0, recvTs: 7 } as MarketEvent);
    rec.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type === 'trading_status' ? `${l.trading}@${l.ts}/${l.recvTs}` : `${l.type}@${l.ts}`)).toEqual([
      'trade@1', 'trade@2', 'feed_status@3', 'closed@4/4', 'trade@4', 'trade@5', 'trade@6', 'open@7/7', 'book_snapshot@0',
    ]);
    expect(lines[3]).toEqual({ type: 'trading_status', exchange: 'sim', symbol: 'BTCUSDT', trading: 'closed', ts: 4, recvTs: 4 });
    expect(rec.events).toBe(6); // market events only
    expect(asked).not.toContain('sim:ETHUSDT');
  });

  it('a status reader that throws records nothing and never reaches the engine', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-rec-')), 'r.jsonl');
    const rec = new Recorder(path);
    rec.open([I], () => {
      throw new Error('boom');
    });
    expect(() => rec.write(trade(1))).not.toThrow();
    rec.close();
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(2);
  });
});

describe("recordingTargetProblem: never the journal's files, however they are reached", () => {
  // A stopped engine leaves no -wal, -shm or -journal beside its journal, and a journal not yet
  // created is not there at all: a link to one of them dangles. The recorder's open follows the
  // link and creates the file SQLite then reads as the journal's (a -wal of the recording's
  // lines, a rollback journal it would "replay" into the database) or as the journal itself.
  function stopped(): { dir: string; journal: string } {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-rec-journal-'));
    const journal = join(dir, 'prod.db');
    writeFileSync(journal, 'SQLite format 3\0');
    mkdirSync(join(dir, 'out'));
    return { dir, journal };
  }

  it("the -journal rollback file, by name and through a dangling link to it", () => {
    const { dir, journal } = stopped();
    expect(recordingTargetProblem(`${journal}-journal`, { journal, overwrite: true })).toMatch(/is the journal .*\(its -journal file\)/);
    const link = join(dir, 'out', 'rec.jsonl');
    symlinkSync(`${journal}-journal`, link);
    expect(recordingTargetProblem(link, { journal, overwrite: true })).toMatch(/is the journal .*\(its -journal file\)/);
  });

  it('a dangling link whose target is the -wal, or the journal itself before it exists', () => {
    const { dir, journal } = stopped();
    const toWal = join(dir, 'out', 'wal.jsonl');
    symlinkSync(`${journal}-wal`, toWal);
    expect(recordingTargetProblem(toWal, { journal })).toMatch(/is the journal .*\(its -wal file\)/);
    const absent = join(dir, 'next.db');
    const toJournal = join(dir, 'out', 'next.jsonl');
    symlinkSync(absent, toJournal);
    expect(recordingTargetProblem(toJournal, { journal: absent })).toMatch(/is the journal .*next\.db; a recording would overwrite it/);
    // a chain of links ends at the same file
    const chain = join(dir, 'out', 'chain.jsonl');
    symlinkSync(toWal, chain);
    expect(recordingTargetProblem(chain, { journal })).toMatch(/\(its -wal file\)/);
    expect(existsSync(`${journal}-wal`)).toBe(false);
  });

  it('the journal named through a dangling link: its -wal is beside the file SQLite will create', () => {
    const { dir } = stopped();
    mkdirSync(join(dir, 'fast'));
    const named = join(dir, 'live.db');
    symlinkSync(join(dir, 'fast', 'live.db'), named);
    expect(recordingTargetProblem(join(dir, 'fast', 'live.db-wal'), { journal: named })).toMatch(/\(its -wal file\)/);
    expect(recordingTargetProblem(join(dir, 'fast', 'live.db'), { journal: named })).toMatch(/is the journal /);
  });

  it('a link to a file of its own is fine', () => {
    const { dir, journal } = stopped();
    const link = join(dir, 'out', 'mine.jsonl');
    symlinkSync(join(dir, 'out', 'target.jsonl'), link);
    expect(recordingTargetProblem(link, { journal })).toBeUndefined();
  });
});
