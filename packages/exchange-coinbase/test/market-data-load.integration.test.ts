/**
 * CoinbaseMarketData around its connection: the products request (ids encoded, HTTP errors
 * named), endpoints from config, and start() against a venue that never accepts the WebSocket:
 * it resolves after start_timeout_ms with a warning, books not synced, and stop leaves no timer.
 * Local HTTP server on 127.0.0.1:0.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock, type MarketEventSink } from '@cwts/core';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@cwts/core/observability';
import { createCoinbaseIntake } from '../src/intake-worker.js';
import { CoinbaseMarketData, coinbaseEndpoints } from '../src/market-data.js';
import { DEFAULT_COINBASE_OPTIONS } from '../src/options.js';

const PRODUCT = { product_id: 'BTC-USD', price_increment: '0.01', base_increment: '0.00000001', quote_min_size: '1' };

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function rest(handler: (url: string) => { status: number; body: string }): Promise<string> {
  server = createServer((req, res) => {
    const a = handler(req.url ?? '');
    res.writeHead(a.status, { 'content-type': 'application/json' });
    res.end(a.body);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function client(restRoot: string, warn: (o: unknown, m: string) => void = () => {}) {
  return new CoinbaseMarketData({
    exchange: 'coinbase', endpoints: { restRoot, wsUrl: 'ws://127.0.0.1:1' }, clock: new ManualClock(0), logger: { warn, info() {} } as never,
    options: { ...DEFAULT_COINBASE_OPTIONS, start_timeout_ms: 150, reconnect_initial_ms: 50, reconnect_max_ms: 100 },
  });
}

const sink = (): MarketEventSink & { statuses: unknown[] } => {
  const statuses: unknown[] = [];
  return { statuses, onBookUpdate() {}, onTrade() {}, onFeedStatus: (s: unknown) => statuses.push(s), onFeedError() {} } as never;
};

describe('Coinbase market data: products and start', () => {
  it('asks for exactly the configured product ids, URL-encoded', async () => {
    let asked = '';
    const root = await rest((url) => {
      asked = url;
      return { status: 200, body: JSON.stringify({ products: [PRODUCT] }) };
    });
    const md = client(root);
    const [i] = await md.loadInstruments(['BTC-USD']);
    expect(asked).toBe('/api/v3/brokerage/market/products?product_ids=BTC-USD');
    expect(i).toMatchObject({ tickSize: '0.01', minNotional: '1' });
    expect(md.instrument('BTC-USD')).toBe(i);
    expect(md.symbolsLoaded()).toEqual(['BTC-USD']);
    // What `[performance] intake = "worker"` sends the worker survives the copy to it, and the
    // worker's factory builds a client that already has the product: the worker only starts it.
    const spec = md.intakeWorker();
    expect(spec.factory).toBe('createCoinbaseIntake');
    const args = structuredClone(spec.args);
    expect(args).toEqual(spec.args);
    const onWorker = createCoinbaseIntake(args, { exchange: 'coinbase', clock: new ManualClock(0), logger: silentLogger() }) as CoinbaseMarketData;
    expect(onWorker.exchange).toBe('coinbase');
    expect(onWorker.symbolsLoaded()).toEqual(['BTC-USD']);
    expect(onWorker.instrument('BTC-USD')).toEqual(i);
    await expect(md.loadInstruments(['A&B'])).rejects.toThrow(/unknown product/);
    expect(asked).toBe('/api/v3/brokerage/market/products?product_ids=A%26B');
  });

  it('an HTTP error from the products endpoint is named with its status and body', async () => {
    const root = await rest(() => ({ status: 503, body: '{"error":"unavailable"}' }));
    await expect(client(root).loadInstruments(['BTC-USD'])).rejects.toThrow(/products request failed: HTTP 503 \{"error":"unavailable"\}/);
  });

  it('start against a WebSocket that never opens resolves after start_timeout_ms with a warning; nothing synced; stop leaves no timer', async () => {
    const root = await rest(() => ({ status: 200, body: JSON.stringify({ products: [PRODUCT] }) }));
    const warns: string[] = [];
    const md = client(root, (_o, m) => warns.push(m));
    expect(md.stats).toMatchObject({ frames: 0, subscribes: 0 });
    expect(md.syncOf('BTC-USD')).toBeUndefined();
    const s = sink();
    await md.start(['BTC-USD'], s); // loads the instrument itself
    expect(warns.some((w) => /not connected after 150 ms; still trying in the background/.test(w))).toBe(true);
    expect(md.syncOf('BTC-USD')!.state).not.toBe('synced');
    expect(md.stats.subscribes).toBe(0);
    await md.stop();
    expect(md.pendingTimers()).toBe(0);
  });

  it('endpoints: defaults, trailing slashes, and a rest_url given with its /api/v3 path', () => {
    expect(coinbaseEndpoints({ rest_url: 'http://127.0.0.1:2/api/v3/' })).toEqual({ wsUrl: 'wss://advanced-trade-ws.coinbase.com', restRoot: 'http://127.0.0.1:2' });
  });
});
