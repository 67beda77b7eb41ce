/**
 * Frame -> book cost of the ccxt path beside the native Binance adapter, same run, same local
 * Binance server (packages/exchange-binance/test/fake-binance.ts) on 127.0.0.1:
 *
 *   pnpm exec tsx packages/exchange-ccxt/bench/ccxt.bench.ts
 *
 * For each adapter alone: sync the book, then publish FRAMES depth updates in bursts of BURST
 * and wait until the engine-side book (BookStore, through the sink) holds the last update id.
 * Reported: process CPU time per frame (user + system, µs), which includes the WebSocket
 * receive and the server producing and sending frames in the same process (the same work for
 * both adapters), so the difference between the two is the adapter's own cost; wall time is
 * not used (the wait between bursts would dominate it). Env: FRAMES (20000), BURST (200).
 */
import { SystemClock } from '@cwts/core';
import { ConformanceSink, waitUntil } from '@cwts/core/testing';
import { createBinanceVenue } from '../../exchange-binance/src/index.js';
import { FakeBinance } from '../../exchange-binance/test/fake-binance.js';
import { createCcxtVenue } from '../src/index.js';
import { BINANCE_CCXT_OPTIONS } from '../test/binance-ccxt-options.js';

const FRAMES = Number(process.env.FRAMES ?? 20_000);
const BURST = Number(process.env.BURST ?? 200);
const SYM = 'BTCUSDT';

type Md = { loadInstruments(s: string[]): Promise<unknown>; start(s: string[], sink: ConformanceSink): Promise<void>; stop(): Promise<void> };

async function run(name: string, make: (f: FakeBinance) => Md): Promise<number> {
  const f = await FakeBinance.start({ seed: 5 });
  const md = make(f);
  const sink = new ConformanceSink();
  await md.loadInstruments([SYM]);
  await md.start([SYM], sink);
  await waitUntil(() => {
    f.step(SYM, 1);
    return sink.books.get(name, SYM)?.state === 'synced';
  }, `${name} synced`, 20_000);
  const seqNow = () => sink.books.get(name, SYM)?.book.seq ?? 0;
  const c0 = process.cpuUsage();
  for (let sent = 0; sent < FRAMES; sent += BURST) {
    f.step(SYM, BURST);
    const target = f.books.get(SYM)!.lastUpdateId;
    // let the socket drain before the next burst (bounded queue, like a real feed)
    await waitUntil(() => seqNow() >= target, `${name} caught up`, 60_000);
  }
  const c = process.cpuUsage(c0);
  if (sink.books.get(name, SYM)?.state !== 'synced') throw new Error(`${name} ended not synced`);
  await md.stop();
  await f.close();
  return (c.user + c.system) / FRAMES;
}

const clock = new SystemClock();
const native = await run('binance', (f) => createBinanceVenue({ api_url: f.wsUrl, rest_url: f.restUrl }, { exchange: 'binance', clock }).marketData);
const viaCcxt = await run('ccxt', (f) => createCcxtVenue({ api_url: f.wsUrl, rest_url: f.restUrl, options: { ccxt_id: 'binance', ccxt_options: BINANCE_CCXT_OPTIONS } }, { exchange: 'ccxt', clock }).marketData);
console.log(JSON.stringify({ frames: FRAMES, burst: BURST, cpu_us_per_frame: { native_binance: +native.toFixed(2), ccxt_binance: +viaCcxt.toFixed(2) }, ratio: +(viaCcxt / native).toFixed(2) }));
