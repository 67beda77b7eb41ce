import { crc32 as zlibCrc32 } from 'node:zlib';
import { defineInstrument } from '@cwts/core';
import { MirrorBook } from '@cwts/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import { checksumText, crc32, krakenChecksum, krakenPrecision } from '../src/index.js';
import { checksumFromStrings } from './fake-kraken.js';

const BTC = defineInstrument({ exchange: 'kraken', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.00000001' });

function book(bids: [number, number][], asks: [number, number][]): MirrorBook {
  const m = new MirrorBook();
  m.apply(bids.map(([price, qty]) => ({ price, qty })), asks.map(([price, qty]) => ({ price, qty })));
  return m;
}

describe('Kraken book checksum', () => {
  it('crc32 is the ISO 3309 / zlib CRC', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    for (const s of ['', 'a', '452852100000', '9'.repeat(500)]) expect(crc32(s)).toBe(zlibCrc32(s));
  });

  it('formats each value at the pair precision: point removed, leading zeros stripped, trailing zeros kept', () => {
    const p = krakenPrecision(BTC, 1, 8);
    // asks 45285.2 x 0.00100000 and 45286.0 x 1.50000000, bid 45283.5 x 0.00000500: on the
    // wire these are 0.001, 45286, 1.5 and 5e-06, whose own digits would give another text
    const m = book([[452835, 500]], [[452852, 100_000], [452860, 150_000_000]]);
    expect(checksumText(m, p)).toBe('452852100000' + '452860150000000' + '452835500');
    expect(krakenChecksum(m, p)).toBe(crc32('452852100000452860150000000452835500'));
    expect(krakenChecksum(m, p)).toBe(checksumFromStrings([['45285.2', '0.00100000'], ['45286.0', '1.50000000']], [['45283.5', '0.00000500']]));
  });

  it('uses the top 10 levels only, asks low to high, then bids high to low', () => {
    const bids: [number, number][] = Array.from({ length: 25 }, (_, k) => [640_000 - 5 * k, 100_000 * (k + 1)]);
    const asks: [number, number][] = Array.from({ length: 25 }, (_, k) => [640_005 + 5 * k, 1234 + k]);
    const m = book(bids, asks);
    const s = (l: [number, number][]) => l.slice(0, 10).map(([p, q]): [string, string] => [(p / 10).toFixed(1), (q / 1e8).toFixed(8)]);
    expect(krakenChecksum(m, krakenPrecision(BTC, 1, 8))).toBe(checksumFromStrings(s(asks), s(bids)));
    // a change below the 10th level does not change the checksum
    const before = krakenChecksum(m, krakenPrecision(BTC, 1, 8));
    m.bids.set(640_000 - 5 * 20, 1);
    expect(krakenChecksum(m, krakenPrecision(BTC, 1, 8))).toBe(before);
    m.bids.set(640_000 - 5 * 9, 1);
    expect(krakenChecksum(m, krakenPrecision(BTC, 1, 8))).not.toBe(before);
  });

  it('pads ticks coarser than the precision (tick 0.5 at 2 decimals: 100.5 -> "10050")', () => {
    const i = defineInstrument({ exchange: 'kraken', symbol: 'X/USD', base: 'X', quote: 'USD', tickSize: '0.5', lotSize: '0.1' });
    const p = krakenPrecision(i, 2, 3);
    expect(p).toMatchObject({ priceMult: 50, qtyMult: 100 });
    const m = book([[200, 30]], [[201, 5]]); // bid 100.0 x 3.0, ask 100.5 x 0.5
    expect(checksumText(m, p)).toBe('10050' + '500' + '10000' + '3000');
    expect(krakenChecksum(m, p)).toBe(checksumFromStrings([['100.50', '0.500']], [['100.00', '3.000']]));
  });

  it('refuses an increment finer than the precision', () => {
    expect(() => krakenPrecision(BTC, 0, 8)).toThrow(/more decimals/);
  });

  it('the allocation-free checksum equals the CRC of the checksum text on random books', () => {
    let a = 7;
    const rnd = () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
    const p = krakenPrecision(BTC, 1, 8);
    for (let k = 0; k < 200; k++) {
      const n = Math.floor(rnd() * 14);
      const bids: [number, number][] = Array.from({ length: n }, (_, j) => [500_000 - j * 3, 1 + Math.floor(rnd() * 10 ** (1 + Math.floor(rnd() * 15)))]);
      const asks: [number, number][] = Array.from({ length: n }, (_, j) => [500_001 + j * 7, 1 + Math.floor(rnd() * 1e9)]);
      const m = book(bids, asks);
      expect(krakenChecksum(m, p)).toBe(crc32(checksumText(m, p)));
    }
    // beyond 2^53 after the multiplier: exact through bigint
    const wide = krakenPrecision(defineInstrument({ exchange: 'kraken', symbol: 'W/USD', base: 'W', quote: 'USD', tickSize: '1', lotSize: '1' }), 8, 8);
    const m = book([[2 ** 40, 3]], [[2 ** 40 + 1, 5]]);
    expect(checksumText(m, wide)).toBe(`${(2n ** 40n + 1n) * 10n ** 8n}500000000${2n ** 40n * 10n ** 8n}300000000`);
    expect(krakenChecksum(m, wide)).toBe(crc32(checksumText(m, wide)));
  });
});
