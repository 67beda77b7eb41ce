import { defineInstrument, qtyToLots, priceToTicks } from '@cwts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinanceUserStreamParser, type BinanceOrderUpdate } from './user-stream-parse.js';

const BTC = defineInstrument({ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });
const parser = () => new BinanceUserStreamParser((s) => (s === 'BTCUSDT' ? BTC : undefined));

/** user-data-stream.md "Order Update", as the venue writes a trade of our order. */
function tradeEvent(edit: (ev: Record<string, unknown>) => void = () => undefined): string {
  const ev: Record<string, unknown> = {
    e: 'executionReport', E: 1764921600123, s: 'BTCUSDT', c: 'cwts-1-abc', S: 'BUY', o: 'LIMIT', f: 'GTC', q: '0.02000000', p: '64000.50000000',
    P: '0.00000000', F: '0.00000000', g: -1, C: '', x: 'TRADE', X: 'PARTIALLY_FILLED', r: 'NONE', i: 1001, l: '0.00500000', z: '0.00500000',
    L: '64000.50000000', n: '0.24000188', N: 'USDT', T: 1764921600120, t: 7001, I: 90001, w: true, m: true, M: false, O: 1764921600000,
    Z: '320.00250000', Y: '320.00250000', Q: '0.00000000', W: 1764921600000, V: 'NONE',
  };
  edit(ev);
  return JSON.stringify({ subscriptionId: 0, event: ev });
}

function order(text: string): BinanceOrderUpdate {
  const m = parser().parse(text);
  if (m.kind !== 'order') throw new Error(`not accepted: ${JSON.stringify(m)}`);
  return m.update;
}

describe('BinanceUserStreamParser', () => {
  it('reads a trade exactly: lots and ticks on the grid, the commission as the venue wrote it, the execution id as its key', () => {
    const u = order(tradeEvent());
    expect(u).toMatchObject({ symbol: 'BTCUSDT', orderId: 1001, clientOrderId: 'cwts-1-abc', execType: 'TRADE', status: 'PARTIALLY_FILLED', qtyLots: 2000, priceTicks: 6400050, cumLots: 500, key: 'BTCUSDT|90001' });
    expect(u.trade).toEqual({ tradeId: 7001, price: '64000.50000000', qty: '0.00500000', lots: 500, ticks: 6400050, commission: '0.24000188', commissionAsset: 'USDT', maker: true, ts: 1764921600120 });
  });

  it("names the order a cancel's report is about by C (c is the cancel request's id)", () => {
    const u = order(tradeEvent((ev) => Object.assign(ev, { x: 'CANCELED', X: 'CANCELED', c: 'cancel-req-9', C: 'cwts-1-abc', l: '0.00000000', L: '0.00000000', t: -1 })));
    expect(u).toMatchObject({ clientOrderId: 'cwts-1-abc', execType: 'CANCELED', cumLots: 500, trade: undefined });
  });

  it('passes an order on a symbol this process does not trade as foreign, and account events as other, neither counted as refused', () => {
    const p = parser();
    expect(p.parse(tradeEvent((ev) => (ev.s = 'ETHBTC')))).toEqual({ kind: 'foreign', symbol: 'ETHBTC' });
    expect(p.parse(JSON.stringify({ subscriptionId: 0, event: { e: 'outboundAccountPosition', E: 1, u: 1, B: [] } }))).toEqual({ kind: 'other' });
    expect(p.parse(JSON.stringify({ subscriptionId: 0, event: { e: 'eventStreamTerminated', E: 1 } }))).toEqual({ kind: 'terminated' });
    expect(p.rejected).toBe(0);
  });

  it.each([
    ['a trade at price 0', (ev: Record<string, unknown>) => (ev.L = '0.00000000'), 'invalid_trade'],
    ['a negative trade quantity', (ev: Record<string, unknown>) => (ev.l = '-0.00500000'), 'invalid_trade'],
    ['a trade quantity off the lot grid', (ev: Record<string, unknown>) => (ev.l = '0.005000001'), 'invalid_trade'],
    ['a trade price off the tick grid', (ev: Record<string, unknown>) => (ev.L = '64000.505'), 'invalid_trade'],
    ['a trade quantity as a JSON number', (ev: Record<string, unknown>) => (ev.l = 0.005), 'invalid_trade'],
    ['a trade quantity in exponent form', (ev: Record<string, unknown>) => (ev.l = '5e-3'), 'invalid_trade'],
    ['a trade larger than the filled quantity', (ev: Record<string, unknown>) => (ev.l = '0.00600000'), 'invalid_trade'],
    ['a filled quantity beyond the order', (ev: Record<string, unknown>) => (ev.z = '0.02100000'), 'overfill'],
    ['a negative commission', (ev: Record<string, unknown>) => (ev.n = '-0.1'), 'invalid_trade'],
    ['a trade id past 2^53', (ev: Record<string, unknown>) => (ev.t = 2 ** 53 + 2), 'invalid_trade'],
    ['a fractional trade id', (ev: Record<string, unknown>) => (ev.t = 7001.5), 'invalid_trade'],
    ['an order id as a string', (ev: Record<string, unknown>) => (ev.i = '1001'), 'shape'],
    ['a maker flag as a string', (ev: Record<string, unknown>) => (ev.m = 'true'), 'shape'],
    ['an unknown execution type', (ev: Record<string, unknown>) => (ev.x = 'FILL'), 'unknown_type'],
    ['an unknown order status', (ev: Record<string, unknown>) => (ev.X = 'DONE'), 'unknown_status'],
    ['a side that is neither', (ev: Record<string, unknown>) => (ev.S = 'HOLD'), 'shape'],
    ['a 5,000-digit quantity', (ev: Record<string, unknown>) => (ev.z = '9'.repeat(5000)), 'off_grid'],
  ])('refuses %s, naming the order so it can be read over REST', (_what, edit, reason) => {
    const p = parser();
    const m = p.parse(tradeEvent(edit));
    expect(m).toMatchObject({ kind: 'rejected', reason, symbol: 'BTCUSDT', clientOrderId: 'cwts-1-abc' });
    expect(p.rejected).toBe(1);
    expect(p.rejects.get(reason)).toBe(1);
  });

  it('refuses a report whose order cannot be named, without a name (the client then reads every order it follows)', () => {
    const m = parser().parse(tradeEvent((ev) => (ev.c = 42)));
    expect(m).toMatchObject({ kind: 'rejected', reason: 'shape', clientOrderId: undefined });
  });

  it('refuses a frame nesting deeper than 16 unparsed; brackets inside strings do not count', () => {
    const p = parser();
    expect(p.parse(`{"subscriptionId":0,"event":${'['.repeat(100_000)}`)).toMatchObject({ kind: 'rejected', reason: 'unreadable', message: 'frame nests too deep' });
    expect(p.parse(tradeEvent((ev) => (ev.r = '[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{"\\')))).toMatchObject({ kind: 'order' });
  });

  it('refuses every truncation of a trade frame, at every byte, and reads the whole frame after them', () => {
    const p = parser();
    const text = tradeEvent();
    for (let k = 0; k < text.length; k++) expect(p.parse(text.slice(0, k)).kind).toBe('rejected');
    expect(p.parse(text).kind).toBe('order');
    expect(p.rejected).toBe(text.length);
  });

  it('never throws, and accepts a trade only with exact positive values that add up (any field replaced by any JSON value)', () => {
    const fields = ['s', 'c', 'C', 'S', 'o', 'q', 'p', 'x', 'X', 'r', 'i', 'l', 'z', 'L', 'n', 'N', 'T', 't', 'I', 'm'];
    const decimalish = fc.oneof(
      fc.constantFrom('0', '0.00000000', '0.00500000', '0.00499999', '-0.005', '1e-3', '64000.50', '64000.505', '0.02', '0.021', '9007199254740993', ''),
      fc.stringMatching(/^-?\d{0,20}(\.\d{0,12})?$/),
    );
    const value = fc.oneof(decimalish, fc.jsonValue(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
    const edits = fc.array(fc.tuple(fc.constantFrom(...fields), value), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(edits, (list) => {
        const text = tradeEvent((ev) => {
          for (const [k, v] of list) ev[k] = v;
        });
        const m = parser().parse(text);
        if (m.kind !== 'order') return;
        const u = m.update;
        const ev = (JSON.parse(text) as { event: Record<string, string> }).event;
        expect(Number.isSafeInteger(u.orderId) && u.orderId >= 0).toBe(true);
        expect(u.cumLots).toBe(qtyToLots(BTC, ev.z!));
        if (u.qtyLots > 0) expect(u.cumLots).toBeLessThanOrEqual(u.qtyLots);
        if (u.execType === 'TRADE') {
          const t = u.trade!;
          expect(t.lots).toBe(qtyToLots(BTC, ev.l!));
          expect(t.ticks).toBe(priceToTicks(BTC, ev.L!));
          expect(t.lots > 0 && t.ticks > 0 && t.lots <= u.cumLots).toBe(true);
          expect(Number.isSafeInteger(t.tradeId) && t.tradeId >= 0).toBe(true);
          expect(t.commission).toMatch(/^\d+(\.\d+)?$/);
        } else expect(u.trade).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
  });
});
