/**
 * A 418 (IP banned) or 429 with Retry-After that an intake worker was given outlives the worker:
 * WorkerIntake replaces a dead or hung worker with a fresh one whose limiter would otherwise know
 * nothing of the ban and send depth snapshot requests into it (Binance extends repeated bans,
 * from 2 minutes up to 3 days, and a ban covers every request from the IP, the execution
 * client's cancels included). The engine thread's limiter, shared with execution, learns it too.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { defineInstrument, ManualClock, SystemClock } from '@cwts/core';
import { RateLimiter } from '@cwts/core/adapter-kit';
import { WorkerIntake } from '@cwts/core/intake';
import { silentLogger } from '@cwts/core/observability';
import { BinanceMarketData, resolveBinanceOptions, type BinanceIntakeArgs } from '../src/index.js';

const EX = 'binance';
const BTC = defineInstrument({ exchange: EX, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });
const BAN_S = 120;

/** Waits for a condition the worker's messages make true; the bound only ends a broken run. */
async function until(what: string, cond: () => boolean, boundMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > boundMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** A Binance on 127.0.0.1 that streams diff-depth events and answers every depth snapshot request with a 418 ban. */
async function banningBinance(): Promise<{ port: number; depthRequests: number[]; streamConnections: () => number }> {
  const depthRequests: number[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    if ((req.url ?? '').startsWith('/api/v3/depth')) {
      depthRequests.push(Date.now());
      res.writeHead(418, { 'content-type': 'application/json', 'retry-after': String(BAN_S), 'x-mbx-used-weight-1m': '6100' });
      res.end(JSON.stringify({ code: -1003, msg: `Way too much request weight used; IP banned until ${Date.now() + BAN_S * 1000}. Please use WebSocket Streams for live updates to avoid bans.` }));
      return;
    }
    res.writeHead(404);
    res.end('{}');
  });
  const wss = new WebSocketServer({ server });
  let U = 1000;
  wss.on('connection', (ws) => {
    connections++;
    // the client buffers diffs and asks for a REST snapshot once the first arrived
    const t = setInterval(() => {
      ws.send(JSON.stringify({ e: 'depthUpdate', E: Date.now(), s: 'BTCUSDT', U, u: U + 1, b: [['65000.00', '1.00000']], a: [] }));
      U += 2;
    }, 20);
    ws.on('close', () => clearInterval(t));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as AddressInfo).port, depthRequests, streamConnections: () => connections };
}

/** The plugin's wiring: one per-IP limiter shared by market data and execution (plugin.ts). */
function engineThreadClient(port: number): { inline: BinanceMarketData; limiter: RateLimiter } {
  const options = resolveBinanceOptions({});
  const clock = new SystemClock();
  const limiter = new RateLimiter([{ name: 'ip', limit: options.request_weight_per_minute, intervalMs: 60_000 }], () => clock.now());
  cleanup.push(async () => limiter.close());
  const inline = new BinanceMarketData({
    exchange: EX, endpoints: { wsRoot: `ws://127.0.0.1:${port}`, restRoot: `http://127.0.0.1:${port}`, market: 'spot' },
    options, clock, instruments: [BTC], limiter,
  });
  return { inline, limiter };
}

describe('Binance intake worker restarts and a 418 ban', () => {
  it('a replacement worker honours the ban its predecessor was given (no depth request before Retry-After); the shared engine-thread limiter waits too', async () => {
    const { port, depthRequests, streamConnections } = await banningBinance();
    const { inline, limiter } = engineThreadClient(port);
    const intake = new WorkerIntake(inline, { exchange: EX, logger: silentLogger(), clock: new ManualClock(0), checkEveryMs: 0, restartBackoff: { initialMs: 10, maxMs: 10 } });
    cleanup.push(() => intake.stop());
    const errors: string[] = [];
    await intake.start([BTC.symbol], { onMarketEvent: () => {}, onFeedStatus: () => {}, onFeedError: (_c, m) => void errors.push(m) });

    await until('the first worker was banned', () => depthRequests.length === 1 && errors.some((m) => /BTCUSDT: depth snapshot rate limited \(HTTP 418, retry after 120 s\)/.test(m)));
    await until('the engine thread heard of the ban', () => limiter.waitTime({ ip: 1 }) > 60_000);
    // the ban is Binance's on our IP: execution's requests (cancels included) wait too
    expect(limiter.waitTime({ ip: 1 })).toBeLessThanOrEqual(BAN_S * 1000);

    // the worker dies (an uncaught error, out of memory): WorkerIntake starts a fresh one
    const g = (intake as unknown as { gen: { worker: { terminate(): Promise<number> } } }).gen;
    await g.worker.terminate();
    await until('a replacement worker started', () => intake.starts === 2 && intake.state === 'running');
    // the replacement opens no stream connection into the ban (so its depth sync asks for no snapshot)
    const connected = streamConnections();
    await new Promise((r) => setTimeout(r, 1000));
    expect(streamConnections()).toBe(connected);
    expect(depthRequests).toHaveLength(1);
    expect(intake.resume.blockedUntilMs).toBeGreaterThan(Date.now() + 60_000);
  });

  it("each worker's args carry the engine thread's block: a ban the execution client was given, or one a worker reported", () => {
    const { inline, limiter } = engineThreadClient(1);
    expect((inline.intakeWorker().args as BinanceIntakeArgs).blockedUntilMs).toBe(0);
    const reported = Date.now() + 90_000;
    inline.intakeVenueBlocked(reported);
    const passed = (inline.intakeWorker().args as BinanceIntakeArgs).blockedUntilMs;
    expect(passed).toBeGreaterThanOrEqual(reported - 5);
    expect(passed).toBeLessThanOrEqual(reported + 5);
    // the execution client shares the limiter: its 418 reaches the next worker as well
    limiter.blockUntil(reported + 60_000);
    expect((inline.intakeWorker().args as BinanceIntakeArgs).blockedUntilMs).toBeGreaterThanOrEqual(reported + 60_000 - 5);
  });
});
