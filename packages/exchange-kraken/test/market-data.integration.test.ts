/**
 * Kraken-specific behaviour beyond the conformance suite, against the local v2 server: silent
 * stalls (heartbeats stop) end in a reconnect, books are truncated to the subscribed depth, a
 * resync is unsubscribe + subscribe (and the replayed snapshot replaces the book), and a
 * snapshot with a bad checksum is never shown.
 */
import { SystemClock, lotsToQty, priceToTicks, qtyToLots, ticksToPrice, type Instrument } from '@cwts/core';
import { ConformanceSink, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createKrakenVenue, type KrakenVenue } from '../src/index.js';
import { FakeKraken } from './fake-kraken.js';

const SYM = 'BTC/USD';

describe('Kraken market data against the local v2 server', () => {
  let fake: FakeKraken | undefined;
  let venue: KrakenVenue | undefined;

  afterEach(async () => {
    await venue?.marketData.stop();
    await fake?.close();
    venue = undefined;
    fake = undefined;
  });

  async function boot(options: Record<string, unknown>, heartbeatMs = 1000): Promise<{ f: FakeKraken; sink: ConformanceSink; i: Instrument }> {
    fake = await FakeKraken.start({ seed: 21, heartbeatMs });
    venue = createKrakenVenue({ api_url: fake.wsUrl, options: { reconnect_initial_ms: 20, reconnect_max_ms: 200, ...options } }, { exchange: 'kraken', clock: new SystemClock() });
    const [i] = await venue.marketData.loadInstruments([SYM]);
    const sink = new ConformanceSink();
    await venue.marketData.start([SYM], sink);
    await waitUntil(() => sink.books.get('kraken', SYM)?.state === 'synced', 'synced');
    return { f: fake, sink, i: i! };
  }

  function matches(sink: ConformanceSink, f: FakeKraken, i: Instrument, n: number): boolean {
    const mine = sink.top('kraken', i, n);
    const t = f.truth(SYM, n);
    const canon = (l: [string, string][]) => l.map(([p, q]) => [ticksToPrice(i, priceToTicks(i, p)), lotsToQty(i, qtyToLots(i, q))]);
    return mine.state === 'synced' && JSON.stringify(mine.bids) === JSON.stringify(canon(t.bids)) && JSON.stringify(mine.asks) === JSON.stringify(canon(t.asks));
  }

  it('reconnects after a silent stall (no heartbeat, no data) and resyncs', async () => {
    const { f, sink, i } = await boot({ stale_after_ms: 400 }, 50);
    f.step(SYM, 5);
    f.stall(true);
    await waitUntil(() => sink.statuses.some((s) => s.state === 'disconnected' && /stale feed/.test(s.reason)), 'a stale-feed disconnect', 10_000);
    f.stall(false);
    await waitUntil(() => sink.snapshots('resync').length >= 1, 'a resync snapshot', 10_000);
    f.step(SYM, 20);
    await waitUntil(() => matches(sink, f, i, 10), 'the true book after the stall', 10_000);
    expect(f.connectionsOpened).toBeGreaterThanOrEqual(3); // instruments, first feed, the reconnect
    expect(f.connectionCount()).toBe(1);
  });

  it('keeps a quiet but alive feed connected: heartbeats count as traffic', async () => {
    const { f, sink } = await boot({ stale_after_ms: 400 }, 50);
    await new Promise((r) => setTimeout(r, 1200)); // no book or trade traffic, heartbeats only
    expect(sink.statuses.filter((s) => s.state === 'disconnected')).toHaveLength(0);
    expect(venue!.marketData.stats.heartbeats).toBeGreaterThan(5);
    expect(f.connectionCount()).toBe(1);
  });

  it('truncates the book to the subscribed depth (Kraken sends no delete for levels pushed out)', async () => {
    const { f, sink, i } = await boot({ book_depth: 10 });
    const out: { price: number; qty: number }[] = [];
    for (let k = 0; k < 20; k++) {
      f.step(SYM, 20);
      await waitUntil(() => matches(sink, f, i, 10), 'the true top 10', 10_000);
      const rec = sink.books.get('kraken', SYM)!;
      expect(rec.book.topLevels('bid', 100, out)).toBe(10);
      expect(rec.book.topLevels('ask', 100, out)).toBe(10);
    }
    expect(sink.snapshots('resync')).toHaveLength(0);
    expect(venue!.marketData.stats.checksumFailures).toBe(0);
  });

  it('resyncs a checksum mismatch by unsubscribe + subscribe and takes the replayed snapshot', async () => {
    const { f, sink, i } = await boot({});
    f.corruptChecksum(SYM);
    await waitUntil(() => {
      f.step(SYM, 1);
      return sink.statuses.some((s) => s.state === 'resyncing' && /checksum/.test(s.reason));
    }, 'a checksum resync');
    await waitUntil(() => sink.snapshots('resync').length === 1, 'the replayed snapshot');
    const book = f.requests.filter((r) => r.params?.channel === 'book');
    expect(book.map((r) => r.method)).toEqual(['subscribe', 'unsubscribe', 'subscribe']);
    expect(book.every((r) => r.params!.depth === 25 && JSON.stringify(r.params!.symbol) === JSON.stringify([SYM]))).toBe(true);
    f.step(SYM, 10);
    await waitUntil(() => matches(sink, f, i, 10), 'the true book after the resync');
    // trades were subscribed once, without the 50-trade snapshot
    expect(f.requests.filter((r) => r.params?.channel === 'trade').map(({ method, params }) => ({ method, params }))).toEqual([{ method: 'subscribe', params: { channel: 'trade', symbol: [SYM], snapshot: false } }]);
  });

  it('never shows a snapshot whose checksum does not match, and asks again', async () => {
    const { f, sink, i } = await boot({});
    // a raw snapshot with a wrong checksum arrives while synced: rejected, and since the venue
    // replaced its book with it, ours (the old one) resyncs by unsubscribe + subscribe
    f.sendRaw('{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[{"price":1,"qty":1}],"asks":[{"price":2,"qty":1}],"checksum":12345}]}');
    await waitUntil(() => sink.statuses.some((s) => s.state === 'resyncing' && /book snapshot checksum mismatch/.test(s.reason)), 'a resync');
    await waitUntil(() => sink.snapshots('resync').length === 1, 'the replayed snapshot');
    f.step(SYM, 5);
    await waitUntil(() => matches(sink, f, i, 10), 'the true book');
    expect(f.requests.filter((r) => r.params?.channel === 'book').map((r) => r.method)).toEqual(['subscribe', 'unsubscribe', 'subscribe']);
    expect(sink.snapshots().every((e) => e.bids.every((l) => l.price !== 10) && e.asks.every((l) => l.price !== 20))).toBe(true);
    expect(sink.rejects.some((r) => r.reason === 'bad_snapshot' && /checksum/.test(r.detail))).toBe(true);
  });

  it('drops a replayed trade (same trade_id) and emits each trade once', async () => {
    const { f, sink } = await boot({});
    const px = f.truth(SYM, 1).asks[0]![0];
    const id = f.trade(SYM, { price: px, qty: '0.50000000', side: 'buy' });
    const replay = `{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":${Number(px)},"qty":0.5,"ord_type":"limit","trade_id":${id},"timestamp":"2024-01-01T00:00:00.000000Z"}]}`;
    f.sendRaw(replay);
    // hostile values never become trades
    f.sendRaw(replay.replace(`"trade_id":${id}`, `"trade_id":${Number(id) + 500}`).replace('"qty":0.5', '"qty":-0.5'));
    f.sendRaw(replay.replace(`"trade_id":${id}`, `"trade_id":${Number(id) + 501}`).replace(/"price":[0-9.]+/, '"price":0'));
    f.trade(SYM, { price: px, qty: '0.00000001', side: 'sell' });
    await waitUntil(() => sink.trades().length >= 2, 'two trades');
    await new Promise((r) => setTimeout(r, 50));
    expect(sink.trades().map((t) => [t.tradeId, t.side, t.qty])).toEqual([[id, 'buy', 50_000_000], [String(Number(id) + 1), 'sell', 1]]);
    expect(venue!.marketData.stats.duplicateTrades).toBe(1);
    expect(sink.rejects.filter((r) => r.reason === 'negative_qty' || r.reason === 'non_positive_price')).toHaveLength(2);
  });

  it('resyncs after an unreadable book frame (a lost update), but not after unrelated garbage', async () => {
    const { f, sink, i } = await boot({});
    f.sendRaw('garbage');
    f.sendRaw('{"channel":"heartbeat"');
    await waitUntil(() => sink.rejects.filter((r) => r.reason === 'malformed').length >= 2, 'two counted rejections');
    expect(sink.statuses.filter((s) => s.state === 'resyncing')).toHaveLength(0);
    f.sendRaw('{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":6');
    await waitUntil(() => sink.statuses.some((s) => s.state === 'resyncing' && /^invalid update rejected \(malformed\)/.test(s.reason)), 'a resync');
    f.step(SYM, 10);
    await waitUntil(() => matches(sink, f, i, 10), 'the true book after the resync');
  });

  it('backs off when the venue keeps sending bad snapshots, then syncs', async () => {
    const { f, sink, i } = await boot({});
    f.badSnapshots = 3;
    f.corruptChecksum(SYM);
    await waitUntil(() => {
      f.step(SYM, 1);
      return sink.snapshots('resync').length === 1;
    }, 'a resync snapshot after three bad ones', 15_000);
    const subs = f.requests.filter((r) => r.method === 'subscribe' && r.params?.channel === 'book');
    expect(subs).toHaveLength(5); // the first, the resync, and one per bad snapshot
    // backoff ceilings 200, 400, 800 ms with equal jitter: at least 100 + 200 + 400 ms between them
    expect(subs[4]!.at - subs[1]!.at).toBeGreaterThanOrEqual(650);
    expect(sink.rejects.filter((r) => r.reason === 'bad_snapshot')).toHaveLength(3);
    f.step(SYM, 10);
    await waitUntil(() => matches(sink, f, i, 10), 'the true book');
  });
});
