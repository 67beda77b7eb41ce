import { defineInstrument } from '@cwts/core';
import { fastScale, instrumentScales } from '@cwts/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import { Frame, KrakenFrameParser, rfc3339Ms, checkKrakenSymbol, instrumentsFromPairs, krakenPrecision, krakenWsUrl, makeSymbolCtx, numberUnits, resolveKrakenOptions, validateKrakenOptions } from '../src/index.js';

const BTC = defineInstrument({ exchange: 'kraken', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.00000001' });

function parser() {
  const ctx = makeSymbolCtx('kraken', instrumentScales(BTC), krakenPrecision(BTC, 1, 8));
  return { p: new KrakenFrameParser('kraken', [ctx]), ctx };
}

describe('Kraken v2 frame parser', () => {
  it('reads a book update into integer ticks and lots, exponent quantities included', () => {
    const { p, ctx } = parser();
    const code = p.parse('{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":64000.5,"qty":0.001},{"price":63999,"qty":0}],"asks":[{"price":64001.2,"qty":5e-8}],"checksum":3310070434,"timestamp":"2023-10-06T17:35:55.440295Z"}]}', 7);
    expect(code).toBe(Frame.BOOK);
    expect(p.bookType).toBe('update');
    expect(p.checksum).toBe(3310070434);
    expect(ctx.delta.bids).toEqual([{ price: 640005, qty: 100_000 }, { price: 639990, qty: 0 }]);
    expect(ctx.delta.asks).toEqual([{ price: 640012, qty: 5 }]);
    expect(ctx.delta.ts).toBe(Date.parse('2023-10-06T17:35:55.440Z'));
    expect(ctx.delta.recvTs).toBe(7);
  });

  it('reads the same book in another key order through the slow path', () => {
    const { p, ctx } = parser();
    expect(p.parse('{"type":"snapshot","channel":"book","data":[{"checksum":1,"asks":[{"qty":1.5,"price":64001}],"bids":[],"symbol":"BTC/USD"}]}', 0)).toBe(Frame.BOOK);
    expect(p.bookType).toBe('snapshot');
    expect(ctx.delta.asks).toEqual([{ price: 640010, qty: 150_000_000 }]);
  });

  it('reads levels in Kraken\'s layout in place and any other level layout key by key, alike', () => {
    const frame = (levels: string) => `{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[${levels}],"asks":[],"checksum":1}]}`;
    const read = (levels: string) => {
      const { p, ctx } = parser();
      const code = p.parse(frame(levels), 0);
      return code === Frame.BOOK ? ctx.delta.bids.map((l) => ({ ...l })) : code;
    };
    const want = [{ price: 640005, qty: 100_000 }, { price: 639990, qty: 0 }, { price: 639980, qty: 5 }];
    expect(read('{"price":64000.5,"qty":0.001},{"price":63999,"qty":0},{"price":63998,"qty":5e-8}')).toEqual(want);
    expect(read('{"qty":0.001,"price":64000.5} , {"price":63999,"qty":0},\n{"price":63998, "qty":5e-8}')).toEqual(want);
    // a leading zero is not JSON: refused on both paths
    expect(read('{"price":064000.5,"qty":0.001}')).not.toEqual(expect.any(Array));
    expect(read('{"qty":0.001,"price":064000.5}')).not.toEqual(expect.any(Array));
    // off the grid and negative on the in-place path
    expect(read('{"price":64000.55,"qty":0.001}')).toBe(Frame.INVALID);
    expect(read('{"price":64000.5,"qty":-0.001}')).toBe(Frame.INVALID);
    // a level cut short, or followed by something other than , or ]
    expect(read('{"price":64000.5,"qty":0.001')).not.toEqual(expect.any(Array));
    expect(read('{"price":64000.5,"qty":0.001}x')).not.toEqual(expect.any(Array));
  });

  it('rejects values off the grid, negative quantities and unknown symbols', () => {
    const { p } = parser();
    expect(p.parse('{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":64000.55,"qty":1}],"asks":[],"checksum":1}]}', 0)).toBe(Frame.INVALID);
    expect(p.problem).toMatch(/off the tick grid/);
    expect(p.parse('{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":64000.5,"qty":-1}],"asks":[],"checksum":1}]}', 0)).toBe(Frame.INVALID);
    expect(p.parse('{"channel":"book","type":"update","data":[{"symbol":"ETH/USD","bids":[],"asks":[],"checksum":1}]}', 0)).toBe(Frame.INVALID);
    expect(p.problem).toMatch(/unknown symbol ETH\/USD/);
  });

  it('reads a trade time as strict RFC 3339: one Date.parse would read ("1 ", "+1", a missing one) refuses the frame', () => {
    const { p } = parser();
    const frame = (ts: string) => `{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":64000.1,"qty":0.5,"ord_type":"market","trade_id":4665906${ts}}]}`;
    expect(p.parse(frame(',"timestamp":"2023-09-25T07:49:37.708706Z"'), 1)).toBe(Frame.TRADE);
    expect(p.trades[0]!.trade.ts).toBe(Date.UTC(2023, 8, 25, 7, 49, 37, 708));
    // each a date in 2001 to Date.parse: such a time once let a backfill re-emit trades (feed-guard)
    for (const bad of ['"1 "', '"+1"', '"1,5"', '"2023-09-25 07:49:37Z"', '""']) expect(p.parse(frame(`,"timestamp":${bad}`), 1), bad).toBe(Frame.MALFORMED);
    expect(p.parse(frame(''), 1)).toBe(Frame.MALFORMED);
  });

  it('classifies trades, heartbeats, acks, errors, malformed and unknown frames', () => {
    const { p } = parser();
    expect(p.parse('{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":64000.1,"qty":0.5,"ord_type":"market","trade_id":4665906,"timestamp":"2023-09-25T07:49:37.708706Z"},{"symbol":"BTC/USD","side":"buy","price":64000.2,"qty":1e-8,"ord_type":"limit","trade_id":4665907,"timestamp":"2023-09-25T07:49:37.708706Z"}]}', 1)).toBe(Frame.TRADE);
    expect(p.trades.map((t) => [t.trade.tradeId, t.trade.side, t.trade.price, t.trade.qty])).toEqual([['4665906', 'sell', 640001, 50_000_000], ['4665907', 'buy', 640002, 1]]);
    expect(p.parse('{"channel":"heartbeat"}', 0)).toBe(Frame.HEARTBEAT);
    expect(p.parse('{"method":"subscribe","result":{"channel":"book","depth":10,"snapshot":true,"symbol":"BTC/USD"},"success":true,"time_in":"x","time_out":"y"}', 0)).toBe(Frame.REPLY);
    expect(p.parse('{"method":"pong","req_id":101,"time_in":"x","time_out":"y"}', 0)).toBe(Frame.REPLY);
    expect(p.parse('{"method":"subscribe","error":"Already subscribed","success":false,"symbol":"BTC/USD"}', 0)).toBe(Frame.ERROR);
    expect(p.problem).toMatch(/Already subscribed/);
    expect(p.parse('{"channel":"book","type":"update","data":[{"symbol":"BTC/', 0)).toBe(Frame.MALFORMED);
    expect(p.parse('not json', 0)).toBe(Frame.MALFORMED);
    expect(p.parse('[1,2]', 0)).toBe(Frame.MALFORMED);
    expect(p.parse('{"channel":"ohlc","data":[]}', 0)).toBe(Frame.UNKNOWN);
    expect(p.parse('{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":64000.1,"qty":0.5}]}', 0)).toBe(Frame.MALFORMED);
  });

  it('reads the JSON.parse path\'s prices and quantities from the frame text, never from a double', () => {
    const { p, ctx } = parser();
    // a book in another key order (the slow path): a price JSON.parse would round onto the grid
    expect(p.parse('{"type":"update","channel":"book","data":[{"checksum":1,"asks":[{"qty":1,"price":64001.00000000000000001}],"bids":[],"symbol":"BTC/USD"}]}', 0)).toBe(Frame.INVALID);
    expect(p.reason).toBe('off_grid');
    expect(p.parse('{"type":"update","channel":"book","data":[{"checksum":1,"asks":[{"qty":1.000000000000000000,"price":64001.10}],"bids":[],"symbol":"BTC/USD"}]}', 0)).toBe(Frame.BOOK);
    expect(ctx.delta.asks).toEqual([{ price: 640011, qty: 100_000_000 }]);
    // a trade: the price's text has more digits than the tick
    expect(p.parse('{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":64000.10000000000000001,"qty":0.5,"ord_type":"limit","trade_id":1,"timestamp":"2023-09-25T07:49:37.708706Z"}]}', 0)).toBe(Frame.INVALID);
    expect(p.reason).toBe('off_grid');
    expect(p.problem).toMatch(/64000\.10000000000000001 x 0\.5/);
    // values are JSON numbers: a string is refused, and one written to pose as a read number too
    expect(p.parse('{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":"64000.1","qty":0.5,"ord_type":"limit","trade_id":1,"timestamp":"x"}]}', 0)).toBe(Frame.INVALID);
    expect(p.parse('{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":"\\u000064000.1","qty":0.5,"ord_type":"limit","trade_id":1,"timestamp":"x"}]}', 0)).toBe(Frame.MALFORMED);
  });

  it('expands exponent numbers exactly and refuses anything that is not on the grid', () => {
    const lot = fastScale(BTC.qtyScale);
    const u = (s: string) => numberUnits(s, 0, s.length, lot);
    expect(u('1e-8')).toBe(1);
    expect(u('1.5e-7')).toBe(15);
    expect(u('2E+2')).toBe(20_000_000_000);
    expect(u('1e-9')).toBeNaN();
    expect(u('1e400')).toBeNaN();
    expect(u('0x10')).toBeNaN();
  });
});

describe('Kraken v2 frame parser: a key repeated in one object', () => {
  const book = (entry: string, env = '"channel":"book","type":"update"') => `{${env},"data":[{${entry}}]}`;
  const levels = '"bids":[{"price":64000.5,"qty":0.001}],"asks":[{"price":64001.2,"qty":1}]';
  it('refuses the frame as malformed in every object, on the in-place path and the JSON.parse path', () => {
    for (const f of [
      book(`"symbol":"BTC/USD",${levels},"checksum":-1,"checksum":3470818162`),
      book(`"symbol":"BTC/USD","bids":[{"price":64000.5,"price":63990.5,"qty":0.001}],"asks":[],"checksum":1`),
      book(`"symbol":"BTC/USD","bids":[{"qty":0.001,"price":64000.5,"price":63990.5}],"asks":[],"checksum":1`),
      book(`"symbol":"BTC/USD",${levels},"checksum":1`, '"channel":"book","type":"update","type":"snapshot"'),
      book(`"symbol":"BTC/USD",${levels},"checksum":1`, '"channel":"book","channel":"heartbeat","type":"update"'),
      book(`"symbol":"ETH/USD","symbol":"BTC/USD",${levels},"checksum":1`),
      book(`${levels},"checksum":1,"symbol":"BTC/USD","symbol":"BTC/USD"`),
      book(`"symbol":"BTC/USD",${levels},"checksum":1,"z":[{"a":1,"a":1}]`),
      book(`"symbol":"BTC/USD",${levels},"checksum":1,"\\u0073ymbol":"BTC/USD"`),
      '{"channel":"trade","type":"update","data":[{"symbol":"ETH/USD","symbol":"BTC/USD","side":"buy","price":64000.5,"qty":1,"ord_type":"limit","trade_id":7,"timestamp":"2026-12-05T06:00:00.200000Z"}]}',
      '{"channel":"heartbeat","channel":"heartbeat"}',
    ]) {
      const { p } = parser();
      expect(p.parse(f, 0), f).toBe(Frame.MALFORMED);
      expect(p.problem, f).toMatch(/^duplicate key /);
      expect(p.ctx, f).toBeUndefined();
      expect(p.trades.length, f).toBe(0);
    }
  });
  it('reads the same keys written once, and one unknown scalar key, as before', () => {
    const { p, ctx } = parser();
    expect(p.parse(book(`"symbol":"BTC/USD",${levels},"checksum":3470818162,"x":1`), 0)).toBe(Frame.BOOK);
    expect(p.checksum).toBe(3470818162);
    expect(ctx.delta.bids).toEqual([{ price: 640005, qty: 100_000 }]);
    // keys of the same name in different objects are not repeats
    expect(p.parse(book(`"symbol":"BTC/USD","bids":[{"price":64000.5,"qty":0.001},{"qty":0.002,"price":64000.4}],"asks":[],"checksum":1`), 0)).toBe(Frame.BOOK);
    expect(ctx.delta.bids).toEqual([{ price: 640005, qty: 100_000 }, { price: 640004, qty: 200_000 }]);
  });
});

describe('Kraken v2 frame parser on hostile input', () => {
  it('never throws and never yields a non-integer value on mutated frames', () => {
    const { p, ctx } = parser();
    const seeds = [
      '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":64000.5,"qty":0.001}],"asks":[{"price":64001.2,"qty":5e-8}],"checksum":3310070434,"timestamp":"2023-10-06T17:35:55.440295Z"}]}',
      '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":64000.1,"qty":0.5,"ord_type":"market","trade_id":4665906,"timestamp":"2023-09-25T07:49:37.708706Z"}]}',
      '{"method":"subscribe","result":{"channel":"book","depth":10,"snapshot":true,"symbol":"BTC/USD"},"success":true}',
    ];
    const codes = new Set<number>(Object.values(Frame));
    let a = 12345;
    const rnd = () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
    const alphabet = '{}[]:,"-.eE0123456789 abcnulltrue\\';
    for (let k = 0; k < 5000; k++) {
      let t = seeds[k % seeds.length]!;
      for (let m = 1 + Math.floor(rnd() * 3); m > 0; m--) {
        const at = Math.floor(rnd() * t.length);
        const r = rnd();
        if (r < 0.3) t = t.slice(0, at);
        else if (r < 0.6) t = t.slice(0, at) + alphabet[Math.floor(rnd() * alphabet.length)] + t.slice(at + 1);
        else if (r < 0.8) t = t.slice(0, at) + alphabet[Math.floor(rnd() * alphabet.length)] + t.slice(at);
        else t = t.slice(0, at) + t.slice(at + 1 + Math.floor(rnd() * 5));
      }
      const code = p.parse(t, 0);
      expect(codes.has(code), t).toBe(true);
      if (code === Frame.BOOK) {
        for (const l of [...ctx.delta.bids, ...ctx.delta.asks]) expect(Number.isSafeInteger(l.price) && Number.isSafeInteger(l.qty) && l.qty >= 0, t).toBe(true);
        expect(Number.isInteger(p.checksum) && p.checksum >= 0 && p.checksum <= 0xffffffff, t).toBe(true);
      }
      if (code === Frame.TRADE) for (const { trade } of p.trades) expect(Number.isSafeInteger(trade.price) && Number.isSafeInteger(trade.qty), t).toBe(true);
    }
  });
});

describe('RFC3339 timestamps', () => {
  it('reads Kraken\'s layout in place and anything else through Date.parse', () => {
    const t = (s: string) => rfc3339Ms(s, 0, s.length);
    expect(t('2023-10-06T17:35:55.440295Z')).toBe(Date.parse('2023-10-06T17:35:55.440Z'));
    expect(t('2023-10-06T17:35:55Z')).toBe(Date.parse('2023-10-06T17:35:55Z'));
    expect(t('2023-10-06T17:35:55.4Z')).toBe(Date.parse('2023-10-06T17:35:55.400Z'));
    expect(t('2023-10-06T17:35:55.440+02:00')).toBe(Date.parse('2023-10-06T15:35:55.440Z'));
    expect(t('2023-1x-06T17:35:55.440295Z')).toBe(0);
    expect(t('garbage')).toBe(0);
  });
});

describe('Kraken config', () => {
  it('maps the v1 endpoint to /v2 with an info line', () => {
    const lines: string[] = [];
    expect(krakenWsUrl('wss://ws.kraken.com', (m) => lines.push(m))).toBe('wss://ws.kraken.com/v2');
    expect(lines).toEqual([expect.stringMatching(/v1 endpoint; only v2 is implemented, using wss:\/\/ws\.kraken\.com\/v2/)]);
    expect(krakenWsUrl('wss://ws.kraken.com/v2/', (m) => lines.push(m))).toBe('wss://ws.kraken.com/v2');
    expect(krakenWsUrl(undefined)).toBe('wss://ws.kraken.com/v2');
    expect(lines).toHaveLength(1);
  });

  it('validates options with their paths', () => {
    expect(validateKrakenOptions({ book_depth: 20, nope: 1 }, 'kraken.options').map((p) => p.path).sort()).toEqual(['kraken.options.book_depth', 'kraken.options.nope']);
    expect(validateKrakenOptions({ reconnect_initial_ms: 500, reconnect_max_ms: 100 }, 'k.options')).toEqual([{ path: 'k.options.reconnect_max_ms', message: 'must be >= reconnect_initial_ms' }]);
    expect(resolveKrakenOptions(undefined).book_depth).toBe(25);
    expect(resolveKrakenOptions({ book_depth: 10 }).book_depth).toBe(10);
  });

  it('names pairs the v2 way and builds instruments from the instrument channel', () => {
    expect(checkKrakenSymbol('BTC/USD')).toBeUndefined();
    expect(checkKrakenSymbol('XBT/USD')).toMatch(/BTC\/USD/);
    expect(checkKrakenSymbol('BTC-USD')).toMatch(/did you mean "BTC\/USD"/);
    const pairs = [{ symbol: 'BTC/USD', base: 'BTC', quote: 'USD', price_precision: 1, qty_precision: 8, price_increment: 0.1, qty_increment: 1e-8, cost_min: 0.5 }, { symbol: 'broken' }];
    const [k] = instrumentsFromPairs('kraken', pairs, ['BTC/USD']);
    expect(k!.instrument).toMatchObject({ exchange: 'kraken', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.00000001', minNotional: '0.5' });
    expect(k!.precision).toMatchObject({ pricePrecision: 1, qtyPrecision: 8, priceMult: 1, qtyMult: 1 });
    expect(() => instrumentsFromPairs('kraken', pairs, ['ETH/USD'])).toThrow(/unknown symbol/);
  });
});

describe('book levels read at once (one regex pass over each level array)', () => {
  it('agrees with JSON.parse on mutated level arrays: the same levels, or a refusal where JSON refuses', () => {
    const { p, ctx } = parser();
    let a = 4242;
    const rnd = () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
    const alphabet = '{}[]:,"\\ .-+eE0123456789xpricqty';
    const sc = instrumentScales(BTC);
    const units = (v: unknown, s: typeof sc.price) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) return NaN;
      const t = String(v);
      return numberUnits(t, 0, t.length, s);
    };
    let books = 0;
    for (let k = 0; k < 4000; k++) {
      const lv = () => `{"price":${(64000 + Math.floor(rnd() * 200) / 10).toString()},"qty":${rnd() < 0.2 ? '0' : rnd() < 0.1 ? `${1 + Math.floor(rnd() * 9)}e-8` : (Math.floor(rnd() * 1e8) / 1e8).toString()}}`;
      const bids = Array.from({ length: 1 + Math.floor(rnd() * 5) }, lv).join(',');
      const asks = Array.from({ length: 1 + Math.floor(rnd() * 5) }, lv).join(',');
      let t = `{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[${bids}],"asks":[${asks}],"checksum":12345,"timestamp":"2023-10-06T17:35:55.440295Z"}]}`;
      const from = t.indexOf('"bids":[') + 8;
      const to = t.indexOf('],"checksum"');
      if (k % 5 !== 0) {
        const at = from + Math.floor(rnd() * (to - from + 1));
        const ch = alphabet[Math.floor(rnd() * alphabet.length)]!;
        const r = rnd();
        t = r < 0.4 ? t.slice(0, at) + ch + t.slice(at + 1) : r < 0.7 ? t.slice(0, at) + ch + t.slice(at) : t.slice(0, at) + t.slice(at + 1);
      }
      const code = p.parse(t, 0);
      let obj: { data?: { bids?: unknown[]; asks?: unknown[] }[] } | undefined;
      try {
        obj = JSON.parse(t) as typeof obj;
      } catch {
        expect(code, t).not.toBe(Frame.BOOK);
        continue;
      }
      const e = obj?.data?.[0];
      if (!e || !Array.isArray(e.bids) || !Array.isArray(e.asks)) {
        expect(code, t).not.toBe(Frame.BOOK);
        continue;
      }
      // an exponent past +-40 is refused whatever the value (numberUnits' documented bound)
      if (/[eE][+-]?\d{3,}/.test(t)) {
        expect(code, t).not.toBe(Frame.BOOK);
        continue;
      }
      const want = (ls: unknown[]) => ls.map((l) => ({ price: units((l as { price?: unknown } | null)?.price, sc.price), qty: units((l as { qty?: unknown } | null)?.qty, sc.qty) }));
      const wb = want(e.bids);
      const wa = want(e.asks);
      if ([...wb, ...wa].some((l) => Number.isNaN(l.price) || Number.isNaN(l.qty) || l.qty < 0)) {
        expect(code, t).toBe(Frame.INVALID);
        continue;
      }
      expect(code, t).toBe(Frame.BOOK);
      books++;
      // -0 (a "-0" on the wire) is a zero quantity like 0: compared as 0
      const z = (ls: { price: number; qty: number }[]) => ls.map((l) => ({ price: l.price + 0, qty: l.qty + 0 }));
      expect({ bids: z(ctx.delta.bids), asks: z(ctx.delta.asks) }, t).toEqual({ bids: z(wb), asks: z(wa) });
    }
    expect(books).toBeGreaterThan(800);
  });
});
