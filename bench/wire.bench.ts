/**
 * `pnpm bench wire`: wire-to-wire tick-to-order on loopback, timed from outside the process that
 * trades. This process is the venue (the local Binance server of the adapter's tests): it sends
 * a trigger frame (a whale-sized trade on the trade stream) and times the arrival of the order
 * request the trade causes, at the first byte-level event the venue sees (the WebSocket API
 * frame, or the HTTP request for REST). The trading side is a fresh child process per run:
 *
 * - `floor`: a minimal Node process on the same two sockets (market stream in, WebSocket API
 *   out) that answers a trigger frame with a prebuilt order-sized frame. Nothing can be faster
 *   through Node's event loop and `ws`; it is the yardstick.
 * - `ws`: @cwts/exchange-binance as a deployment runs it: the market-data half parses the frame
 *   (BinanceFrameParser, book sync) and hands a trade event to a sink; the sink builds the order
 *   the reference strategy (WhaleFollower) would send (limit IOC, fixed notional, 10 bps through)
 *   and calls the execution client's submit(), order_entry = "ws" (BinanceWsOrderEntry).
 * - `rest`: the same with order_entry = "rest" (ccxt's createOrder over HTTP, the old path).
 * - `ccxt-ws`: the same intake; the sink calls ccxt pro binance's own createOrderWs.
 *
 * The engine (detectors, risk, router) is not in this path: `pnpm bench e2e` measures it. Runs
 * are interleaved (mode after mode, load after load, fresh processes each), each with a warm-up
 * that is not recorded. Background traffic: diff-depth events on the same market connection at
 * WIRE_LOADS events/s (default "0,10000"). Env: WIRE_RUNS (3), WIRE_TRIGGERS (200),
 * WIRE_WARMUP (100), WIRE_MODES ("floor,ws,rest,ccxt-ws").
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { histogram, log, median, percentiles, writeResults, type BenchResult } from './lib/harness.js';

const KEY = 'bench-api-key-not-real';
const SECRET = 'bench-api-secret-not-real';
const SYMBOL = 'BTCUSDT';
/** The trigger: a 5 BTC taker buy; background trades never happen (only depth). */
const TRIGGER = { price: '65000.00', qty: '5.00000', side: 'buy' as const };
const WHALE_LOTS = 100_000; // 1 BTC in lots of 0.00001
const ORDER_LOTS = 1_800; // ~1,200 USDT at 65,000 (WhaleFollower's default notional)

type Mode = 'floor' | 'ws' | 'rest' | 'ccxt-ws';
const MODES = (process.env.WIRE_MODES ?? 'floor,ws,rest,ccxt-ws').split(',') as Mode[];
const LOADS = (process.env.WIRE_LOADS ?? '0,10000').split(',').map(Number);
const RUNS = Number(process.env.WIRE_RUNS ?? 3);
const TRIGGERS = Number(process.env.WIRE_TRIGGERS ?? 200);
const WARMUP = Number(process.env.WIRE_WARMUP ?? 100);

// ---- the trading side (child process) -----------------------------------------------------

async function runClient(mode: Mode, port: number): Promise<void> {
  const pkgRequire = createRequire(new URL('../packages/exchange-binance/package.json', import.meta.url));
  const restUrl = `http://127.0.0.1:${port}`;
  const apiUrl = `ws://127.0.0.1:${port}/ws-api/v3`;
  if (mode === 'floor') {
    const WebSocket = pkgRequire('ws') as typeof import('ws').default;
    const api = new WebSocket(apiUrl, { perMessageDeflate: false });
    const md = new WebSocket(`ws://127.0.0.1:${port}/stream?streams=${SYMBOL.toLowerCase()}@trade/${SYMBOL.toLowerCase()}@depth@100ms`, { perMessageDeflate: false });
    // the size of a signed order.place request: the bytes on the wire are comparable
    const answer = JSON.stringify({ id: 1, method: 'floor.answer', params: { pad: 'x'.repeat(380) } });
    md.on('message', (data: Buffer) => {
      // a trade frame has "e":"trade" near its start; depth frames do not
      if (data.indexOf('"e":"trade"') >= 0) api.send(answer);
    });
    await Promise.all([once(api, 'open'), once(md, 'open')]);
    process.send!({ ready: true });
    return;
  }
  const core = await import('../packages/core/dist/index.js');
  const { Secret } = await import('../packages/core/dist/config/index.js');
  const { createBinanceVenue } = await import('../packages/exchange-binance/dist/index.js');
  const venue = createBinanceVenue(
    {
      api_url: `ws://127.0.0.1:${port}/ws`, rest_url: restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET),
      options: { order_entry: mode === 'rest' ? 'rest' : 'ws', fills: 'polling', poll_interval_ms: 600_000, orders_per_10s: 100_000, request_weight_per_minute: 1_000_000 },
    },
    { exchange: 'binance', clock: new core.SystemClock() },
  );
  const [inst] = await venue.marketData.loadInstruments([SYMBOL]);
  const i = inst!;
  let seq = 0;
  let submit: (priceTicks: number) => void;
  if (mode === 'ccxt-ws') {
    const ccxt = pkgRequire('ccxt') as { pro: Record<string, new (c: object) => CcxtPro> };
    const ex = new ccxt.pro.binance({ apiKey: KEY, secret: SECRET, enableRateLimit: false, options: { fetchMarkets: { types: ['spot'] }, fetchMargins: false, fetchCurrencies: false, defaultType: 'spot', adjustForTimeDifference: false } });
    for (const [k, u] of Object.entries(ex.urls.api)) if (typeof u === 'string') ex.urls.api[k] = restUrl + new URL(u).pathname;
    (ex.urls.api.ws as unknown as Record<string, Record<string, string>>)['ws-api']!.spot = apiUrl;
    // ccxt refuses ws:// URLs until its HTTP agent modules are loaded (it then allows them)
    await ex.loadHttpProxyAgent();
    await ex.loadMarkets();
    const qty = core.lotsToQty(i, ORDER_LOTS);
    submit = (p) => void ex.createOrderWs('BTC/USDT', 'limit', 'buy', qty, core.ticksToPrice(i, p), { timeInForce: 'IOC', newClientOrderId: `cx${process.pid}-${++seq}` }).catch(() => undefined);
  } else {
    await venue.execution.start(() => {});
    if (mode === 'ws') while (!venue.execution.orderEntry?.ready) await new Promise((r) => setTimeout(r, 10));
    submit = (p) => {
      const now = Date.now();
      venue.execution.submit({
        exchange: 'binance', symbol: SYMBOL, side: 'buy', type: 'limit', price: p, qty: ORDER_LOTS, tif: 'IOC', source: 'bench', clientOrderId: `cw${process.pid}-${++seq}`,
        status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: now, updatedTs: now,
      });
    };
  }
  await venue.marketData.start([SYMBOL], {
    onMarketEvent: (e) => {
      // the reference strategy's order on a whale: limit IOC 10 bps through the trade price
      if (e.type === 'trade' && e.qty >= WHALE_LOTS) submit(e.price + Math.round(e.price / 1000));
    },
    onFeedStatus: () => {},
    onFeedError: () => {},
  });
  process.send!({ ready: true });
}

interface CcxtPro {
  urls: { api: Record<string, string> };
  loadHttpProxyAgent(): Promise<unknown>;
  loadMarkets(): Promise<unknown>;
  createOrderWs(symbol: string, type: string, side: string, amount: string, price: string, params: object): Promise<unknown>;
}

// ---- the order path's own cost, in one process -----------------------------------------------

/**
 * CPU time from "send this order" to the frame handed to the socket, in this process, against
 * the local server: our submit() (returns after the write) vs ccxt pro's createOrderWs (until
 * its connection's send() is called: request building, precision, signing, promise hops).
 * Alternating blocks of 100 orders so both see the same machine; each waits for its answer
 * before the next. Wall-clock scheduling noise of a loaded machine hits a 30-100 us span far less than a
 * 0.5-1 ms round trip, which is why this figure decides between the two when the load is high.
 */
async function sendCost(n: number): Promise<{ ours: number[]; ccxt: number[] }> {
  const pkgRequire = createRequire(new URL('../packages/exchange-binance/package.json', import.meta.url));
  const { FakeBinance } = await import('../packages/exchange-binance/test/fake-binance.js');
  const core = await import('../packages/core/dist/index.js');
  const { Secret } = await import('../packages/core/dist/config/index.js');
  const { createBinanceVenue } = await import('../packages/exchange-binance/dist/index.js');
  const fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET, symbols: [SYMBOL], orderLimit: { limit: 1e9, intervalMs: 10_000 } });
  const apiUrl = `ws://127.0.0.1:${fake.port}/ws-api/v3`;
  const venue = createBinanceVenue(
    { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET), options: { order_entry: 'ws', fills: 'polling', poll_interval_ms: 600_000, orders_per_10s: 100_000, request_weight_per_minute: 1_000_000 } },
    { exchange: 'binance', clock: new core.SystemClock() },
  );
  const [i] = await venue.marketData.loadInstruments([SYMBOL]);
  let answered: (() => void) | undefined;
  await venue.execution.start(() => answered?.());
  while (!venue.execution.orderEntry?.ready) await new Promise((r) => setTimeout(r, 10));
  const ccxt = pkgRequire('ccxt') as { pro: Record<string, new (c: object) => CcxtPro & { clients: Record<string, { connection: { send: (...a: unknown[]) => unknown } }>; close(): Promise<void> }> };
  const ex = new ccxt.pro.binance({ apiKey: KEY, secret: SECRET, enableRateLimit: false, options: { fetchMarkets: { types: ['spot'] }, fetchMargins: false, fetchCurrencies: false, defaultType: 'spot', adjustForTimeDifference: false } });
  for (const [k, u] of Object.entries(ex.urls.api)) if (typeof u === 'string') ex.urls.api[k] = fake.restUrl + new URL(u).pathname;
  (ex.urls.api.ws as unknown as Record<string, Record<string, string>>)['ws-api']!.spot = apiUrl;
  await ex.loadHttpProxyAgent();
  await ex.loadMarkets();
  let seq = 0;
  const price = core.priceToTicks(i!, '65065.00');
  await ex.createOrderWs('BTC/USDT', 'limit', 'buy', core.lotsToQty(i!, ORDER_LOTS), core.ticksToPrice(i!, price), { timeInForce: 'IOC', newClientOrderId: `sc-${++seq}` });
  const conn = ex.clients[apiUrl]!.connection;
  const send = conn.send.bind(conn);
  let sentAt = 0n;
  conn.send = (...a: unknown[]) => {
    sentAt = process.hrtime.bigint();
    return send(...a);
  };
  const ours: number[] = [];
  const viaCcxt: number[] = [];
  // blocks of 100 orders, ours and ccxt's alternating: both see the same machine over time, and
  // neither's garbage and cache footprint lands inside the other's individual samples
  const BLOCK = 100;
  const blocks = Math.ceil(n / BLOCK) + 2; // the first two of each: warm-up
  for (let b = 0; b < blocks; b++) {
    for (let k = 0; k < BLOCK; k++) {
      const acked = new Promise<void>((r) => (answered = r));
      const now = Date.now();
      const order = { exchange: 'binance', symbol: SYMBOL, side: 'buy' as const, type: 'limit' as const, price, qty: ORDER_LOTS, tif: 'IOC' as const, source: 'bench', clientOrderId: `so-${++seq}`, status: 'pending_new' as const, filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: now, updatedTs: now };
      const t0 = process.hrtime.bigint();
      venue.execution.submit(order); // returns once the frame is written
      const t1 = process.hrtime.bigint();
      await acked;
      if (b >= 2) ours.push(Number(t1 - t0));
    }
    for (let k = 0; k < BLOCK; k++) {
      // from the call to its socket send, with the conversions a caller holding ticks and lots must do
      const c0 = process.hrtime.bigint();
      await ex.createOrderWs('BTC/USDT', 'limit', 'buy', core.lotsToQty(i!, ORDER_LOTS), core.ticksToPrice(i!, price), { timeInForce: 'IOC', newClientOrderId: `sc-${++seq}` });
      if (b >= 2) viaCcxt.push(Number(sentAt - c0));
    }
  }
  await ex.close();
  await venue.execution.stop();
  await fake.close();
  return { ours, ccxt: viaCcxt };
}

// ---- the venue side (this process) --------------------------------------------------------

interface RunResult {
  samplesNs: number[];
  misses: number;
  load1: number;
}

async function measure(mode: Mode, load: number): Promise<RunResult> {
  const { FakeBinance } = await import('../packages/exchange-binance/test/fake-binance.js');
  const fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET, symbols: [SYMBOL], orderLimit: { limit: 1e9, intervalMs: 10_000 } });
  let t0 = 0n;
  let waiting: ((ns: number) => void) | undefined;
  const arrived = (ns: bigint) => {
    const w = waiting;
    waiting = undefined;
    w?.(Number(ns - t0));
  };
  fake.wsApi.onRequestFrame = (data) => {
    const t1 = process.hrtime.bigint();
    if (!waiting) return;
    const text = String(data);
    if (text.includes('"order.place"') || text.includes('"floor.answer"')) arrived(t1);
  };
  fake.onHttpRequest = (method, url) => {
    const t1 = process.hrtime.bigint();
    if (waiting && method === 'POST' && url?.startsWith('/api/v3/order')) arrived(t1);
  };
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, WIRE_ROLE: mode, WIRE_PORT: String(fake.port) }, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${mode} client exited (${code}) before it was ready`)));
  });
  await ready;
  // background: diff-depth events at `load` per second on the same market connection
  let bg: NodeJS.Timeout | undefined;
  if (load > 0) {
    const start = process.hrtime.bigint();
    let sent = 0;
    bg = setInterval(() => {
      const due = Math.floor((Number(process.hrtime.bigint() - start) / 1e9) * load) - sent;
      if (due > 0) {
        fake.step(SYMBOL, due);
        sent += due;
      }
    }, 1);
    await new Promise((r) => setTimeout(r, 300)); // the client's book is synced under the load before timing
  }
  const samplesNs: number[] = [];
  let misses = 0;
  for (let k = 0; k < WARMUP + TRIGGERS; k++) {
    const got = new Promise<number>((resolve) => {
      waiting = resolve;
    });
    const timeout = new Promise<number>((resolve) => setTimeout(() => resolve(-1), 2000));
    t0 = process.hrtime.bigint();
    fake.trade(SYMBOL, TRIGGER);
    const ns = await Promise.race([got, timeout]);
    waiting = undefined;
    if (k >= WARMUP) {
      if (ns < 0) misses++;
      else samplesNs.push(ns);
    }
    // 2-4 ms apart: answers and acks settle; not phase-locked to 1 ms timers
    await new Promise((r) => setTimeout(r, 2 + Math.floor(Math.random() * 3)));
  }
  if (bg) clearInterval(bg);
  const load1 = loadavg()[0]!;
  child.kill('SIGTERM');
  await once(child, 'exit').catch(() => undefined);
  await fake.close();
  return { samplesNs, misses, load1 };
}

async function main(): Promise<void> {
  const startLoad = loadavg();
  log(`wire: modes ${MODES.join(', ')}; loads ${LOADS.join(', ')} events/s; ${RUNS} interleaved runs x ${TRIGGERS} triggers (+${WARMUP} warm-up); load average at start ${startLoad.map((x) => x.toFixed(2)).join(' ')}`);
  const all = new Map<string, { h: ReturnType<typeof histogram>; runP50: number[]; runP99: number[]; misses: number; load1: number[] }>();
  for (let r = 0; r < RUNS; r++) {
    for (const load of LOADS) {
      for (const mode of MODES) {
        const res = await measure(mode, load);
        const key = `${mode}@${load}`;
        const agg = all.get(key) ?? { h: histogram(), runP50: [], runP99: [], misses: 0, load1: [] };
        const h = histogram();
        for (const ns of res.samplesNs) {
          agg.h.recordValue(Math.max(1, ns));
          h.recordValue(Math.max(1, ns));
        }
        const p = percentiles(h);
        agg.runP50.push(p.p50 / 1000);
        agg.runP99.push(p.p99 / 1000);
        agg.misses += res.misses;
        agg.load1.push(res.load1);
        all.set(key, agg);
        log(`  run ${r + 1} ${mode.padEnd(8)} @ ${String(load).padStart(5)} ev/s: p50 ${(p.p50 / 1000).toFixed(0)} us, p99 ${(p.p99 / 1000).toFixed(0)} us, ${res.samplesNs.length} samples, ${res.misses} misses, load1 ${res.load1.toFixed(2)}`);
      }
    }
  }
  const endLoad = loadavg();
  const results: BenchResult[] = [];
  const label: Record<Mode, string> = { floor: 'floor (frame answers frame)', ws: 'binance order entry on the WebSocket API (ours)', rest: 'binance REST through ccxt (order_entry = rest)', 'ccxt-ws': 'ccxt pro createOrderWs' };
  log('');
  log(`${'mode'.padEnd(50)} ${'load'.padStart(6)} ${'p50 us'.padStart(8)} ${'p99 us'.padStart(8)} ${'max us'.padStart(8)}  p50/floor  misses`);
  for (const load of LOADS) {
    const floor = all.get(`floor@${load}`);
    const floorP = floor ? percentiles(floor.h) : undefined;
    for (const mode of MODES) {
      const a = all.get(`${mode}@${load}`);
      if (!a) continue;
      const p = percentiles(a.h);
      const ratio = floorP ? p.p50 / floorP.p50 : NaN;
      log(`${label[mode].padEnd(50)} ${String(load).padStart(6)} ${(p.p50 / 1000).toFixed(0).padStart(8)} ${(p.p99 / 1000).toFixed(0).padStart(8)} ${(p.max / 1000).toFixed(0).padStart(8)}  ${ratio.toFixed(2).padStart(9)}  ${a.misses}`);
      const note = `${RUNS} runs x ${TRIGGERS} triggers, fresh process each; per-run p50 ${a.runP50.map((x) => x.toFixed(0)).join('/')} us, p99 ${a.runP99.map((x) => x.toFixed(0)).join('/')} us; misses ${a.misses}; load1 at run ends ${a.load1.map((x) => x.toFixed(1)).join('/')}`;
      for (const [metric, v, fv] of [['p50', p.p50, floorP?.p50], ['p99', p.p99, floorP?.p99]] as const) {
        const row: BenchResult = { name: `wire-to-wire ${label[mode]} @ ${load} events/s`, metric: `tick-to-order ${metric}`, unit: 'us', value: Math.round(v / 100) / 10, note };
        if (mode !== 'floor' && fv !== undefined) {
          row.peer = label.floor;
          row.peerValue = Math.round(fv / 100) / 10;
        }
        results.push(row);
      }
    }
  }
  const SEND_N = Number(process.env.WIRE_SEND_ORDERS ?? 2000);
  if (SEND_N > 0) {
    const sc = await sendCost(SEND_N);
    const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]! / 1000;
    log(`order path in one process, call -> frame handed to the socket (${SEND_N} orders each, alternating blocks of 100): ours p50 ${q(sc.ours, 50).toFixed(1)} us p99 ${q(sc.ours, 99).toFixed(1)} us; ccxt createOrderWs p50 ${q(sc.ccxt, 50).toFixed(1)} us p99 ${q(sc.ccxt, 99).toFixed(1)} us`);
    for (const p of [50, 99]) {
      results.push({ name: 'order call -> frame handed to the socket, one process', metric: `p${p}`, unit: 'us', value: Math.round(q(sc.ours, p) * 10) / 10, peer: label['ccxt-ws'], peerValue: Math.round(q(sc.ccxt, p) * 10) / 10, note: `${SEND_N} orders each in alternating blocks of 100 (after 200 warm-up each), each waiting for its answer; ours ends when submit() returns (after the write)` });
    }
  }
  log(`load average at end ${endLoad.map((x) => x.toFixed(2)).join(' ')} (median of run ends ${all.size > 0 ? median([...all.values()].flatMap((a) => a.load1)).toFixed(2) : 'n/a'})`);
  const file = writeResults('wire', results, {
    method: 'venue process sends a whale trade on the market stream and times the order request it causes at its arrival (ws message / HTTP request event); trading side in a fresh child process per run, interleaved by mode and load; warm-up not recorded',
    goals: { p50_us: 400, p99_us: 1000, p50_vs_floor: 2 },
    loadAverage: { start: startLoad, end: endLoad },
    config: { runs: RUNS, triggers: TRIGGERS, warmup: WARMUP, loads: LOADS, modes: MODES },
  });
  log(`results: ${file}`);
}

if (process.env.WIRE_ROLE) {
  runClient(process.env.WIRE_ROLE as Mode, Number(process.env.WIRE_PORT)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
