import { defineInstrument } from '@cwts/core';
import { instrumentScales } from '@cwts/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import { BinanceFrameParser, Frame, binanceEndpoints, instrumentsFromExchangeInfo, makeSymbolCtx, resolveBinanceOptions, validateBinanceOptions } from '../src/index.js';

const inst = defineInstrument({ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });
const mk = (futures = false) => new BinanceFrameParser([makeSymbolCtx('binance', instrumentScales(inst))], futures);
const depth = '{"e":"depthUpdate","E":1672515782136,"s":"BTCUSDT","U":157,"u":160,"b":[["65000.01000000","0.50000000"],["64999.00","0"]],"a":[["65000.02","1.00001"]]}';

describe('BinanceFrameParser', () => {
  it('parses raw and combined depth frames straight to integers', () => {
    for (const text of [depth, `{"stream":"btcusdt@depth@100ms","data":${depth}}`]) {
      const p = mk();
      expect(p.parse(text, 7)).toBe(Frame.DEPTH);
      expect(p.ctx!.delta).toMatchObject({ firstSeq: 157, seq: 160, ts: 1672515782136, recvTs: 7, bids: [{ price: 6500001, qty: 50000 }, { price: 6499900, qty: 0 }], asks: [{ price: 6500002, qty: 100001 }] });
    }
  });
  it('parses trades and aggTrades with the aggressor side', () => {
    const p = mk();
    expect(p.parse('{"e":"trade","E":1,"s":"BTCUSDT","t":12345,"p":"65000.10","q":"0.001","T":2,"m":true,"M":true}', 0)).toBe(Frame.TRADE);
    expect(p.ctx!.trade).toMatchObject({ tradeId: '12345', price: 6500010, qty: 100, side: 'sell', ts: 2 });
    expect(p.parse('{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1,"s":"BTCUSDT","a":9,"p":"1.00","q":"2","f":1,"l":2,"T":3,"m":false,"M":true}}', 0)).toBe(Frame.TRADE);
    expect(p.ctx!.trade).toMatchObject({ tradeId: '9', price: 100, qty: 200000, side: 'buy' });
  });
  it('takes the slow path for other layouts and counts what it cannot use', () => {
    const p = mk();
    expect(p.parse('{"s":"BTCUSDT","e":"depthUpdate","U":1,"u":2,"b":[],"a":[["1.00","1"]],"E":5}', 0)).toBe(Frame.DEPTH);
    expect(p.parse('{"result":null,"id":1}', 0)).toBe(Frame.REPLY);
    expect(p.parse('{"e":"serverShutdown","E":1}', 0)).toBe(Frame.SHUTDOWN);
    expect(p.parse('{"e":"depthUpdate","E":1,"s":', 0)).toBe(Frame.MALFORMED);
    expect(p.parse('nope', 0)).toBe(Frame.MALFORMED);
    expect(p.parse('{"foo":1}', 0)).toBe(Frame.UNKNOWN);
    expect(p.parse('{"code":2,"msg":"Invalid request"}', 0)).toBe(Frame.ERROR);
    expect(p.parse(depth.replace('65000.01000000', '65000.00500000'), 0)).toBe(Frame.INVALID);
    expect(p.parse(depth.replace('BTCUSDT', 'ETHUSDT'), 0)).toBe(Frame.INVALID);
  });
  it('parses USD-M liquidations (forceOrder) and futures pu sequencing', () => {
    const p = mk(true);
    expect(p.parse('{"e":"forceOrder","E":5,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910.5","X":"FILLED","l":"0.014","z":"0.014","T":4}}', 0)).toBe(Frame.LIQUIDATION);
    expect(p.ctx!.liquidation).toMatchObject({ side: 'sell', price: 991050, qty: 1400, ts: 4 });
    expect(p.parse('{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":100,"u":105,"pu":99,"b":[],"a":[]}', 0)).toBe(Frame.DEPTH);
    expect(p.ctx!.delta).toMatchObject({ firstSeq: 100, seq: 105 });
  });
});

describe('config and instruments', () => {
  it('derives endpoints from api_url / rest_url as the seed writes them', () => {
    expect(binanceEndpoints({ api_url: 'wss://stream.binance.com:9443/ws' }).wsRoot).toBe('wss://stream.binance.com:9443');
    expect(binanceEndpoints({ testnet: true })).toMatchObject({ wsRoot: 'wss://stream.testnet.binance.vision', restRoot: 'https://testnet.binance.vision' });
    expect(binanceEndpoints({ rest_url: 'http://127.0.0.1:9/api/v3' }).restRoot).toBe('http://127.0.0.1:9');
  });
  it('validates [binance.options] with key paths', () => {
    expect(validateBinanceOptions({ snapshot_limit: 9000, nope: 1, combined: 'yes' }, 'binance.options').map((p) => p.path)).toEqual(['binance.options.snapshot_limit', 'binance.options.nope', 'binance.options.combined']);
    expect(validateBinanceOptions({ trade_stream: 'aggTrade' }, 'binance.options')).toEqual([]);
    expect(validateBinanceOptions({ snapshot_limt: 100, depth_speed: '250ms', ws_api_url: 'http://x' }, 'bn.options')).toEqual([
      { path: 'bn.options.snapshot_limt', message: 'unknown key (did you mean snapshot_limit?)' },
      { path: 'bn.options.depth_speed', message: 'expected one of "100ms", "1000ms", got string "250ms"' },
      { path: 'bn.options.ws_api_url', message: 'expected a ws:// or wss:// URL, got "http://x"' },
    ]);
    expect(validateBinanceOptions({ reconnect_initial_ms: 5000, reconnect_max_ms: 1000 }, 'bn.options')).toEqual([{ path: 'bn.options.reconnect_max_ms', message: 'must be >= reconnect_initial_ms' }]);
    expect(resolveBinanceOptions({ snapshot_limit: 50 })).toMatchObject({ snapshot_limit: 50, combined: true, fills: 'stream' });
  });
  it('reads tick, lot and min notional from exchangeInfo', () => {
    const [i] = instrumentsFromExchangeInfo('binance', { symbols: [{ symbol: 'BTCUSDT', baseAsset: 'BTC', quoteAsset: 'USDT', filters: [{ filterType: 'PRICE_FILTER', tickSize: '0.01000000' }, { filterType: 'LOT_SIZE', stepSize: '0.00001000' }, { filterType: 'NOTIONAL', minNotional: '5.00000000' }] }] }, ['BTCUSDT']);
    expect(i).toMatchObject({ tickSize: '0.01', lotSize: '0.00001', minNotional: '5' });
    expect(() => instrumentsFromExchangeInfo('binance', { symbols: [] }, ['X'])).toThrow(/unknown symbol/);
  });
});
