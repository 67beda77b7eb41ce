import { describe, expect, it } from 'vitest';
import { createKrakenFrameHarness } from '../src/frame-harness.js';

// The malformed-input section judges hostile inputs against what the clean samples do; these
// check that the clean samples really reach the book and the trade stream (a harness whose feed
// dropped everything would otherwise pass every "unchanged" verdict).
describe('Kraken frame harness', () => {
  const h = createKrakenFrameHarness();
  const sample = (kind: string) => h.samples().find((s) => s.kind === kind)!.text;

  it('starts SYNCED at its known book', () => {
    const s = h.reset();
    expect(s.state).toBe('synced');
    expect(s.bids).toEqual([[650000, 100000000], [649990, 200000000], [649980, 300000000]]);
    expect(s.asks[0]).toEqual([650010, 150000000]);
    expect(s.rejected).toBe(0);
  });

  it('applies the clean book update (an insert, a delete, a change) with its checksum', () => {
    h.reset();
    const s = h.feed(sample('book update'));
    expect(s.state).toBe('synced');
    expect(s.rejected).toBe(0);
    expect(s.bids).toEqual([[650000, 100000000], [649995, 25000000], [649980, 300000000]]);
    expect(s.asks[0]).toEqual([650010, 75000000]);
  });

  it('replaces the book with an unasked snapshot, and emits the clean trade once', () => {
    h.reset();
    let s = h.feed(sample('book snapshot'));
    expect(s.state).toBe('synced');
    expect(s.bids).toEqual([[650005, 125000000], [649990, 200000000]]);
    s = h.feed(sample('trade'));
    s = h.feed(sample('trade'));
    expect(s.trades).toEqual([{ tradeId: '5001', price: 650005, qty: 100000 }]);
  });

  it('counts a rejected input by reason and never shows its level', () => {
    h.reset();
    const bad = sample('book update').replace('"price":64999.5', '"price":64999.55');
    const s = h.feed(bad);
    expect(s.rejected).toBe(1);
    expect(s.state).toBe('unsynced');
    expect(h.feed(new Uint8Array([1, 2, 3])).rejected).toBe(2);
  });

  it('takes the clean executions samples through the executions parser (accepted, counted, the book untouched) and counts a bad one', () => {
    const s0 = h.reset();
    let s = s0;
    for (const kind of ['executions trade', 'executions cancel', 'executions subscribe reply']) s = h.feed(sample(kind));
    expect(s.frames).toBe(s0.frames + 3);
    expect(s.rejected).toBe(0);
    expect(s.state).toBe('synced');
    expect([s.bids, s.asks]).toEqual([s0.bids, s0.asks]);
    expect(s.trades).toEqual([]);
    const offGrid = sample('executions trade').replace('"last_qty":0.25', '"last_qty":0.250000001');
    expect(h.feed(offGrid).rejected).toBe(1);
  });
});
