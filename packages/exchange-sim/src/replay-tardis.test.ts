import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { L2Book } from '@cwts/core/microstructure';
import { ReplaySource, type ReplayItem } from './replay.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-tardis-'));
const BOOK = 'exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount';
const TRADES = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount';
const t0 = 1_700_000_000_000_000; // microseconds
const DAY = 86_400_000_000;
const bookRow = (tsUs: number, snap: boolean, side: 'bid' | 'ask', price: string, amount: string) => `binance,BTCUSDT,${tsUs},${tsUs + 100},${snap},${side},${price},${amount}`;
const tradeRow = (tsUs: number, id: string, side: string, price: string, amount = '0.01') => `binance,BTCUSDT,${tsUs},${tsUs + 100},${id},${side},${price},${amount}`;

function file(name: string, lines: string[]): string {
  const f = join(dir, name);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

function replay(files: string[]) {
  const errors: string[] = [];
  const src = new ReplaySource({ files, instruments: { BTCUSDT: { tickSize: '0.1', lotSize: '0.01' } }, onError: (_c, m) => errors.push(m) });
  const items: ReplayItem[] = [...src];
  return { src, items, errors };
}

/** Each tardis day file starts with a snapshot. Day 1: snapshot, then 3 deltas. Day 2: snapshot, then 2 deltas. */
function twoDays(): [string, string] {
  return [
    file('binance_incremental_book_L2_2023-11-14_BTCUSDT.csv', [
      BOOK,
      bookRow(t0, true, 'bid', '100.0', '1'),
      bookRow(t0, true, 'ask', '100.2', '1'),
      bookRow(t0 + 1000, false, 'bid', '100.0', '2'),
      bookRow(t0 + 2000, false, 'bid', '100.0', '3'),
      bookRow(t0 + 3000, false, 'bid', '100.0', '4'),
    ]),
    file('binance_incremental_book_L2_2023-11-15_BTCUSDT.csv', [
      BOOK,
      bookRow(t0 + DAY, true, 'bid', '101.0', '1'),
      bookRow(t0 + DAY, true, 'ask', '101.2', '1'),
      bookRow(t0 + DAY + 1000, false, 'bid', '101.0', '5'),
      bookRow(t0 + DAY + 2000, false, 'bid', '101.0', '6'),
    ]),
  ];
}

describe('tardis replay of several files', () => {
  it('two days of incremental_book_L2 for one symbol, merged, keep a book that the engine can follow on day 2', () => {
    const [d1, d2] = twoDays();
    // in either order of the files: sequence numbers rise in delivered order
    for (const files of [[d1, d2], [d2, d1]]) {
      const r = replay(files);
      // the engine's book (core L2Book, as the BookStore applies the replayed events)
      const book = new L2Book('binance', 'BTCUSDT');
      const seen: string[] = [];
      for (const ev of r.items) {
        if (ev.type === 'book_snapshot') {
          book.applySnapshot(ev);
          seen.push(`snap ${ev.seq} ${ev.reason}`);
        } else if (ev.type === 'book_delta') {
          book.applyDelta(ev);
          seen.push(`delta ${ev.firstSeq}`);
        } else seen.push(ev.type);
      }
      expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
      expect(seen).toEqual(['snap 1 initial', 'feed_status', 'delta 2', 'delta 3', 'delta 4', 'snap 5 resync', 'delta 6', 'delta 7']);
      expect(book.state, book.stateReason).toBe('synced');
      expect(book.bestBid()).toBe(1010);
      expect(book.qtyAt('bid', 1010)).toBe(600);
    }
  });
});

describe('tardis "unknown" trade side', () => {
  it('is inferred from the book mid, not from the levels one delta happened to change', () => {
    // book: bid 99.9 / ask 100.1 (mid 100.0). A delta then adds a deep bid at 95.0 and changes the ask
    // 100.5 level: the book's mid is still 100.0. A trade at 99.9 (the bid) is a sell.
    const bf = file('mid-book.csv', [
      BOOK,
      bookRow(t0, true, 'bid', '99.9', '1'),
      bookRow(t0, true, 'ask', '100.1', '1'),
      bookRow(t0, true, 'ask', '100.5', '1'),
      bookRow(t0 + 1000, false, 'bid', '95.0', '1'),
      bookRow(t0 + 1000, false, 'ask', '100.5', '2'),
      bookRow(t0 + 9000, false, 'bid', '99.9', '2'),
    ]);
    const tf = file('mid-trades.csv', [TRADES, tradeRow(t0 + 500, 'k1', 'buy', '100.1'), tradeRow(t0 + 5000, 'u1', 'unknown', '99.9')]);
    const r = replay([bf, tf]);
    expect(r.items.find((i) => i.type === 'trade' && i.tradeId === 'u1')).toMatchObject({ price: 999, side: 'sell' });
  });

  it('is not inferred from a book update that comes after the trade (look-ahead)', () => {
    // At 10 ms the book is bid 99.9 / ask 100.1 (mid 100.0): a print at 100.1 (the ask) is a buy.
    // At 50 ms (after the trade) the book moves up to bid 100.3 / ask 100.5 (old levels removed).
    const bf = file('ahead-book.csv', [
      BOOK,
      bookRow(t0, true, 'bid', '99.9', '1'),
      bookRow(t0, true, 'ask', '100.1', '1'),
      bookRow(t0 + 50_000, false, 'bid', '100.3', '1'),
      bookRow(t0 + 50_000, false, 'ask', '100.5', '1'),
      bookRow(t0 + 60_000, false, 'bid', '100.3', '2'),
    ]);
    const tf = file('ahead-trades.csv', [TRADES, tradeRow(t0 + 5_000, 'k1', 'buy', '100.1'), tradeRow(t0 + 10_000, 'u1', 'unknown', '100.1')]);
    const r = replay([bf, tf]);
    // at its time the print at the ask (100.1 >= mid 100.0) is a buy; the future mid (100.4) says sell
    expect(r.items.find((i) => i.type === 'trade' && i.tradeId === 'u1')).toMatchObject({ price: 1001, side: 'buy' });
  });
});

describe('tardis snapshot rows at two timestamps in a row', () => {
  it('are two snapshots: the second replaces the first (no level of the first stays behind)', () => {
    const f = file('two-snaps.csv', [
      BOOK,
      bookRow(t0, true, 'bid', '100.0', '1'),
      bookRow(t0, true, 'bid', '99.9', '1'),
      bookRow(t0, true, 'ask', '100.2', '1'),
      // the feed reconnected 2 s later: a new snapshot, no incremental row between, the market 1 % higher
      bookRow(t0 + 2_000_000, true, 'bid', '101.0', '1'),
      bookRow(t0 + 2_000_000, true, 'ask', '101.2', '1'),
      bookRow(t0 + 3_000_000, false, 'bid', '101.0', '2'),
    ]);
    const r = replay([f]);
    const snaps = r.items.filter((i) => i.type === 'book_snapshot');
    expect(snaps.map((s) => [s.ts, s.reason, s.bids.map((l) => l.price), s.asks.map((l) => l.price)])).toEqual([
      [t0 / 1000, 'initial', [1000, 999], [1002]],
      [t0 / 1000 + 2000, 'resync', [1010], [1012]],
    ]);
    const book = new L2Book('binance', 'BTCUSDT');
    for (const ev of r.items) {
      if (ev.type === 'book_snapshot') book.applySnapshot(ev);
      else if (ev.type === 'book_delta') book.applyDelta(ev);
    }
    // merged into one, the first snapshot's ask 100.2 stayed under the new bid 101.0: crossed
    expect([book.state, book.bestBid(), book.bestAsk()]).toEqual(['synced', 1010, 1012]);
    expect(r.errors).toEqual([]);
  });
});
