/** KrakenFeed: which book a rejected book frame resyncs; trade values read exactly from the frame text. */
import type { MarketEventSink, TradeEvent } from '@cwts/core';
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
  const trades: TradeEvent[] = [];
  const sink = { onMarketEvent: (e: { type: string }) => (e.type === 'trade' ? trades.push(e as TradeEvent) : undefined), onFeedStatus: () => {}, onFeedError: () => {}, onFeedReject: () => {} } as unknown as MarketEventSink;
  const snapshotsAsked: string[] = [];
  const feed = new KrakenFeed({ exchange: 'kraken', instruments, bookDepth: 25, sink: () => sink, now: () => 0, requestSnapshot: (s) => snapshotsAsked.push(s.symbol) });
  const ck = (symbol: string, bids: Level[], asks: Level[]) => {
    const s = feed.symbol(symbol)!;
    const u = (ls: Level[]) => ls.map(([p, q]) => ({ price: numberUnits(p, 0, p.length, s.scales.price), qty: numberUnits(q, 0, q.length, s.scales.qty) }));
    const m = new MirrorBook();
    m.apply(u(bids), u(asks));
    return krakenChecksum(m, s.precision);
  };
  const lv = (ls: Level[]) => `[${ls.map(([p, q]) => `{"price":${p},"qty":${q}}`).join(',')}]`;
  /** A snapshot frame with the given levels; its checksum is that of `checked` levels when given (a corrupt frame). */
  const snapshot = (symbol: string, bids: Level[], asks: Level[], checked?: { bids: Level[]; asks: Level[] }) =>
    `{"channel":"book","type":"snapshot","data":[{"symbol":"${symbol}","bids":${lv(bids)},"asks":${lv(asks)},"checksum":${ck(symbol, checked?.bids ?? bids, checked?.asks ?? asks)},"timestamp":"2026-12-05T06:00:00.123456Z"}]}`;
  const trade = (price: string, qty: string, id: number) =>
    `{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":${price},"qty":${qty},"ord_type":"limit","trade_id":${id},"timestamp":"2026-12-05T06:00:00.200000Z"}]}`;
  for (const s of feed.symbols) s.sync.begin('initial');
  return { feed, snapshot, trade, trades, snapshotsAsked };
}

/** Twelve bids: the 12th (below the checksummed top 10) has quantity q12. */
const bids12 = (q12: string): Level[] => Array.from({ length: 12 }, (_, k): Level => [`${65000 - k}.0`, k === 11 ? q12 : '1.0']);

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

  it('a snapshot that fails its checksum while the book is SYNCED resyncs the book (the old one is not kept SYNCED)', () => {
    const { feed, snapshot, snapshotsAsked } = boot();
    const asks: Level[] = [['65001.0', '1.0']];
    feed.onFrame(snapshot('BTC/USD', bids12('1.0'), asks));
    const btc = feed.symbol('BTC/USD')!.sync;
    expect(btc.state).toBe('synced');
    snapshotsAsked.length = 0; // those of the initial sync
    // Kraken pushes a new snapshot: its 12th bid (below the checksummed top 10) differs from
    // ours, and one top-10 qty arrives mangled, so the frame's checksum does not match its levels
    const venue = bids12('7.0');
    const mangled = venue.map((l, k): Level => (k === 0 ? [l[0], '1.5'] : l));
    feed.onFrame(snapshot('BTC/USD', mangled, asks, { bids: venue, asks }));
    expect(feed.reporter.counts).toEqual({ bad_snapshot: 1 });
    // the venue's book is now the new one and ours the old one: nothing later could catch the
    // difference below the top 10, so the book resyncs (a fresh snapshot is asked for)
    expect(btc.state).toBe('buffering');
    expect(snapshotsAsked).toEqual(['BTC/USD']);
    expect(btc.resyncs).toEqual({ checksum: 1 });
    // the fresh snapshot syncs it again, with the venue's levels
    feed.onFrame(snapshot('BTC/USD', venue, asks));
    expect(btc.state).toBe('synced');
    expect(btc.mirror.bids.get(649_890)).toBe(700_000_000);
  });

  it('a trade value whose text is off the grid is rejected, not rounded onto it by a double', () => {
    const { feed, trade, trades } = boot();
    // 65000.10000000000000001 is not a multiple of 0.1, though JSON.parse reads it as 65000.1
    feed.onFrame(trade('65000.10000000000000001', '0.5', 7));
    // the same for a quantity finer than the lot: 0.500000000000000001 reads as the double 0.5
    feed.onFrame(trade('65000.1', '0.500000000000000001', 8));
    expect(trades).toEqual([]);
    expect(feed.reporter.counts).toEqual({ off_grid: 2 });
    // exact values, exponent form and trailing zeros included, are read as before
    feed.onFrame(trade('65000.10000000000000000', '5e-8', 9));
    expect(trades.map((t) => [t.tradeId, t.price, t.qty])).toEqual([['9', 650_001, 5]]);
  });
});
