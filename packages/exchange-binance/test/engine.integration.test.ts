/**
 * Acceptance: `cwts-ultra run` against the local Binance server, one scenario per test
 * (normal flow, a sequence gap, a dropped connection, malformed frames). Each run must end with
 * /status showing the venue's true top-10 book and SYNCED, cwts_book_resyncs_total counting
 * each resync, and every trade recorded once in the --record file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SYM, config, counterSum, getJson, startRun, stopRun, until, type Run } from './app-run.js';
import { scrapeUntil } from '@cwts/core/testing';
import { FakeBinance } from './fake-binance.js';

const canon = (levels: [string, string][]) => levels.map(([p, q]) => [String(Number(p)), String(Number(q))]);

describe('cwts-ultra run against the local Binance server', () => {
  let fake: FakeBinance | undefined;
  let run: Run | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let dir = '';

  afterEach(async () => {
    if (ticker) clearInterval(ticker);
    if (run) await stopRun(run);
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    fake = undefined;
    run = undefined;
  });

  const scenarios: { name: string; act: (f: FakeBinance) => void; resyncs: { reason: string; min: number } | undefined; errors?: number; inline?: boolean }[] = [
    { name: 'normal flow', act: () => {}, resyncs: undefined },
    { name: 'a sequence gap', act: (f) => f.skipSequence(SYM), resyncs: { reason: 'sequence_gap', min: 1 } },
    { name: 'a dropped connection', act: (f) => f.dropConnections(), resyncs: { reason: 'reconnect', min: 1 } },
    { name: 'malformed frames', act: (f) => { f.sendRaw('{"e":"depthUpdate","s":"BTC'); f.sendRaw('garbage'); f.sendRaw('{"unknown":true}'); }, resyncs: { reason: 'invalid_data', min: 1 }, errors: 3 }, // a depth update cut off, and text that may have been one: the book resyncs
    // [performance] intake = "inline": socket, parsing and depth sync on the engine thread (the default is a worker thread)
    { name: 'a sequence gap, intake inline', act: (f) => f.skipSequence(SYM), resyncs: { reason: 'sequence_gap', min: 1 }, inline: true },
    { name: 'malformed frames, intake inline', act: (f) => { f.sendRaw('{"e":"depthUpdate","s":"BTC'); f.sendRaw('garbage'); f.sendRaw('{"unknown":true}'); }, resyncs: { reason: 'invalid_data', min: 1 }, errors: 3, inline: true },
  ];

  for (const sc of scenarios) {
    it(`ends SYNCED with the true top-10 book after ${sc.name}`, async () => {
      dir = mkdtempSync(join(tmpdir(), 'cwts-binance-'));
      fake = await FakeBinance.start({ seed: 5 });
      const f = fake;
      const record = join(dir, 'rec.jsonl');
      run = await startRun(config(dir, f, sc.inline ? '\n[performance]\nintake = "inline"\n' : ''), record);
      const status = () => getJson(`http://127.0.0.1:${run!.healthPort}/status`);
      const book = async () => (await status()).books.find((b: any) => b.exchange === 'binance' && b.symbol === SYM);
      // the venue is live: updates and trades keep coming (trades are counted from SYNCED on: before
      // that the app may not be subscribed yet, and an undelivered trade is lost, as on Binance)
      let trades = 0;
      let counting = false;
      ticker = setInterval(() => {
        f.step(SYM, 1);
        if (f.books.get(SYM)!.lastUpdateId % 4 === 0) {
          const t = f.truth(SYM, 1);
          f.trade(SYM, { price: t.asks[0]![0], qty: '0.00100000', side: 'buy' });
          if (counting) trades++;
        }
      }, 10);
      await until(async () => (await book())?.state === 'SYNCED', 'SYNCED', 60_000);
      const deliveredAtSync = f.tradesDelivered;
      counting = true;
      sc.act(f);
      await new Promise((r) => setTimeout(r, 300));
      // Binance's procedure asks for a snapshot on the first update after a resync (or a
      // reconnect, which can take a while on a loaded machine): the venue stays live until the
      // resync is done and the book is SYNCED again, and only then goes quiet
      await until(async () => {
        const b = await book();
        return b?.state === 'SYNCED' && (sc.resyncs === undefined || b.resyncs >= sc.resyncs.min);
      }, 'SYNCED again after the scenario', 60_000);
      clearInterval(ticker);
      ticker = undefined;
      // quiet venue: the book must converge on the truth
      await until(async () => {
        const b = await book();
        const t = f.truth(SYM, 10);
        return b?.state === 'SYNCED' && JSON.stringify(canon(b.bids)) === JSON.stringify(canon(t.bids)) && JSON.stringify(canon(b.asks)) === JSON.stringify(canon(t.asks));
      }, 'the true top-10 book', 60_000);
      const b = await book();
      expect(b.bids).toHaveLength(10);
      expect(b.asks).toHaveLength(10);
      // /metrics is a snapshot up to 250 ms old: scrape until it has caught up with /status
      const metrics = await scrapeUntil(`http://127.0.0.1:${run.metricsPort}/metrics`, (m) =>
        counterSum(m, 'cwts_book_resyncs_total') === b.resyncs &&
        (!sc.resyncs || counterSum(m, 'cwts_book_resyncs_total', `reason="${sc.resyncs.reason}"`) >= sc.resyncs.min) &&
        counterSum(m, 'cwts_feed_errors_total', 'exchange="binance"') >= (sc.errors ?? 0));
      const resyncLines = metrics.split('\n').filter((l) => l.startsWith('cwts_book_resyncs_total{'));
      const count = (reason: string) => resyncLines.filter((l) => l.includes(`reason="${reason}"`)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
      const total = resyncLines.reduce((s, l) => s + Number(l.split(' ').pop()), 0);
      if (sc.resyncs) {
        expect(count(sc.resyncs.reason), metrics).toBeGreaterThanOrEqual(sc.resyncs.min);
        expect(b.resyncs).toBe(total); // every resync counted once: one resync snapshot per counted resync
      } else expect(total).toBe(0);
      if (sc.errors) {
        // every bad frame counted by reason; the warn log is rate-limited per (symbol, reason)
        expect(counterSum(metrics, 'cwts_feed_errors_total', 'exchange="binance"'), metrics).toBeGreaterThanOrEqual(sc.errors);
        expect(counterSum(metrics, 'cwts_errors_total', 'binance')).toBeGreaterThanOrEqual(1);
      }
      const code = await stopRun(run);
      expect(code, run.out.join('')).toBe(0);
      // every trade the venue published, recorded exactly once; resync snapshots recorded too
      const lines = readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines[0].kind).toBe('cwts-recording');
      const recTrades = lines.filter((e) => e.type === 'trade');
      expect(new Set(recTrades.map((e) => e.tradeId)).size).toBe(recTrades.length);
      expect(recTrades.length).toBe(f.tradesDelivered);
      expect(trades - (f.tradesDelivered - deliveredAtSync)).toBeLessThanOrEqual(sc.name === 'a dropped connection' ? trades : 0);
      const snaps = lines.filter((e) => e.type === 'book_snapshot');
      expect(snaps.filter((s) => s.reason === 'resync').length).toBe(b.resyncs);
      // the secret-free log: nothing resembling a key (no keys configured here) and no crash
      expect(run.out.join('')).not.toMatch(/Unhandled|TypeError/);
      if (sc.inline) expect(run.out.join('')).not.toMatch(/intake on a worker thread/);
      else expect(run.out.join('')).toMatch(/binance: market data intake on a worker thread/);
    }, 180_000);
  }
});
