/**
 * Coinbase specifics the conformance suite does not cover: the 5-second subscribe rule, the
 * heartbeats channel and silent stalls, trade backfill after a reconnect, and JWT-authenticated
 * subscribes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { SystemClock } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { ConformanceSink, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createCoinbaseVenue, type CoinbaseVenue } from '../src/index.js';
import { FakeCoinbase, type FakeTimers } from './fake-coinbase.js';

const SYM = 'BTC-USD';

/** The server's clock, advanced by hand: the 5-second rule without waiting 5 seconds. */
class ManualTimers implements FakeTimers {
  now = 0;
  private pending: { at: number; fn: () => void; live: boolean }[] = [];
  setTimeout(fn: () => void, ms: number): unknown {
    const t = { at: this.now + ms, fn, live: true };
    this.pending.push(t);
    return t;
  }
  clearTimeout(h: unknown): void {
    if (h) (h as { live: boolean }).live = false;
  }
  advance(ms: number): void {
    this.now += ms;
    const due = this.pending.filter((t) => t.live && t.at <= this.now);
    this.pending = this.pending.filter((t) => t.live && t.at > this.now);
    for (const t of due) t.fn();
  }
}

describe('coinbase market data', () => {
  let fake: FakeCoinbase | undefined;
  let venue: CoinbaseVenue | undefined;
  let sink: ConformanceSink;

  afterEach(async () => {
    await venue?.marketData.stop();
    await fake?.close();
    venue = undefined;
    fake = undefined;
  });

  async function boot(f: FakeCoinbase, cfg: Record<string, unknown> = {}, options: Record<string, unknown> = {}): Promise<void> {
    venue = createCoinbaseVenue({ api_url: f.wsUrl, rest_url: f.restUrl, ...cfg, options: { reconnect_initial_ms: 20, reconnect_max_ms: 100, ...options } }, { exchange: 'coinbase', clock: new SystemClock() });
    sink = new ConformanceSink();
    await venue.marketData.start([SYM], sink);
  }
  const state = () => sink.books.get('coinbase', SYM)?.state;

  it('subscribes to heartbeats, level2 and market_trades at once, so the 5-second rule never fires', async () => {
    const timers = new ManualTimers();
    fake = await FakeCoinbase.start({ timers });
    await boot(fake);
    await waitUntil(() => state() === 'synced', 'synced');
    timers.advance(5000);
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.subscribeTimeouts).toBe(0);
    expect(fake.connectionCount()).toBe(1);
    expect(fake.subscribeMessages.map((m) => [m.channel, m.product_ids])).toEqual([['heartbeats', undefined], ['level2', [SYM]], ['market_trades', [SYM]]]);
    expect(fake.subscribeMessages.every((m) => m.jwt === undefined)).toBe(true);
    expect(state()).toBe('synced');
  });

  it('reconnects and subscribes again when the venue drops a connection whose subscribe was lost', async () => {
    const timers = new ManualTimers();
    fake = await FakeCoinbase.start({ timers });
    fake.ignoreSubscribes = 3; // all three subscribes of the first connection vanish
    await boot(fake);
    await waitUntil(() => fake!.subscribeMessages.length === 3, 'the first subscribes');
    expect(state()).not.toBe('synced');
    timers.advance(4999);
    await new Promise((r) => setTimeout(r, 30));
    expect(fake.subscribeTimeouts).toBe(0);
    timers.advance(1);
    expect(fake.subscribeTimeouts).toBe(1);
    await waitUntil(() => state() === 'synced', 'synced on the second connection');
    expect(sink.statuses.some((s) => s.state === 'disconnected' && /subscribe timeout|closed/i.test(s.reason))).toBe(true);
    expect(fake.connectionCount()).toBe(1);
  });

  it('takes a silent stall (no heartbeat) for a dead connection and resyncs on a new one', async () => {
    fake = await FakeCoinbase.start({ heartbeatMs: 100 });
    await boot(fake, {}, { stale_after_ms: 1000 });
    await waitUntil(() => state() === 'synced', 'synced');
    await waitUntil(() => (venue!.marketData.stats.heartbeats ?? 0) >= 2, 'heartbeats');
    fake.stall(true);
    await waitUntil(() => sink.statuses.some((s) => s.state === 'disconnected'), 'the stall detected', 5000);
    fake.stall(false);
    await waitUntil(() => sink.snapshots('resync').length >= 1 && state() === 'synced', 'resynced', 5000);
    fake.step(SYM, 20);
    await waitUntil(() => {
      const t = fake!.truth(SYM, 10);
      const mine = sink.top('coinbase', venue!.marketData.instrument(SYM)!, 10);
      return JSON.stringify(mine.bids.map((l) => l[0])) === JSON.stringify(t.bids.map((l) => String(Number(l[0]))));
    }, 'the true book');
  });

  it('asks again when a level2 resubscribe brings no snapshot (heartbeats keep the connection up, so no reconnect would heal it)', async () => {
    fake = await FakeCoinbase.start({ heartbeatMs: 100 });
    await boot(fake, {}, { snapshot_timeout_ms: 200 });
    await waitUntil(() => state() === 'synced', 'synced');
    const subs = fake.subscribeMessages.length;
    // the gap's market_trades and level2 resubscribes are lost on the way
    fake.ignoreSubscribes = 2;
    fake.skipSequence(SYM);
    fake.step(SYM, 1);
    await waitUntil(() => fake!.subscribeMessages.length >= subs + 2, 'the resubscribes');
    expect(state()).not.toBe('synced');
    const connections = fake.connectionCount();
    await waitUntil(() => state() === 'synced', 'synced again after the snapshot deadline');
    expect(fake.connectionCount()).toBe(connections);
    expect(sink.errors.filter((e) => /BTC-USD: no level2 snapshot within 200 ms of subscribing/.test(e.message))).toHaveLength(1);
    expect(fake.subscribeMessages.filter((m) => m.channel === 'level2').length).toBe(3); // the first, the lost one, the one after the deadline
  });

  it('answers a persistently crossed level2 snapshot with backed-off resubscribes, not a tight loop, and syncs once the book is sane', async () => {
    fake = await FakeCoinbase.start({ heartbeatMs: 100 });
    await boot(fake);
    await waitUntil(() => state() === 'synced', 'synced');
    // the venue's book becomes crossed (a bid 10.00 above the best ask) and a gap asks for a snapshot
    const crossing = 6_500_000 + 1000;
    fake.books.get(SYM)!.bids.set(crossing, 100_000_000);
    fake.skipSequence(SYM);
    fake.step(SYM, 1);
    const l2 = () => fake!.subscribeMessages.filter((m) => m.channel === 'level2').length;
    const before = l2();
    await new Promise((r) => setTimeout(r, 1000));
    expect(state()).not.toBe('synced');
    // first at once, then 100 ms doubling (about 4 in the first second; a tight loop makes hundreds)
    expect(l2() - before).toBeLessThanOrEqual(20);
    fake.books.get(SYM)!.bids.delete(crossing);
    await waitUntil(() => state() === 'synced', 'synced once the venue is no longer crossed');
  });

  it('backfills trades missed while disconnected from the market_trades snapshot, each once, and skips the history before start', async () => {
    fake = await FakeCoinbase.start();
    const history = [fake.trade(SYM, { price: '65000.01', qty: '0.1', side: 'buy' }), fake.trade(SYM, { price: '65000.02', qty: '0.1', side: 'sell' })];
    await boot(fake);
    await waitUntil(() => state() === 'synced', 'synced');
    const live = fake.trade(SYM, { price: '65000.03', qty: '0.2', side: 'buy' });
    await waitUntil(() => sink.trades().length === 1, 'a live trade');
    fake.dropConnections();
    const missed = [fake.trade(SYM, { price: '65000.04', qty: '0.3', side: 'sell' }), fake.trade(SYM, { price: '65000.05', qty: '0.4', side: 'buy' })];
    await waitUntil(() => sink.trades().length === 3, 'the backfilled trades');
    await waitUntil(() => state() === 'synced', 'resynced');
    const after = fake.trade(SYM, { price: '65000.06', qty: '0.5', side: 'buy' });
    await waitUntil(() => sink.trades().length === 4, 'the next live trade');
    expect(sink.trades().map((t) => t.tradeId)).toEqual([live, ...missed, after]);
    expect(sink.trades().map((t) => t.tradeId)).not.toContain(history[0]);
    expect(sink.trades()[1]).toMatchObject({ price: 6500004, qty: 30000000, side: 'sell' });
  });

  it('BTC-USDC beside BTC-USD: both subscribed as BTC-USD (the venue answers -USDC with the -USD data), both books true and SYNCED, each trade once per book, a gap heals both', async () => {
    fake = await FakeCoinbase.start({ products: ['BTC-USD', 'BTC-USDC'] });
    venue = createCoinbaseVenue({ api_url: fake.wsUrl, rest_url: fake.restUrl, options: { reconnect_initial_ms: 20, reconnect_max_ms: 100 } }, { exchange: 'coinbase', clock: new SystemClock() });
    sink = new ConformanceSink();
    const syms = ['BTC-USD', 'BTC-USDC'];
    await venue.marketData.start(syms, sink);
    const both = () => syms.every((s) => sink.books.get('coinbase', s)?.state === 'synced');
    await waitUntil(both, 'both synced');
    expect(fake.subscribeMessages.filter((m) => m.channel !== 'heartbeats').map((m) => [m.channel, m.product_ids])).toEqual([['level2', ['BTC-USD']], ['market_trades', ['BTC-USD']]]);
    const trueBook = () => syms.every((s) => {
      const t = fake!.truth('BTC-USD', 10);
      const mine = sink.top('coinbase', venue!.marketData.instrument(s)!, 10);
      return JSON.stringify(mine.bids.map((l) => l[0])) === JSON.stringify(t.bids.map((l) => String(Number(l[0]))));
    });
    fake.step('BTC-USD', 20);
    await waitUntil(trueBook, 'the true book in both');
    const id = fake.trade('BTC-USD', { price: '65000.03', qty: '0.2', side: 'buy' });
    await waitUntil(() => sink.trades().length === 2, 'the trade in both');
    expect(sink.trades().map((t) => [t.symbol, t.tradeId])).toEqual([['BTC-USD', id], ['BTC-USDC', id]]);
    fake.skipSequence('BTC-USD');
    fake.step('BTC-USD', 1);
    await waitUntil(() => venue!.marketData.stats.gaps === 1 && both(), 'resynced after the gap');
    fake.step('BTC-USD', 20);
    await waitUntil(trueBook, 'the true book in both after the gap');
    expect(sink.rejects).toEqual([]);
    expect(sink.errors.filter((e) => /unknown product/.test(e.message))).toEqual([]);
    expect(fake.subscribeMessages.every((m) => m.channel === 'heartbeats' || JSON.stringify(m.product_ids) === '["BTC-USD"]')).toBe(true);
  });

  it('signs every subscribe with an ES256 JWT when a key is configured, and counts an auth failure', async () => {
    // throwaway keys generated here; never a real one
    const good = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const bad = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const keyName = 'organizations/test-org/apiKeys/test-key';
    fake = await FakeCoinbase.start({ publicKey: good.publicKey, keyName });
    const pem = (k: typeof good) => new Secret(k.privateKey.export({ format: 'pem', type: 'sec1' }).toString());
    await boot(fake, { api_key: new Secret(keyName), api_secret: pem(good) });
    await waitUntil(() => state() === 'synced', 'synced with auth');
    expect(fake.subscribeMessages.length).toBe(3);
    expect(fake.subscribeMessages.every((m) => typeof m.jwt === 'string')).toBe(true);
    expect(fake.authFailures).toBe(0);
    await venue!.marketData.stop();
    await boot(fake, { api_key: new Secret(keyName), api_secret: pem(bad) });
    await waitUntil(() => sink.errors.some((e) => /authentication failure/.test(e.message)), 'the venue error counted');
    expect(fake.authFailures).toBeGreaterThan(0);
    expect(state()).not.toBe('synced');
  });
});
