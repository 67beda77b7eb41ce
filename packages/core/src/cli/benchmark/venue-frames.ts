/**
 * Book update frames as each venue writes them (used by `pnpm bench adapters`, `pnpm bench e2e`
 * and `cwts-ultra benchmark`) (field order, number formats, envelopes), 10
 * bid + 10 ask level changes per frame, continuing the sequence of the venue's frame harness
 * right after its `reset('synced')` (packages/exchange-<venue>/src/frame-harness.ts), so every
 * frame applies cleanly and the book must stay SYNCED to the end.
 *
 * Every venue gets the same book changes: prices from the harness book's best bid 65000 down /
 * best ask 65001 up, 25 price levels per side (no depth truncation can apply), a quarter of the
 * changes deleting a level; only the venue's grid and text differ.
 */
import { MirrorBook } from '../../adapter-kit/index.js';

/** Kraken's checksum and number parser (from @cwts/exchange-kraken, which core cannot import). */
export interface KrakenFrameTools {
  krakenChecksum(book: MirrorBook, precision: never): number;
  numberUnits(s: string, start: number, end: number, scale: never): number;
}

/** mulberry32: a seeded PRNG, so every run writes the same frames. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LEVELS_PER_SIDE = 25;
const CHANGES_PER_SIDE = 10;
const TIME = '2026-12-05T06:00:00.123456789Z';

interface Change {
  bid: boolean;
  /** Price in ticks of the venue's grid. */
  ticks: number;
  /** Quantity in lots; 0 deletes. */
  lots: number;
}

/** The same stream of changes for every venue (bids first, then asks, per frame). */
function changes(n: number, seed: number, bestBidTicks: number, bestAskTicks: number): Change[][] {
  const rnd = mulberry32(seed);
  const out: Change[][] = [];
  for (let k = 0; k < n; k++) {
    const frame: Change[] = [];
    for (const bid of [true, false]) {
      for (let j = 0; j < CHANGES_PER_SIDE; j++) {
        const off = Math.floor(rnd() * LEVELS_PER_SIDE);
        const lots = rnd() < 0.25 ? 0 : 1 + Math.floor(rnd() * 500_000);
        frame.push({ bid, ticks: bid ? bestBidTicks - off : bestAskTicks + off, lots });
      }
    }
    out.push(frame);
  }
  return out;
}

/** Fixed-point text of `units` with `dec` decimals ("6500000", 2 -> "65000.00"). */
function fixed(units: number, dec: number): string {
  const s = units.toString().padStart(dec + 1, '0');
  return dec === 0 ? s : `${s.slice(0, s.length - dec)}.${s.slice(s.length - dec)}`;
}
/** The same value as a bare JSON number, as Kraken writes it (no trailing zeros). */
function bare(units: number, dec: number): string {
  const s = fixed(units, dec);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

// Grids of the harness instruments: Binance / ccxt-Binance 0.01 and 0.00001; Coinbase 0.01 and
// 1e-8; Kraken 0.1 and 1e-8; Bybit spot 0.01 and 0.000001.

export function binanceFrames(n: number, seed: number, opts: { combined: boolean }): string[] {
  let u = 1001; // the harness's snapshot is 1000 and its opening diff 1001
  return changes(n, seed, 6_500_000, 6_500_100).map((f, k) => {
    const lv = (c: Change) => `["${fixed(c.ticks, 2)}","${fixed(c.lots, 5)}"]`;
    const U = u + 1;
    u = U + f.length - 1;
    const data = `{"e":"depthUpdate","E":${1764900000000 + k},"s":"BTCUSDT","U":${U},"u":${u},"b":[${f.filter((c) => c.bid).map(lv).join(',')}],"a":[${f.filter((c) => !c.bid).map(lv).join(',')}]}`;
    return opts.combined ? `{"stream":"btcusdt@depth@100ms","data":${data}}` : data;
  });
}

export function coinbaseFrames(n: number, seed: number): string[] {
  let seq = 2; // heartbeat 0, level2 snapshot 1, trades snapshot 2
  return changes(n, seed, 6_500_000, 6_500_100).map((f) => {
    const lv = (c: Change) => `{"side":"${c.bid ? 'bid' : 'offer'}","event_time":"${TIME}","price_level":"${fixed(c.ticks, 2)}","new_quantity":"${c.lots === 0 ? '0' : fixed(c.lots, 8)}"}`;
    return `{"channel":"l2_data","client_id":"","timestamp":"${TIME}","sequence_num":${++seq},"events":[{"type":"update","product_id":"BTC-USD","updates":[${f.map(lv).join(',')}]}]}`;
  });
}

export function bybitFrames(n: number, seed: number): string[] {
  let u = 1000; // the harness's snapshot
  return changes(n, seed, 6_500_000, 6_500_100).map((f, k) => {
    const lv = (c: Change) => `["${fixed(c.ticks, 2)}","${fixed(c.lots, 6)}"]`;
    u++;
    return `{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":${1764900000000 + k},"data":{"s":"BTCUSDT","b":[${f.filter((c) => c.bid).map(lv).join(',')}],"a":[${f.filter((c) => !c.bid).map(lv).join(',')}],"u":${u},"seq":${50_000 + u}},"cts":${1764899999999 + k}}`;
  });
}

/**
 * Kraken's updates carry the CRC32 of the top 10 after the update, computed here on our own
 * copy of the book (starting from the harness's snapshot) with the pair's precision.
 */
export function krakenFrames(n: number, seed: number, precision: unknown, scales: { price: unknown; qty: unknown }, tools: KrakenFrameTools): string[] {
  const units = (text: string, scale: unknown) => tools.numberUnits(text, 0, text.length, scale as never);
  const book = new MirrorBook();
  const base = (ls: [string, string][]) => ls.map(([p, q]) => ({ price: units(p, scales.price), qty: units(q, scales.qty) }));
  book.apply(base([['65000.0', '1.0'], ['64999.0', '2.0'], ['64998.0', '3.0']]), base([['65001.0', '1.5'], ['65002.0', '2.5'], ['65003.0', '4.0']]));
  return changes(n, seed, 650_000, 650_010).map((f) => {
    const lv = (c: Change) => `{"price":${bare(c.ticks, 1)},"qty":${bare(c.lots, 8)}}`;
    const level = (c: Change) => ({ price: units(bare(c.ticks, 1), scales.price), qty: c.lots === 0 ? 0 : units(bare(c.lots, 8), scales.qty) });
    book.apply(f.filter((c) => c.bid).map(level), f.filter((c) => !c.bid).map(level));
    const checksum = tools.krakenChecksum(book, precision as never);
    return `{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[${f.filter((c) => c.bid).map(lv).join(',')}],"asks":[${f.filter((c) => !c.bid).map(lv).join(',')}],"checksum":${checksum},"timestamp":"2026-12-05T06:00:00.123456Z"}]}`;
  });
}
