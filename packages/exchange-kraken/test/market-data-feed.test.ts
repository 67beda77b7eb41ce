/** KrakenFeed: which book a rejected book frame resyncs. */
import { MirrorBook } from '@cwts/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import { krakenChecksum } from '../src/checksum.js';
import { KrakenFeed } from '../src/feed.js';
import { instrumentsFromPairs } from '../src/instruments.js';
import { numberUnits } from '../src/parse.js';

const pair = (symbol: string, base: string) => ({ symbol, base, quote: 'USD', status: 'online', qty_precision: 8, qty_increment: 1e-8, price_precision: 1, price_increment: 0.1, cost_precision: 5, marginable: false, has_index: true, cost_min: 0.5, tick_size: 0.1, qty_min: 0.0001 });
type Level = [string, string];

function boot() {
  const instruments = instrumentsFromPairs('kraken', [pair('BTC/USD', 'BTC'), pair('ETH/USD', 'ETH')], ['BTC/USD', 'ETH/USD']);
  const feed = new KrakenFeed({ exchange: 'kraken', instruments, bookDepth: 25, sink: () => undefined, now: () => 0, requestSnapshot: () => {} });
  const ck = (symbol: string, bids: Level[], asks: Level[]) => {
    const s = feed.symbol(symbol)!;
    const u = (ls: Level[]) => ls.map(([p, q]) => ({ price: numberUnits(p, 0, p.length, s.scales.price), qty: numberUnits(q, 0, q.length, s.scales.qty) }));
    const m = new MirrorBook();
    m.apply(u(bids), u(asks));
    return krakenChecksum(m, s.precision);
  };
  const lv = (ls: Level[]) => `[${ls.map(([p, q]) => `{"price":${p},"qty":${q}}`).join(',')}]`;
  const snapshot = (symbol: string, bids: Level[], asks: Level[]) =>
    `{"channel":"book","type":"snapshot","data":[{"symbol":"${symbol}","bids":${lv(bids)},"asks":${lv(asks)},"checksum":${ck(symbol, bids, asks)},"timestamp":"2026-12-05T06:00:00.123456Z"}]}`;
  for (const s of feed.symbols) s.sync.begin('initial');
  return { feed, snapshot };
}

describe('KrakenFeed book frames', () => {
  it('an invalid book update read by the slow path (symbol after the levels) resyncs its own symbol, not the previous frame\'s', () => {
    const { feed, snapshot } = boot();
    feed.onFrame(snapshot('BTC/USD', [['65000.0', '1.0'], ['64999.0', '2.0']], [['65001.0', '1.0']]));
    feed.onFrame(snapshot('ETH/USD', [['3000.0', '1.0']], [['3001.0', '1.0']]));
    const btc = feed.symbol('BTC/USD')!.sync;
    const eth = feed.symbol('ETH/USD')!.sync;
    expect(btc.state).toBe('synced');
    // a BTC/USD update with "symbol" after the levels (valid JSON, keys in another order) and an off-grid price
    const bad = '{"channel":"book","type":"update","data":[{"bids":[{"price":64999.05,"qty":0}],"asks":[],"symbol":"BTC/USD","checksum":1,"timestamp":"2026-12-05T06:00:01.000000Z"}]}';
    feed.onFrame(bad);
    expect(feed.rejected).toBe(1);
    // the BTC/USD book missed that update: it must not stay SYNCED
    // (levels beyond the top 10 are not covered by the checksum: nothing later would catch it)
    expect(btc.state).not.toBe('synced');
    expect(btc.resyncs.invalid).toBe(1);
    expect(eth.state).toBe('synced');
    expect(eth.resyncs).toEqual({});
  });
});
