/**
 * Issue 11, replayed against the app: `cwts-ultra run` on the local Binance server receives the
 * frames that once hung it or poisoned its books. Each must be counted in
 * cwts_feed_errors_total, never appear in a SYNCED /status, take readiness down while the book
 * cannot be trusted, and end with the true book restored by a resync. A watcher reads /status
 * the whole time and records anything bad it ever sees in a SYNCED book.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SYM, config, counterSum, getJson, startRun, stopRun, until, type Run } from './app-run.js';
import { FakeBinance } from './fake-binance.js';

const canon = (levels: [string, string][]) => levels.map(([p, q]) => [String(Number(p)), String(Number(q))]);
/** A distinctive, valid level carried only by hostile frames: it must never show in a SYNCED book. */
const MARKER: [string, string] = ['1.00', '777.00000000'];

describe('cwts-ultra run: hostile Binance input (issue 11)', () => {
  let fake: FakeBinance | undefined;
  let run: Run | undefined;
  let dir = '';
  let ticker: NodeJS.Timeout | undefined;
  let watching = false;

  afterEach(async () => {
    watching = false;
    if (ticker) clearInterval(ticker);
    ticker = undefined;
    fake?.releaseSnapshots();
    if (run) await stopRun(run);
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    fake = undefined;
    run = undefined;
  });

  it('never hangs, counts every bad frame, never shows one in a SYNCED book, and resyncs to the true book', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cwts-hostile-'));
    fake = await FakeBinance.start({ seed: 17 });
    const f = fake;
    const record = join(dir, 'rec.jsonl');
    run = await startRun(config(dir, f), record);
    const r = run;
    const base = `http://127.0.0.1:${r.healthPort}`;
    const book = async () => ((await getJson(`${base}/status`)).books as any[]).find((b) => b.exchange === 'binance' && b.symbol === SYM);
    const readyBody = async () => {
      const res = await fetch(`${base}/health/ready`);
      return { status: res.status, body: await res.text() };
    };
    const metrics = async () => (await fetch(`http://127.0.0.1:${r.metricsPort}/metrics`)).text();
    const feedErrors = async (reason: string) => counterSum(await metrics(), 'cwts_feed_errors_total', 'exchange="binance"', `reason="${reason}"`);
    const live = () => {
      ticker = setInterval(() => f.step(SYM, 1), 15);
    };
    const quiet = () => {
      if (ticker) clearInterval(ticker);
      ticker = undefined;
    };
    const trueBook = async (what: string) => {
      // Binance's procedure asks for the snapshot on the first update after a resync: the venue
      // stays live until the book is SYNCED again, then goes quiet so the book can be compared
      // (a resync's snapshot counts only once an update confirms it, so every book of the
      // stream must be SYNCED, readiness 200, before the venue goes quiet).
      await until(async () => (await book())?.state === 'SYNCED' && (await readyBody()).status === 200, `SYNCED and ready again ${what}`, 60_000);
      quiet();
      let last = '';
      await until(async () => {
        const b = await book();
        const t = f.truth(SYM, 10);
        last = JSON.stringify({ state: b?.state, reason: b?.reason, bids: b?.bids?.slice(0, 3), truth: t.bids.slice(0, 3), snapshotsServed: f.snapshotsServed });
        return b?.state === 'SYNCED' && JSON.stringify(canon(b.bids)) === JSON.stringify(canon(t.bids)) && JSON.stringify(canon(b.asks)) === JSON.stringify(canon(t.asks));
      }, `the true top-10 book ${what}`, 60_000).catch((err: Error) => {
        throw new Error(`${err.message}\nlast: ${last}\nlog: ${r.out.join('').slice(-3000)}`);
      });
      const rd = await readyBody();
      expect(rd.status, rd.body).toBe(200);
      live();
    };

    // the watcher: anything invalid in a SYNCED /status is a failure, whenever it shows
    const seen: string[] = [];
    watching = true;
    const watcher = (async () => {
      while (watching) {
        try {
          const b = await book();
          if (b?.state === 'SYNCED') {
            for (const [p, q] of [...b.bids, ...b.asks] as [string, string][]) {
              if (!(Number(p) > 0 && Number(q) > 0)) seen.push(`level ${p} x ${q}`);
              if (Number(p) === Number(MARKER[0])) seen.push(`a hostile frame's level ${p} x ${q}`);
            }
            if (b.bids[0] && b.asks[0] && Number(b.bids[0][0]) >= Number(b.asks[0][0])) seen.push(`crossed ${b.bids[0][0]} >= ${b.asks[0][0]}`);
          }
        } catch {
          // the app is stopping
        }
        await new Promise((res) => setTimeout(res, 10));
      }
    })();

    live();
    await until(async () => (await book())?.state === 'SYNCED', 'SYNCED', 60_000);

    // 1. frames cut inside an integer once spun the process at 100% CPU
    const malformed0 = await feedErrors('malformed');
    f.sendRaw('{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":17649');
    f.sendRaw('{"stream":"btcusdt@trade","data":{"e":"trade","E":1764900000000,"s":"BTCUSDT","t":500');
    const binary0 = await feedErrors('binary_frame');
    f.sendBinary(Uint8Array.from([0x7b, 0x22, 0x65, 0x00, 0xff]));
    await until(async () => (await feedErrors('malformed')) >= malformed0 + 2, 'both cut frames counted', 30_000);
    await until(async () => (await feedErrors('binary_frame')) > binary0, 'the binary frame counted', 30_000);
    expect((await getJson(`${base}/health/live`)).live).toBe(true);
    await trueBook('after cut frames');

    // 2. bad values in a depth update: counted, the book leaves SYNCED until a resync restores it
    for (const [levels, reason] of [
      [{ bids: [['-42990.00', '1.00000000'], MARKER] }, 'non_positive_price'],
      [{ asks: [['0.00', '1.00000000']], bids: [MARKER] }, 'non_positive_price'],
      [{ bids: [MARKER, ['64990.00', '-0.00100000']] }, 'negative_qty'],
      [{ bids: [MARKER, ['64990.005', '1.00000000']] }, 'off_grid'],
    ] as const) {
      const n0 = await feedErrors(reason);
      f.holdSnapshots();
      f.publishBadDepth(SYM, { bids: levels.bids?.map((l) => [...l] as [string, string]), asks: 'asks' in levels ? levels.asks.map((l) => [...l] as [string, string]) : undefined });
      await until(async () => (await book())?.state !== 'SYNCED', `${reason}: the book leaves SYNCED`, 30_000);
      expect((await readyBody()).status, `${reason}: readiness while untrusted`).toBe(503);
      // /metrics is a snapshot up to 250 ms old (docs/monitoring.md): wait for the count, do not read it once.
      await until(async () => (await feedErrors(reason)) > n0, `${reason}: counted in cwts_feed_errors_total`, 30_000);
      f.releaseSnapshots();
      await trueBook(`after ${reason}`);
    }

    // 3. a REST snapshot with a -1 bid is rejected; the next one restores the book
    const snap0 = await feedErrors('non_positive_price');
    f.poisonNextSnapshot((s) => {
      s.bids[0] = ['-1.00000000', s.bids[0]![1]];
    });
    f.skipSequence(SYM);
    await until(async () => (await feedErrors('non_positive_price')) > snap0, 'the poisoned snapshot counted', 30_000);
    await trueBook('after a poisoned snapshot');

    // 4. sequence poisoning: a valid U with u = 9007199254740000 is not applied; later updates are
    const jump0 = await feedErrors('seq_jump');
    f.holdSnapshots();
    f.publishBadDepth(SYM, { bids: [MARKER] }, 9007199254740000);
    await until(async () => (await book())?.state !== 'SYNCED', 'the poisoned update takes the book out of SYNCED', 30_000);
    expect((await readyBody()).status).toBe(503);
    await until(async () => (await feedErrors('seq_jump')) > jump0, 'the sequence jump counted', 30_000);
    f.releaseSnapshots();
    await trueBook('after sequence poisoning');
    f.step(SYM, 30);
    await trueBook('with later real updates applied');

    // 5. trades: bad values and a far-ahead id are counted, never recorded; later real trades are
    const t = f.truth(SYM, 1);
    const next = () => Number(f.trade(SYM, { price: t.asks[0]![0], qty: '0.00100000', side: 'buy' })) + 1;
    const id = next();
    const z0 = await feedErrors('zero_qty');
    const nq0 = await feedErrors('negative_qty');
    const np0 = await feedErrors('non_positive_price');
    const tj0 = await feedErrors('trade_id_jump');
    f.publishRawTrade(SYM, { t: id, p: t.asks[0]![0], q: '-0.00100000' });
    f.publishRawTrade(SYM, { t: id, p: t.asks[0]![0], q: '0.00000000' });
    f.publishRawTrade(SYM, { t: id, p: '-43000.00', q: '0.00100000' });
    f.publishRawTrade(SYM, { t: 9_000_000_000_000_000, p: t.asks[0]![0], q: '0.00100000' });
    const after: string[] = [];
    for (let k = 0; k < 3; k++) after.push(f.trade(SYM, { price: t.asks[0]![0], qty: '0.00200000', side: 'sell' }));
    await until(async () => (await feedErrors('zero_qty')) > z0 && (await feedErrors('negative_qty')) > nq0 && (await feedErrors('non_positive_price')) > np0 && (await feedErrors('trade_id_jump')) > tj0, 'every bad trade counted', 30_000);

    watching = false;
    await watcher;
    quiet();
    expect(seen, 'bad data seen in a SYNCED /status').toEqual([]);
    const text = await metrics();
    expect(counterSum(text, 'cwts_book_resyncs_total', 'reason="invalid_data"')).toBeGreaterThanOrEqual(4);
    expect(await stopRun(r), r.out.join('')).toBe(0);
    const lines = readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const trades = lines.filter((e) => e.type === 'trade');
    expect(trades.filter((e) => !(e.price > 0 && e.qty > 0))).toEqual([]);
    expect(trades.some((e) => e.tradeId === '9000000000000000')).toBe(false);
    // the real trades after the far-ahead id are recorded, not dropped as "duplicates"
    for (const a of after) expect(trades.some((e) => e.tradeId === a), `trade ${a}`).toBe(true);
    expect(r.out.join('')).not.toMatch(/Unhandled|TypeError|RangeError/);
  }, 300_000);
});
