/**
 * KrakenFeed: which book a rejected book frame resyncs; trade values read exactly from the frame
 * text; frames whose meaning is open (a repeated key, an entry naming no pair, a snapshot listing
 * a price twice) refused, and the books they may touch out of SYNCED.
 */
import type { FeedStatusEvent, MarketEventSink, TradeEvent } from '@cwts/core';
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
  const statuses: FeedStatusEvent[] = [];
  const sink = { onMarketEvent: (e: { type: string }) => (e.type === 'trade' ? trades.push(e as TradeEvent) : undefined), onFeedStatus: (st: FeedStatusEvent) => statuses.push(st), onFeedError: () => {}, onFeedReject: () => {} } as unknown as MarketEventSink;
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
  /** A book update frame whose checksum is that of `checked` (the book it leaves), or `checksum` as given. */
  const update = (symbol: string, bids: Level[], asks: Level[], checked: { bids: Level[]; asks: Level[] } | number) =>
    `{"channel":"book","type":"update","data":[{"symbol":"${symbol}","bids":${lv(bids)},"asks":${lv(asks)},"checksum":${typeof checked === 'number' ? checked : ck(symbol, checked.bids, checked.asks)},"timestamp":"2026-12-05T06:00:01.000000Z"}]}`;
  return { feed, snapshot, update, trade, trades, statuses, snapshotsAsked, ck, lv };
}

describe('KrakenFeed: book snapshots Kraken pushes', () => {
  it('an unasked snapshot while SYNCED replaces the book, counted as a resync, without resubscribing', () => {
    const { feed, snapshot, snapshotsAsked, statuses } = boot();
    feed.onFrame(snapshot('BTC/USD', [['65000.0', '1.0'], ['64999.0', '2.0']], [['65001.0', '1.0']]));
    const btc = feed.symbol('BTC/USD')!.sync;
    expect(btc.state).toBe('synced');
    snapshotsAsked.length = 0;
    statuses.length = 0;
    feed.onFrame(snapshot('BTC/USD', [['64999.0', '3.0']], [['65002.0', '1.0']]));
    expect(btc.state).toBe('synced');
    expect(btc.mirror.bids.levels()).toEqual([{ price: 649_990, qty: 300_000_000 }]);
    expect(btc.mirror.asks.levels()).toEqual([{ price: 650_020, qty: 100_000_000 }]);
    expect(btc.resyncs).toEqual({ other: 1 });
    expect(statuses.map((st) => [st.symbol, st.state])).toEqual([['BTC/USD', 'resyncing'], ['BTC/USD', 'synced']]);
    expect(statuses[0]!.reason).toMatch(/venue sent a new book snapshot/);
    // the snapshot in hand is the book: a resubscribe would only bring (and apply) yet another
    expect(snapshotsAsked).toEqual([]);
    expect(feed.reporter.counts).toEqual({});
  });

  it('an update arriving while the book resyncs, before the resubscribe\'s snapshot, is not applied onto that snapshot', () => {
    const { feed, snapshot, update, snapshotsAsked } = boot();
    const asks: Level[] = [['65001.0', '1.0']];
    feed.onFrame(snapshot('BTC/USD', [['65000.0', '1.0']], asks));
    const btc = feed.symbol('BTC/USD')!.sync;
    expect(btc.state).toBe('synced');
    snapshotsAsked.length = 0;
    // a checksum mismatch: the book resyncs (Kraken resubscribes)
    feed.onFrame(update('BTC/USD', [['64999.0', '2.0']], [], 1));
    expect(btc.state).toBe('buffering');
    expect(snapshotsAsked).toEqual(['BTC/USD']);
    // an update of the old subscription (its checksum right for the book it would make)
    feed.onFrame(update('BTC/USD', [['64998.0', '4.0']], [], { bids: [['65000.0', '1.0'], ['64998.0', '4.0']], asks }));
    expect(feed.stats.updatesBeforeSnapshot).toBe(1);
    expect(btc.buffered).toBe(0);
    // the new subscription's snapshot is the book, exactly
    feed.onFrame(snapshot('BTC/USD', [['65000.0', '1.0']], asks));
    expect(btc.state).toBe('synced');
    expect(btc.mirror.bids.levels()).toEqual([{ price: 650_000, qty: 100_000_000 }]);
    // and the stream goes on from it
    feed.onFrame(update('BTC/USD', [['64997.0', '5.0']], [], { bids: [['65000.0', '1.0'], ['64997.0', '5.0']], asks }));
    expect(btc.state).toBe('synced');
    expect(btc.mirror.bids.get(649_970)).toBe(500_000_000);
    expect(btc.resyncs).toEqual({ checksum: 1 });
  });
});

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

/** BTC/USD and ETH/USD SYNCED; BTC/USD has twelve bids (65000.0 down to 64989.0), the last two below the checksummed top 10. */
function bootSynced() {
  const b = boot();
  const asks: Level[] = [['65001.0', '1.0']];
  b.feed.onFrame(b.snapshot('BTC/USD', bids12('1.0'), asks));
  b.feed.onFrame(b.snapshot('ETH/USD', [['3000.0', '1.0']], [['3001.0', '1.0']]));
  const btc = b.feed.symbol('BTC/USD')!.sync;
  const eth = b.feed.symbol('ETH/USD')!.sync;
  expect([btc.state, eth.state]).toEqual(['synced', 'synced']);
  b.snapshotsAsked.length = 0;
  /** The checksum of BTC/USD's book as it is (an update below the top 10 leaves it so). */
  const btcCk = b.ck('BTC/USD', bids12('1.0'), asks);
  return { ...b, btc, eth, btcCk };
}

describe('KrakenFeed: frames whose meaning is open are refused', () => {
  it('a book update with a repeated key is refused as malformed and its book resyncs, below the top 10 too (fast path, slow path, any object)', () => {
    const upd = (entry: string) => `{"channel":"book","type":"update","data":[{${entry}}]}`;
    const cases: [string, string][] = (() => {
      const { btcCk } = bootSynced();
      const ts = '"timestamp":"2026-12-05T06:00:01.000000Z"';
      return [
        // the finding: a second price in a level below the top 10 (the checksum cannot catch it)
        ['price twice in a level', upd(`"symbol":"BTC/USD","bids":[{"price":64998.8,"price":64990.5,"qty":2.00000000}],"asks":[],"checksum":${btcCk},${ts}`)],
        ['qty twice in a level', upd(`"symbol":"BTC/USD","bids":[{"price":64990.5,"qty":2.0,"qty":0}],"asks":[],"checksum":${btcCk},${ts}`)],
        ['checksum twice', upd(`"symbol":"BTC/USD","bids":[{"price":64990.5,"qty":2.0}],"asks":[],"checksum":-1,"checksum":${btcCk},${ts}`)],
        ['bids twice', upd(`"symbol":"BTC/USD","bids":[],"asks":[],"bids":[{"price":64990.5,"qty":2.0}],"checksum":${btcCk},${ts}`)],
        ['type twice', `{"channel":"book","type":"snapshot","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":64990.5,"qty":2.0}],"asks":[],"checksum":${btcCk},${ts}}]}`],
        ['an unknown key twice', upd(`"symbol":"BTC/USD","bids":[{"price":64990.5,"qty":2.0}],"asks":[],"checksum":${btcCk},"x":1,"x":2,${ts}`)],
        ['a repeat inside an unknown object', upd(`"symbol":"BTC/USD","bids":[{"price":64990.5,"qty":2.0}],"asks":[],"checksum":${btcCk},"x":{"a":1,"a":2},${ts}`)],
        // read by the JSON.parse path (symbol after the levels)
        ['price twice, symbol last (slow path)', upd(`"bids":[{"price":64998.8,"price":64990.5,"qty":2.0}],"asks":[],"checksum":${btcCk},"symbol":"BTC/USD",${ts}`)],
        // a pair we did not subscribe first: the fast path stopped there (unknown symbol), JSON.parse reads BTC/USD
        ['symbol twice, unknown pair first', upd(`"symbol":"DOGE/USD","symbol":"BTC/USD","bids":[{"price":64990.5,"qty":2.0}],"asks":[],"checksum":${btcCk},${ts}`)],
        // a bad level first: the fast path refused it for the first symbol only
        ['symbol twice after an off-grid level', upd(`"symbol":"ETH/USD","bids":[{"price":3000.05,"qty":1}],"asks":[],"symbol":"BTC/USD","checksum":${btcCk},${ts}`)],
      ];
    })();
    for (const [name, frame] of cases) {
      const { feed, btc, eth } = bootSynced();
      feed.onFrame(frame);
      expect(feed.reporter.counts, name).toEqual({ malformed: 1 });
      expect(btc.state, name).not.toBe('synced');
      // the level the venue never had is not in the book
      expect(btc.mirror.bids.get(649_905), name).toBe(0);
      if (!frame.includes('ETH/USD')) expect(eth.state, name).toBe('synced');
    }
  });

  it('an invalid book update whose channel and symbol are written with escapes resyncs its book', () => {
    const { feed, btc, eth } = bootSynced();
    feed.onFrame('{"channel":"b\\u006fok","type":"update","data":[{"symbol":"BTC\\/USD","bids":[{"price":64990.55,"qty":2.0}],"asks":[],"checksum":1}]}');
    expect(feed.reporter.counts).toEqual({ off_grid: 1 });
    expect(btc.state).toBe('buffering');
    expect(eth.state).toBe('synced');
  });

  it('a trade with a repeated key is refused, not emitted for the last value', () => {
    const { feed, trades } = boot();
    const t = (fields: string) => `{"channel":"trade","type":"update","data":[{${fields},"side":"buy","ord_type":"limit","timestamp":"2026-12-05T06:00:00.200000Z"}]}`;
    feed.onFrame(t('"symbol":"ETH/USD","symbol":"BTC/USD","price":65000.1,"qty":0.5,"trade_id":7'));
    feed.onFrame(t('"symbol":"BTC/USD","price":65000.1,"price":1.0,"qty":0.5,"trade_id":8'));
    feed.onFrame(t('"symbol":"BTC/USD","price":65000.1,"qty":0.5,"trade_id":9,"trade_id":10'));
    expect(trades).toEqual([]);
    expect(feed.reporter.counts).toEqual({ malformed: 3 });
    // the same trade written once is emitted
    feed.onFrame(t('"symbol":"BTC/USD","price":65000.1,"qty":0.5,"trade_id":9'));
    expect(trades.map((x) => [x.symbol, x.tradeId, x.price])).toEqual([['BTC/USD', '9', 650_001]]);
  });

  it('a readable book frame whose entry names no pair takes every synced book out of SYNCED; a pair we did not subscribe does not', () => {
    const rest = (ck: number) => `"bids":[{"price":64990.5,"qty":2.0}],"asks":[],"checksum":${ck},"timestamp":"2026-12-05T06:00:01.000000Z"`;
    for (const data of [
      (ck: number) => `[{"symbol":null,${rest(ck)}}]`,
      (ck: number) => `[{"symbol":1e308,${rest(ck)}}]`,
      (ck: number) => `[{"symbol":["BTC/USD"],${rest(ck)}}]`,
      (ck: number) => `[{${rest(ck)}}]`,
      () => '[{}]',
      (ck: number) => `[[{"symbol":"BTC/USD",${rest(ck)}}]]`,
      (ck: number) => `{"symbol":"BTC/USD",${rest(ck)}}`,
      () => 'null',
    ]) {
      const { feed, btc, eth, btcCk } = bootSynced();
      const frame = `{"channel":"book","type":"update","data":${data(btcCk)}}`;
      feed.onFrame(frame);
      expect(feed.reporter.counts, frame).toEqual({ malformed: 1 });
      expect([btc.state, eth.state], frame).toEqual(['buffering', 'buffering']);
    }
    // the data key itself mangled: the entry is there, but not as data
    {
      const { feed, btc, eth, btcCk } = bootSynced();
      feed.onFrame(`{"channel":"book","type":"update","da4a":[{"symbol":"BTC/USD",${rest(btcCk)}}]}`);
      expect(feed.reporter.counts).toEqual({ malformed: 1 });
      expect([btc.state, eth.state]).toEqual(['buffering', 'buffering']);
    }
    // a second entry that names no pair after a first one the in-place reader refused at its
    // first bad level (seed 1, fuzz frame 48346: it resynced the first entry's book only)
    {
      const { feed, btc, eth, btcCk } = bootSynced();
      feed.onFrame(`{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[{"priy":0}],"checksum":${btcCk}},{"price":65000.7,"qtsum":1}]}`);
      expect(feed.reporter.counts).toEqual({ malformed: 1 });
      expect([btc.state, eth.state]).toEqual(['buffering', 'buffering']);
    }
    // a pair we did not subscribe names none of ours: counted, no book resyncs
    for (const sym of ['DOGE/USD', '']) {
      const { feed, btc, eth, btcCk } = bootSynced();
      feed.onFrame(`{"channel":"book","type":"update","data":[{"symbol":"${sym}",${rest(btcCk)}}]}`);
      expect(feed.reporter.counts, sym).toEqual({ unknown_symbol: 1 });
      expect([btc.state, eth.state], sym).toEqual(['synced', 'synced']);
    }
  });

  it('a snapshot listing a price twice is refused (bad_snapshot) and asked for again, never adopted truncated by position', () => {
    // 26 bids, 25 distinct prices (64995.0 twice): truncating to depth 25 by position would keep 24 levels
    const bids: Level[] = Array.from({ length: 25 }, (_, k): Level => [`${65000 - k}.0`, '1.0']);
    bids.splice(6, 0, ['64995.0', '3.0']);
    const asks: Level[] = [['65001.0', '1.0']];
    // its checksum matches the levels as a reader taking the first 25 entries in order sees them
    const checked = { bids: bids.slice(0, 25), asks };
    {
      // awaiting the first snapshot
      const { feed, snapshot, snapshotsAsked } = boot();
      const btc = feed.symbol('BTC/USD')!.sync;
      snapshotsAsked.length = 0;
      feed.onFrame(snapshot('BTC/USD', bids, asks, checked));
      expect(feed.reporter.counts).toEqual({ bad_snapshot: 1 });
      expect(btc.state).toBe('buffering');
      expect(snapshotsAsked).toEqual(['BTC/USD']);
      // the asks side too
      feed.onFrame(snapshot('BTC/USD', [['64999.0', '1.0']], [['65001.0', '1.0'], ['65002.0', '1.0'], ['65001.0', '2.0']]));
      expect(feed.reporter.counts).toEqual({ bad_snapshot: 2 });
      expect(btc.state).toBe('buffering');
      // a snapshot with one level per price syncs it
      const good = bids.filter((_, k) => k !== 6);
      feed.onFrame(snapshot('BTC/USD', good, asks));
      expect(btc.state).toBe('synced');
      expect(btc.mirror.bids.n).toBe(25);
    }
    {
      // while SYNCED: Kraken replaced its book; ours is the old one and resyncs
      const { feed, snapshot, btc, eth, snapshotsAsked } = bootSynced();
      feed.onFrame(snapshot('BTC/USD', bids, asks, checked));
      expect(feed.reporter.counts).toEqual({ bad_snapshot: 1 });
      expect(btc.state).toBe('buffering');
      expect(snapshotsAsked).toEqual(['BTC/USD']);
      expect(eth.state).toBe('synced');
    }
  });
});
