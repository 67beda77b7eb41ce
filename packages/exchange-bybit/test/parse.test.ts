import { defineInstrument } from '@cwts/core';
import { instrumentScales } from '@cwts/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import { BybitFrameParser, Frame, bybitEndpoints, instrumentsFromInstrumentsInfo, makeSymbolCtx, resolveBybitOptions, validateBybitOptions } from '../src/index.js';

const spot = defineInstrument({ exchange: 'bybit', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.000001' });
const mk = (depth = 50) => new BybitFrameParser([makeSymbolCtx('bybit', instrumentScales(spot), depth)]);

// Frames in the layout of Bybit's v5 docs (websocket/public/orderbook, trade, all-liquidation, ws/connect).
const delta = '{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1687940967466,"data":{"s":"BTCUSDT","b":[["30247.20","30.028"],["30245.40","0"]],"a":[["30248.70","0.000100"]],"u":177400507,"seq":66544703342},"cts":1687940967464}';
const snapshot = '{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"],["16493.00","0.100"]],"a":[["16611.00","0.029"],["16612.00","0.213"]],"u":18521288,"seq":7961638724},"cts":1672304484976}';

describe('BybitFrameParser', () => {
  it('reads orderbook deltas straight to integers (u is both first and last id)', () => {
    const p = mk();
    expect(p.parse(delta, 7)).toBe(Frame.BOOK_DELTA);
    expect(p.ctx!.delta).toMatchObject({ firstSeq: 177400507, seq: 177400507, ts: 1687940967466, recvTs: 7, bids: [{ price: 3024720, qty: 30028000 }, { price: 3024540, qty: 0 }], asks: [{ price: 3024870, qty: 100 }] });
    expect(p.ctx!.crossSeq).toBe(66544703342);
  });

  it('reads snapshots into arrays of their own (the engine keeps them)', () => {
    const p = mk();
    expect(p.parse(snapshot, 0)).toBe(Frame.BOOK_SNAPSHOT);
    const s1 = p.ctx!.snapshot;
    expect(s1).toEqual({ seq: 18521288, ts: 1672304484978, bids: [{ price: 1649350, qty: 6000 }, { price: 1649300, qty: 100000 }], asks: [{ price: 1661100, qty: 29000 }, { price: 1661200, qty: 213000 }] });
    expect(p.parse(delta, 0)).toBe(Frame.BOOK_DELTA);
    expect(s1.bids[0]).toEqual({ price: 1649350, qty: 6000 }); // not overwritten by the next frame
  });

  it('takes the slow path for other key orders with the same result', () => {
    const p = mk();
    const reordered = '{"type":"delta","data":{"u":5,"seq":9,"a":[],"b":[["1.00","2"]],"s":"BTCUSDT"},"ts":3,"topic":"orderbook.50.BTCUSDT"}';
    expect(p.parse(reordered, 0)).toBe(Frame.BOOK_DELTA);
    expect(p.ctx!.delta).toMatchObject({ firstSeq: 5, seq: 5, ts: 3, bids: [{ price: 100, qty: 2000000 }], asks: [] });
  });

  it('reads every trade of a publicTrade frame with the taker side and string ids', () => {
    const p = mk();
    const text = '{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false},{"T":1672304486866,"s":"BTCUSDT","S":"Sell","v":"0.5","p":"16578.00","i":"2290000000061666327","BT":false}]}';
    expect(p.parse(text, 1)).toBe(Frame.TRADES);
    expect(p.ctx!.tradeCount).toBe(2);
    expect(p.ctx!.trades[0]).toMatchObject({ type: 'trade', symbol: 'BTCUSDT', tradeId: '20f43950-d8dd-5b31-9112-a178eb6023af', side: 'buy', price: 1657850, qty: 1000, ts: 1672304486865 });
    expect(p.ctx!.trades[1]).toMatchObject({ tradeId: '2290000000061666327', side: 'sell', price: 1657800, qty: 500000 });
  });

  it('maps allLiquidation: a liquidated long ("Buy") is a forced sell', () => {
    const p = new BybitFrameParser([makeSymbolCtx('bybit', instrumentScales(defineInstrument({ exchange: 'bybit', symbol: 'ROSEUSDT', base: 'ROSE', quote: 'USDT', tickSize: '0.00001', lotSize: '1' })), 50)]);
    const text = '{"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":1739502303204,"data":[{"T":1739502302929,"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"},{"T":1739502302930,"s":"ROSEUSDT","S":"Buy","v":"5","p":"0.04400"}]}';
    expect(p.parse(text, 0)).toBe(Frame.LIQUIDATIONS);
    expect(p.ctx!.liquidationCount).toBe(2);
    expect(p.ctx!.liquidations[0]).toMatchObject({ type: 'liquidation', side: 'buy', price: 4499, qty: 20000, ts: 1739502302929 });
    expect(p.ctx!.liquidations[1]).toMatchObject({ side: 'sell', price: 4400, qty: 5 });
  });

  it('recognises both pong forms and subscribe answers', () => {
    const p = mk();
    expect(p.parse('{"success":true,"ret_msg":"pong","conn_id":"0970e817-426e-429a-a679-ff7f55e0b16a","op":"ping"}', 0)).toBe(Frame.PONG);
    expect(p.parse('{"req_id":"100001","op":"pong","args":["1675418560633"],"conn_id":"cfcb4ocsvfriu23r3er0-1b"}', 0)).toBe(Frame.PONG);
    expect(p.parse('{"success":true,"ret_msg":"","conn_id":"x","req_id":"1","op":"subscribe"}', 0)).toBe(Frame.REPLY);
    expect(p.parse('{"success":false,"ret_msg":"error:handler not found","conn_id":"x","req_id":"","op":"subscribe"}', 0)).toBe(Frame.ERROR);
    expect(p.reason).toBe('venue_error');
  });

  it('counts what it cannot use with a reason, never throws', () => {
    const p = mk();
    const cases: [string, number, string][] = [
      ['{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["1.001","1"]],"a":[],"u":2,"seq":3}}', Frame.INVALID, 'off_grid'],
      ['{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["1.00","-1"]],"a":[],"u":2,"seq":3}}', Frame.INVALID, 'off_grid'],
      ['{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[],"seq":3}}', Frame.MALFORMED, 'malformed'],
      ['{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[],"u":-4}}', Frame.MALFORMED, 'malformed'],
      ['{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["1.00"]],"a":[],"u":4}}', Frame.MALFORMED, 'malformed'],
      ['{"topic":"orderbook.50.ETHUSDT","type":"delta","ts":1,"data":{"s":"ETHUSDT","b":[],"a":[],"u":4}}', Frame.UNKNOWN, 'unknown_message'],
      ['{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"S":"Buy","v":"1","p":"1.00"}]}', Frame.MALFORMED, 'malformed'],
      ['{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"i":"1","s":"BTCUSDT","S":"Buy","v":"1e3","p":"1.00"}]}', Frame.INVALID, 'off_grid'],
      // found by the conformance suite's malformed-input section: values that are on the grid
      // but cannot be real (non-positive prices, empty snapshot levels and trades, no symbol)
      ['{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["0.00","1"]],"a":[],"u":2,"seq":3}}', Frame.INVALID, 'non_positive_price'],
      ['{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[["-1.00","1"]],"u":2,"seq":3}}', Frame.INVALID, 'non_positive_price'],
      ['{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT","b":[["1.00","0"]],"a":[],"u":2,"seq":3}}', Frame.INVALID, 'zero_qty'],
      ['{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1,"data":{"b":[["1.00","1"]],"a":[],"u":2,"seq":3}}', Frame.MALFORMED, 'malformed'],
      ['{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"i":"1","s":"BTCUSDT","S":"Buy","v":"0","p":"1.00"}]}', Frame.INVALID, 'zero_qty'],
      ['{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"i":"1","s":"BTCUSDT","S":"Buy","v":"1","p":"0"}]}', Frame.INVALID, 'non_positive_price'],
      ['{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"i":"1","S":"Buy","v":"1","p":"1.00"}]}', Frame.INVALID, 'unknown_symbol'],
      ['{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"i":"1","s":"ETHUSDT","S":"Buy","v":"1","p":"1.00"}]}', Frame.INVALID, 'unknown_symbol'],
      ['{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":', Frame.MALFORMED, 'malformed'],
      ['not json', Frame.MALFORMED, 'malformed'],
      ['[1,2]', Frame.MALFORMED, 'malformed'],
      ['{"totally":"unknown"}', Frame.UNKNOWN, 'unknown_message'],
    ];
    for (const [text, code, reason] of cases) {
      expect(p.parse(text, 0), text).toBe(code);
      expect(p.reason, text).toBe(reason);
      expect(p.problem.length, text).toBeGreaterThan(0);
    }
  });
});

describe('BybitFrameParser: frames JSON leaves open', () => {
  const book = (rest: string) => `{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,${rest}}`;
  const data = '"data":{"s":"BTCUSDT","b":[["1.00","1"]],"a":[],"u":2,"seq":3}';
  it('refuses a book or trade frame that repeats a key in one object, naming no book (the fast path kept the first value, JSON.parse the last)', () => {
    const p = mk();
    const frames = [
      // seed 1 fuzz frame 0's shape: a second topic
      `{"topic":"orderbook.50.BTCUSDT","topic":"publicTrade.BTCUSDT","type":"delta","ts":1,${data}}`,
      book(`"data":0,${data}`),
      book('"data":{"s":"ETHUSDT","s":"BTCUSDT","b":[["1.00","1"]],"a":[],"u":2,"seq":3}'),
      book('"data":{"s":"BTCUSDT","b":[["1.00","1"]],"b":[],"a":[],"u":2,"u":3,"seq":3}'),
      `{"topic":"orderbook.50.BTCUSDT","type":"snapshot","type":"delta","ts":1,${data}}`,
      // a key written with an escape is the same key to JSON.parse
      book(`${data},"typ\\u0065":"snapshot"`),
      // the fast path refuses the level at once; the rest of the frame repeats the topic
      book('"data":{"s":"BTCUSDT","b":[["1.001","1"]],"a":[],"u":2,"seq":3},"topic":"orderbook.50.BTCUSDT"'),
      '{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"i":"1","i":"2","s":"BTCUSDT","S":"Buy","v":"1","p":"1.00"}]}',
      '{"topic":"publicTrade.BTCUSDT","topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"i":"1","s":"BTCUSDT","S":"Buy","v":"1","p":"1.00"}]}',
    ];
    for (const text of frames) {
      expect(p.parse(text, 0), text).toBe(Frame.MALFORMED);
      expect(p.reason, text).toBe('malformed');
      expect(p.repeatedKey, text).toBe(true);
      expect(p.ctx, text).toBeUndefined();
      expect(p.problem, text).toMatch(/duplicate key/);
    }
    // the documented layout (with cts) is still read, by the fast path and the slow one
    expect(p.parse(delta, 0)).toBe(Frame.BOOK_DELTA);
    expect(p.repeatedKey).toBe(false);
    expect(p.parse(book(`${data},"x":1`), 0)).toBe(Frame.BOOK_DELTA);
    expect(p.parse(book(`${data},"x":1,"y":{"z":1}`), 0)).toBe(Frame.BOOK_DELTA);
  });

  it('refuses a level with more than two entries as malformed (a level is ["price","qty"])', () => {
    const p = mk();
    for (const level of ['["1.00","1","1"]', '["1.00","1",null]']) {
      const text = book(`"data":{"s":"BTCUSDT","b":[${level}],"a":[],"u":2,"seq":3}`);
      expect(p.parse(text, 0), text).toBe(Frame.MALFORMED);
      expect(p.reason).toBe('malformed');
      expect(p.problem).toContain('["price","qty"]');
      expect(p.ctx?.symbol).toBe('BTCUSDT');
    }
  });
});

describe('instruments, endpoints, options', () => {
  it('builds instruments from instruments-info for spot and linear', () => {
    const s = instrumentsFromInstrumentsInfo('bybit', 'spot', { retCode: 0, retMsg: 'OK', result: { category: 'spot', list: [{ symbol: 'BTCUSDT', baseCoin: 'BTC', quoteCoin: 'USDT', status: 'Trading', lotSizeFilter: { basePrecision: '0.000001', quotePrecision: '0.00000001', minOrderAmt: '1' }, priceFilter: { tickSize: '0.01' } }] } }, ['BTCUSDT']);
    expect(s[0]).toMatchObject({ exchange: 'bybit', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.000001', minNotional: '1' });
    const l = instrumentsFromInstrumentsInfo('bybit', 'linear', { retCode: 0, result: { list: [{ symbol: 'BTCUSDT', baseCoin: 'BTC', quoteCoin: 'USDT', priceFilter: { tickSize: '0.10' }, lotSizeFilter: { qtyStep: '0.001', minNotionalValue: '5' } }] } }, ['BTCUSDT']);
    expect(l[0]).toMatchObject({ tickSize: '0.1', lotSize: '0.001', minNotional: '5' });
    expect(() => instrumentsFromInstrumentsInfo('bybit', 'spot', { retCode: 10001, retMsg: 'params error' }, ['BTCUSDT'])).toThrow(/retCode 10001/);
    expect(() => instrumentsFromInstrumentsInfo('bybit', 'spot', { retCode: 0, result: { list: [] } }, ['BTCUSDT'])).toThrow(/unknown spot symbol/);
    expect(() => instrumentsFromInstrumentsInfo('bybit', 'spot', 'nope', ['BTCUSDT'])).toThrow(/not in Bybit's shape/);
  });

  it('derives the stream URL per category and keeps an explicit one', () => {
    expect(bybitEndpoints({})).toEqual({ wsUrl: 'wss://stream.bybit.com/v5/public/spot', restRoot: 'https://api.bybit.com', category: 'spot' });
    expect(bybitEndpoints({ market: 'linear', testnet: true })).toEqual({ wsUrl: 'wss://stream-testnet.bybit.com/v5/public/linear', restRoot: 'https://api-testnet.bybit.com', category: 'linear' });
    expect(bybitEndpoints({ api_url: 'ws://127.0.0.1:9/', rest_url: 'http://127.0.0.1:9/v5', market: 'linear' })).toMatchObject({ wsUrl: 'ws://127.0.0.1:9/v5/public/linear', restRoot: 'http://127.0.0.1:9' });
    expect(bybitEndpoints({ market: 'usdm' }).category).toBe('linear');
    expect(bybitEndpoints({ api_url: 'ws://h/v5/public/spot' }).wsUrl).toBe('ws://h/v5/public/spot');
  });

  it('validates options with paths and defaults the rest', () => {
    expect(validateBybitOptions(undefined, 'bybit.options')).toEqual([]);
    expect(validateBybitOptions({ depth: 50, ping_interval_ms: 20_000 }, 'bybit.options')).toEqual([]);
    const bad = validateBybitOptions({ depth: 25, nope: 1, reconnect_initial_ms: 500, reconnect_max_ms: 100 }, 'bybit.options');
    expect(bad.map((b) => b.path).sort()).toEqual(['bybit.options.depth', 'bybit.options.nope'].sort());
    expect(validateBybitOptions({ reconnect_initial_ms: 500, reconnect_max_ms: 100 }, 'x')).toEqual([{ path: 'x.reconnect_max_ms', message: 'must be >= reconnect_initial_ms' }]);
    expect(resolveBybitOptions({ depth: 200 })).toMatchObject({ depth: 200, ping_interval_ms: 20_000 });
    expect(() => resolveBybitOptions({ depth: '50' })).toThrow(/depth/);
  });
});
