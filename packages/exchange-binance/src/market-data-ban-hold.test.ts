import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineInstrument, type Clock, type MarketEventSink } from '@cwts/core';
import { RateLimiter } from '@cwts/core/adapter-kit';
import { waitUntil } from '@cwts/core/testing';
import { describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { BAN_MS, MAX_MS, ManualTimers, cleanupAfterEach, coreBefore113, dropAndWait, settle } from '../test/ban-hold.fixture.js';
import { BINANCE_MAX_BAN_MS, BinanceMarketData, type BinanceMarketDataDeps } from './market-data.js';
import { resolveBinanceOptions } from './options.js';

const EX = 'binance';
const BTC = defineInstrument({ exchange: EX, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });

const sink = (statuses: string[] = []): MarketEventSink => ({
  onMarketEvent: () => undefined,
  onFeedError: () => undefined,
  onFeedStatus: (s) => statuses.push(s.reason ?? ''),
});

describe('BinanceMarketData: no stream connection is opened into a ban', () => {
  const cleanup = cleanupAfterEach('reverse');

  /**
   * A Binance on 127.0.0.1: the stream host counts connections (and sends one diff-depth event
   * each, so the client asks for a snapshot), REST answers the depth snapshot with `depth()`.
   */
  async function venue(depth: () => { status: number; headers?: Record<string, string>; body: unknown }) {
    let depthRequests = 0;
    const server: Server = createServer((req, res) => {
      if ((req.url ?? '').startsWith('/api/v3/depth')) {
        depthRequests++;
        const a = depth();
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
        res.end(JSON.stringify(a.body));
        return;
      }
      res.writeHead(404);
      res.end('{}');
    });
    const wss = new WebSocketServer({ server });
    let connections = 0;
    wss.on('connection', (ws: WebSocket) => {
      connections++;
      ws.send(JSON.stringify({ e: 'depthUpdate', E: 1, s: 'BTCUSDT', U: 1000, u: 1001, b: [['65000.00', '1.00000']], a: [] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
    });
    return {
      port: (server.address() as AddressInfo).port,
      connections: () => connections,
      depthRequests: () => depthRequests,
      /** The venue closes every stream connection (a ban, a restart). */
      drop: () => {
        for (const c of wss.clients) c.terminate();
      },
    };
  }

  /** The plugin's wiring: the per-IP limiter is shared with the execution client. */
  function client(port: number, timers: ManualTimers, extra: Partial<BinanceMarketDataDeps> = {}): { md: BinanceMarketData; limiter: RateLimiter } {
    const options = resolveBinanceOptions({ reconnect_initial_ms: 5, reconnect_max_ms: MAX_MS, ping_interval_ms: 0, stale_after_ms: 0, instrument_refresh_ms: 0 });
    const clock: Clock = { now: () => timers.clock, monoNs: () => process.hrtime.bigint() };
    const limiter = new RateLimiter([{ name: 'ip', limit: options.request_weight_per_minute, intervalMs: 60_000 }], () => timers.clock, timers);
    const md = new BinanceMarketData({
      exchange: EX, endpoints: { wsRoot: `ws://127.0.0.1:${port}`, restRoot: `http://127.0.0.1:${port}`, market: 'spot' },
      options, clock, instruments: [BTC], limiter, timers, random: () => 0.5,
      ...extra,
    });
    cleanup.push(() => md.stop());
    return { md, limiter };
  }

  it('a ban on the shared per-IP limiter (the execution client was answered 418): a stream connection lost during it is reconnected only after its end', async () => {
    const timers = new ManualTimers();
    const v = await venue(() => ({ status: 200, body: { lastUpdateId: 999, bids: [], asks: [] } }));
    const { md, limiter } = client(v.port, timers);
    const statuses: string[] = [];
    await md.start(['BTCUSDT'], sink(statuses));
    expect(v.connections()).toBe(1);
    const banEnd = timers.clock + BAN_MS;
    limiter.blockUntil(banEnd); // what BinanceExecution.holdBack does
    await dropAndWait(v, timers);
    expect(statuses.at(-1)).toMatch(/reconnecting after the IP's ban or rate limit ends \(in 120 s\)$/);
    // many backoff ceilings (<= 40 ms) later, well inside the ban
    timers.advance(1_000);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(banEnd - timers.clock - 1);
    await settle();
    expect(v.connections()).toBe(1);
    // the ban's end, then the backoff's delay
    timers.advance(1 + MAX_MS);
    await waitUntil(() => v.connections() === 2, 'reconnected after the ban');
  });

  it('a ban an intake worker reported (intakeVenueBlocked) moves a reconnect already scheduled past its end', async () => {
    const timers = new ManualTimers();
    const v = await venue(() => ({ status: 200, body: { lastUpdateId: 999, bids: [], asks: [] } }));
    const { md } = client(v.port, timers);
    await md.start(['BTCUSDT'], sink());
    await dropAndWait(v, timers);
    const banEnd = timers.clock + BAN_MS;
    md.intakeVenueBlocked(banEnd);
    timers.advance(BAN_MS - 1);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(1 + MAX_MS);
    await waitUntil(() => v.connections() === 2, 'reconnected after the ban');
  });

  it('a ban the execution client records on the shared limiter while a reconnect is scheduled (no call reaches market data) holds that reconnect', async () => {
    const timers = new ManualTimers();
    const v = await venue(() => ({ status: 200, body: { lastUpdateId: 999, bids: [], asks: [] } }));
    const { md, limiter } = client(v.port, timers);
    await md.start(['BTCUSDT'], sink());
    await dropAndWait(v, timers);
    const banEnd = timers.clock + BAN_MS;
    limiter.blockUntil(banEnd); // what BinanceExecution.holdBack does
    // many backoff ceilings (<= 40 ms) later, well inside the ban
    timers.advance(1_000);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(banEnd - timers.clock - 1);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(1 + MAX_MS);
    await waitUntil(() => v.connections() === 2, 'reconnected after the ban');
  });

  it('started during a ban: the first connection is opened only after it', async () => {
    const timers = new ManualTimers();
    const v = await venue(() => ({ status: 200, body: { lastUpdateId: 999, bids: [], asks: [] } }));
    const { md, limiter } = client(v.port, timers);
    limiter.blockUntil(timers.clock + BAN_MS);
    const started = md.start(['BTCUSDT'], sink());
    await settle();
    expect(v.connections()).toBe(0);
    timers.advance(BAN_MS);
    await waitUntil(() => v.connections() === 1, 'connected after the ban');
    await started;
  });

  it('a depth snapshot answered 418 with a Retry-After of years is held to 3 days (counted): the stream reconnects after those, not never', async () => {
    const timers = new ManualTimers();
    const v = await venue(() => ({ status: 418, headers: { 'retry-after': String(10 * 365 * 86_400) }, body: { code: -1003, msg: 'Way too much request weight used; IP banned.' } }));
    const blocked: number[] = [];
    const { md } = client(v.port, timers, { onVenueBlocked: (u) => blocked.push(u) });
    const t0 = timers.clock;
    await md.start(['BTCUSDT'], sink());
    await waitUntil(() => blocked.length === 1, 'the ban recorded');
    expect(v.depthRequests()).toBe(1);
    expect(blocked[0]).toBe(t0 + BINANCE_MAX_BAN_MS);
    expect(md.cappedBans).toBe(1);
    await dropAndWait(v, timers);
    timers.advance(BINANCE_MAX_BAN_MS - 1);
    await settle();
    expect(v.connections()).toBe(1);
    expect(v.depthRequests()).toBe(1);
    timers.advance(1 + MAX_MS);
    await waitUntil(() => v.connections() === 2, 'reconnected after 3 days');
  });

  it('on a core without WsConnection.holdReconnectUntil (before API 1.13) it reconnects on its backoff as before', async () => {
    // nor does it read the blockedUntil option (also 1.13): every connect opens its socket
    coreBefore113(cleanup, { blockedUntil: true });
    const timers = new ManualTimers();
    const v = await venue(() => ({ status: 200, body: { lastUpdateId: 999, bids: [], asks: [] } }));
    const { md, limiter } = client(v.port, timers);
    await md.start(['BTCUSDT'], sink());
    limiter.blockUntil(timers.clock + BAN_MS);
    await dropAndWait(v, timers);
    timers.advance(MAX_MS);
    await waitUntil(() => v.connections() === 2, 'reconnected on the backoff');
  });
});
