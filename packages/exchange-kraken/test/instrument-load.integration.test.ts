/**
 * Loading instruments from the `instrument` channel on a short-lived connection: every way the
 * venue can fail to deliver a snapshot ends in a clear error within the timeout, never a hang,
 * and frames that are not the snapshot are ignored. A local WebSocket server on 127.0.0.1:0.
 */
import type { AddressInfo } from 'node:net';
import { ManualClock } from '@cwts/core';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { silentLogger } from '@cwts/core/observability';
import { createKrakenIntake } from '../src/intake-worker.js';
import { KrakenMarketData } from '../src/market-data.js';
import { DEFAULT_KRAKEN_OPTIONS } from '../src/options.js';

const PAIR = { symbol: 'BTC/USD', base: 'BTC', quote: 'USD', status: 'online', price_precision: 1, qty_precision: 8, price_increment: 0.1, qty_increment: 1e-8, cost_min: '0.5' };

let server: WebSocketServer | undefined;
afterEach(async () => {
  for (const c of server?.clients ?? []) c.terminate();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A server that answers the instrument subscribe with `answer(socket, request)`. */
async function venue(answer: (ws: WebSocket, req: { method: string; params: Record<string, unknown>; req_id: number }) => void): Promise<string> {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => server!.once('listening', () => r()));
  server.on('connection', (ws) => ws.on('message', (d) => answer(ws, JSON.parse(String(d)))));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v2`;
}

const client = (wsUrl: string, instrument_timeout_ms = 5000) => new KrakenMarketData({ exchange: 'kraken', wsUrl, options: { ...DEFAULT_KRAKEN_OPTIONS, instrument_timeout_ms }, clock: new ManualClock(0) });

describe('Kraken instrument channel load', () => {
  it('ignores non-JSON, other channels and updates; takes the snapshot (string cost_min kept exactly)', async () => {
    let asked: unknown;
    const url = await venue((ws, req) => {
      asked = req;
      ws.send('not json');
      ws.send(JSON.stringify({ method: 'subscribe', success: true, result: { channel: 'instrument' } }));
      ws.send(JSON.stringify({ channel: 'heartbeat' }));
      ws.send(JSON.stringify({ channel: 'instrument', type: 'update', data: { pairs: [{ ...PAIR, cost_min: '9' }] } }));
      ws.send(JSON.stringify({ channel: 'instrument', type: 'snapshot', data: { pairs: [PAIR] } }));
    });
    const md = client(url);
    const [i] = await md.loadInstruments(['BTC/USD']);
    expect(i).toMatchObject({ symbol: 'BTC/USD', tickSize: '0.1', lotSize: '0.00000001', minNotional: '0.5' });
    expect(asked).toMatchObject({ method: 'subscribe', params: { channel: 'instrument', snapshot: true } });
    expect(md.instrument('BTC/USD')).toBe(i);
    expect(md.symbolsLoaded()).toEqual(['BTC/USD']);
    expect(md.stats).toMatchObject({ frames: 0, errors: 0 });

    // What `[performance] intake = "worker"` sends the worker survives the copy to it, and the
    // worker's factory builds a client that already has the pair (with the precision its
    // checksums need): the worker only starts it, it never loads instruments again.
    const spec = md.intakeWorker();
    expect(spec.factory).toBe('createKrakenIntake');
    const args = structuredClone(spec.args);
    expect(args).toEqual(spec.args);
    const onWorker = createKrakenIntake(args, { exchange: 'kraken', clock: new ManualClock(0), logger: silentLogger() }) as KrakenMarketData;
    expect(onWorker.exchange).toBe('kraken');
    expect(onWorker.symbolsLoaded()).toEqual(['BTC/USD']);
    expect(onWorker.instrument('BTC/USD')).toEqual(i);
  });

  it('a refused subscribe is an error naming the venue reason', async () => {
    const url = await venue((ws) => ws.send(JSON.stringify({ method: 'subscribe', success: false, error: 'Currency pair not supported' })));
    await expect(client(url).loadInstruments(['BTC/USD'])).rejects.toThrow(/instrument subscribe failed: Currency pair not supported/);
  });

  it('a connection closed before the snapshot is an error', async () => {
    const url = await venue((ws) => ws.close(1001, 'going away'));
    await expect(client(url).loadInstruments(['BTC/USD'])).rejects.toThrow(/closed before its snapshot/);
  });

  it('a venue that never sends the snapshot times out', async () => {
    const url = await venue(() => {});
    await expect(client(url, 150).loadInstruments(['BTC/USD'])).rejects.toThrow(/no instrument snapshot from .* within 150 ms/);
  });

  it('an unreachable venue is an error, not a hang', async () => {
    const url = await venue(() => {});
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    await expect(client(url).loadInstruments(['BTC/USD'])).rejects.toThrow(/kraken: instrument channel/);
  });

  it('a snapshot without the configured symbol names it', async () => {
    const url = await venue((ws) => ws.send(JSON.stringify({ channel: 'instrument', type: 'snapshot', data: { pairs: [PAIR] } })));
    await expect(client(url).loadInstruments(['ETH/USD'])).rejects.toThrow(/unknown symbol\(s\) ETH\/USD/);
  });
});
