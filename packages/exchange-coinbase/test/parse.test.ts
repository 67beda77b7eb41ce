import { generateKeyPairSync, verify } from 'node:crypto';
import { defineInstrument } from '@cwts/core';
import { findDuplicateKey, instrumentScales, unitsOf } from '@cwts/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import { CoinbaseFrameParser, Frame, coinbaseEndpoints, coinbasePrivateKey, instrumentsFromProducts, resolveCoinbaseOptions, signCoinbaseJwt, validateCoinbaseOptions } from '../src/index.js';

const inst = defineInstrument({ exchange: 'coinbase', symbol: 'BTC-USD', base: 'BTC', quote: 'USD', tickSize: '0.01', lotSize: '0.00000001' });
const unitsOfText = (t: string, sc: Parameters<typeof unitsOf>[3]) => unitsOf(t, 0, t.length, sc);
const mk = () => new CoinbaseFrameParser([{ symbol: 'BTC-USD', scales: instrumentScales(inst) }]);
const env = (channel: string, seq: number, events: unknown[]) => JSON.stringify({ channel, client_id: '', timestamp: '2023-02-09T20:32:50.714964855Z', sequence_num: seq, events });

describe('CoinbaseFrameParser', () => {
  it('parses level2 snapshots and updates straight to integers, with the envelope sequence_num', () => {
    const p = mk();
    const text = env('l2_data', 7, [{ type: 'update', product_id: 'BTC-USD', updates: [
      { side: 'bid', event_time: '2023-02-09T20:32:50.714964855Z', price_level: '21921.73', new_quantity: '0.06317902' },
      { side: 'offer', event_time: '2023-02-09T20:32:50.714964855Z', price_level: '21921.74', new_quantity: '0' },
    ] }]);
    expect(p.parse(text)).toBe(Frame.L2);
    expect(p.seqNum).toBe(7);
    expect(p.l2).toHaveLength(1);
    expect(p.l2[0]).toMatchObject({ snapshot: false, bids: [{ price: 2192173, qty: 6317902 }], asks: [{ price: 2192174, qty: 0 }], ts: Date.parse('2023-02-09T20:32:50.714Z') });
    expect(p.parse(env('l2_data', 0, [{ type: 'snapshot', product_id: 'BTC-USD', updates: [{ side: 'bid', event_time: '', price_level: '1.00', new_quantity: '2' }] }]))).toBe(Frame.L2);
    expect(p.l2[0]!.snapshot).toBe(true);
  });

  it('reads level2 the same on the cursor fast path and the JSON.parse path (any key order)', () => {
    const updates = [
      { side: 'offer', event_time: '2023-02-09T20:32:50.714964855Z', price_level: '21921.74', new_quantity: '1.5' },
      { side: 'bid', event_time: '2023-02-09T20:32:50.714964855Z', price_level: '21921.73', new_quantity: '0.06317902' },
      { side: 'bid', event_time: '2023-02-09T20:32:50.714964855Z', price_level: '21921.70', new_quantity: '0' },
    ];
    const fast = env('l2_data', 42, [{ type: 'update', product_id: 'BTC-USD', updates }]);
    const reordered = JSON.stringify({ events: [{ updates: updates.map((u) => ({ new_quantity: u.new_quantity, price_level: u.price_level, side: u.side })), product_id: 'BTC-USD', type: 'update' }], sequence_num: 42, channel: 'l2_data' });
    const p = mk();
    const got = (t: string) => {
      expect(p.parse(t)).toBe(Frame.L2);
      return { seq: p.seqNum, events: p.l2.map((e) => ({ symbol: e.ctx.symbol, snapshot: e.snapshot, bids: e.bids.map((l) => ({ ...l })), asks: e.asks.map((l) => ({ ...l })) })) };
    };
    const a = got(fast);
    expect(a).toEqual({ seq: 42, events: [{ symbol: 'BTC-USD', snapshot: false, bids: [{ price: 2192173, qty: 6317902 }, { price: 2192170, qty: 0 }], asks: [{ price: 2192174, qty: 150000000 }] }] });
    expect(got(reordered)).toEqual(a);
    // two events in one frame, and a fast-path frame after a longer one reuses nothing stale
    const two = env('l2_data', 43, [{ type: 'snapshot', product_id: 'BTC-USD', updates: [updates[0]] }, { type: 'update', product_id: 'BTC-USD', updates: [updates[1]] }]);
    expect(got(two).events).toEqual([
      { symbol: 'BTC-USD', snapshot: true, bids: [], asks: [{ price: 2192174, qty: 150000000 }] },
      { symbol: 'BTC-USD', snapshot: false, bids: [{ price: 2192173, qty: 6317902 }], asks: [] },
    ]);
    // Coinbase's exact level layout (native string search), whitespace between levels, an
    // escape anywhere in the frame (cursor only) and mixed layouts all read alike
    const spaced = fast.replace(/\},\{"side"/g, '} ,\n {"side"');
    expect(spaced).not.toBe(fast);
    expect(got(spaced)).toEqual(a);
    const escaped = fast.replace('"client_id":""', '"client_id":"a\\"b"');
    expect(got(escaped)).toEqual(a);
    const mixed = fast.replace('{"side":"bid","event_time":"2023-02-09T20:32:50.714964855Z","price_level":"21921.73"', '{"price_level":"21921.73","side":"bid","event_time":"2023-02-09T20:32:50.714964855Z"');
    expect(mixed).not.toBe(fast);
    expect(got(mixed)).toEqual(a);
    // a misspelt key in Coinbase's layout is not taken for the price
    expect(p.parse(fast.replace('"price_level":"21921.73"', '"price_lovel":"21921.73"'))).toBe(Frame.MALFORMED);
    // a quote inside event_time (escaped) cannot shift the level's fields
    expect(p.parse(fast.replace('"event_time":"2023-02-09T20:32:50.714964855Z","price_level":"21921.74"', '"event_time":"x\\",\\"price_level\\":\\"1.00","price_level":"21921.74"'))).toBe(Frame.L2);
    expect(p.l2[0]!.asks.map((l) => ({ ...l }))).toEqual([{ price: 2192174, qty: 150000000 }]);
  });

  it('refuses a level2 frame with a raw control character inside a string (not JSON) on every fast path, as JSON.parse does', () => {
    const p = mk();
    const T = '2026-12-05T06:00:18.300000Z';
    const level = (side: string, price: string, time = T) => `{"side":"${side}","event_time":"${time}","price_level":"${price}","new_quantity":"0.5"}`;
    const frame = (opts: { ts?: string; client?: string; levels?: string }) =>
      `{"channel":"l2_data","client_id":"${opts.client ?? ''}","timestamp":"${opts.ts ?? T}","sequence_num":696,"events":[{"type":"update","product_id":"BTC-USD","updates":[${opts.levels ?? `${level('bid', '1.00')},${level('offer', '2.00')}`}]}]}`;
    expect(p.parse(frame({}))).toBe(Frame.L2);
    // a level layout the one-regex path does not take (a blank after a comma): the per-level search
    expect(p.parse(frame({ levels: `${level('bid', '1.00')}, ${level('offer', '2.00')}` }))).toBe(Frame.L2);
    const cases = {
      // seed 1, fuzz frame 182: a TAB in the envelope's timestamp (skipped by native search)
      timestamp: frame({ ts: '2026-12-05T06:00:18.3000\t00Z' }),
      client_id: frame({ client: 'a\u0001b' }),
      'event_time, one-regex path': frame({ levels: `${level('bid', '1.00', '2026-12-05T06:00:18\n.3Z')},${level('offer', '2.00')}` }),
      'event_time, per-level path': frame({ levels: `${level('bid', '1.00')}, ${level('offer', '2.00', '2026-12-05T06:00:18.3Z\u001f')}` }),
      price_level: frame({ levels: `${level('bid', '1.0\t0')},${level('offer', '2.00')}` }),
    };
    for (const [where, raw] of Object.entries(cases)) {
      expect(raw, where).toMatch(/[\u0000-\u001f]/);
      expect(() => JSON.parse(raw), where).toThrow();
      expect(p.parse(raw), where).toBe(Frame.MALFORMED);
      expect(p.reason, where).toBe('malformed');
      // the same text with the character escaped is JSON, and is read as such
      const escaped = raw.replace(/[\u0000-\u001f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
      expect(() => JSON.parse(escaped), where).not.toThrow();
      expect(p.parse(escaped), where).toBe(where === 'price_level' ? Frame.INVALID : Frame.L2);
    }
  });

  it('parses market_trades with the taker side, snapshot flag and numeric ids', () => {
    const p = mk();
    expect(p.parse(env('market_trades', 3, [{ type: 'update', trades: [{ trade_id: '000000000', product_id: 'BTC-USD', price: '1260.01', size: '0.3', side: 'BUY', time: '2019-08-14T20:42:27.265Z' }] }]))).toBe(Frame.TRADES);
    expect(p.tradesSnapshot).toBe(false);
    expect(p.trades[0]).toMatchObject({ tradeId: 0, price: 126001, qty: 30000000, side: 'buy' });
    expect(p.parse(env('market_trades', 4, [{ type: 'snapshot', trades: [{ trade_id: '12', product_id: 'BTC-USD', price: '1', size: '1', side: 'SELL', time: '2019-08-14T20:42:27Z' }] }]))).toBe(Frame.TRADES);
    expect(p.tradesSnapshot).toBe(true);
    expect(p.trades[0]).toMatchObject({ tradeId: 12, side: 'sell', ts: Date.parse('2019-08-14T20:42:27Z') });
  });

  it('refuses a trade whose time is not RFC 3339 (Date.parse reads "1 ", "+1" and "1,5" as 2001), the whole frame as malformed', () => {
    const p = mk();
    const tr = (time: unknown) => env('market_trades', 5, [{ type: 'update', trades: [
      { trade_id: '11', product_id: 'BTC-USD', price: '1', size: '1', side: 'BUY', time: '2026-12-05T06:00:00.123456Z' },
      { trade_id: '12', product_id: 'BTC-USD', price: '1', size: '1', side: 'SELL', time },
    ] }]);
    expect(p.parse(tr('2026-12-05T07:00:00.5+01:00'))).toBe(Frame.TRADES);
    expect(p.trades.map((t) => t.ts)).toEqual([Date.parse('2026-12-05T06:00:00.123Z'), Date.parse('2026-12-05T06:00:00.500Z')]);
    for (const bad of ['1 ', '+1', '1,5', '', '2026-12-05', '2026-12-05 06:00:00Z', '2026-12-05T06:00:00', 'Sat, 05 Dec 2026 06:00:00 GMT', '2026-02-30T06:00:00Z', 1796450400000, null, undefined]) {
      expect(p.parse(tr(bad)), JSON.stringify(bad)).toBe(Frame.MALFORMED);
      expect(p.reason).toBe('malformed');
      expect(p.problem).toMatch(/trade 12 of BTC-USD has time .*not RFC 3339/);
      expect(p.seqNum).toBe(5); // the envelope counts: no false gap on the next frame
    }
  });

  it('knows heartbeats, subscriptions and venue errors', () => {
    const p = mk();
    expect(p.parse(env('heartbeats', 9, [{ current_time: '2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105', heartbeat_counter: '3049' }]))).toBe(Frame.HEARTBEAT);
    expect(p.heartbeatCounter).toBe(3049);
    expect(p.seqNum).toBe(9);
    expect(p.parse(env('subscriptions', 1, [{ subscriptions: { level2: ['BTC-USD'] } }]))).toBe(Frame.SUBSCRIPTIONS);
    expect(p.parse('{"type":"error","message":"authentication failure"}')).toBe(Frame.ERROR);
    expect(p.problem).toMatch(/authentication failure/);
  });

  it('counts what it cannot use: malformed, unknown, off-grid, unknown product', () => {
    const p = mk();
    expect(p.parse('{"channel":"l2_data","sequence_num":')).toBe(Frame.MALFORMED);
    expect(p.parse('nope')).toBe(Frame.MALFORMED);
    expect(p.parse('[1,2]')).toBe(Frame.MALFORMED);
    expect(p.parse('{"totally":"unknown"}')).toBe(Frame.UNKNOWN);
    expect(p.parse(env('l2_data', 1, [{ type: 'update', product_id: 'BTC-USD' }]))).toBe(Frame.MALFORMED);
    expect(p.parse(JSON.stringify({ channel: 'l2_data', events: [] }))).toBe(Frame.MALFORMED); // no sequence_num
    expect(p.parse(JSON.stringify({ channel: 'l2_data', sequence_num: -1, events: [] }))).toBe(Frame.MALFORMED);
    expect(p.parse(env('l2_data', 1, [{ type: 'update', product_id: 'BTC-USD', updates: [{ side: 'bid', price_level: '1.001', new_quantity: '1' }] }]))).toBe(Frame.INVALID);
    expect(p.problem).toMatch(/off the grid/);
    expect(p.ctx?.symbol).toBe('BTC-USD');
    expect(p.seqNum).toBe(1); // read with the envelope: the frame's sequence_num still counts
    expect(p.parse(env('l2_data', 1, [{ type: 'update', product_id: 'ETH-USD', updates: [] }]))).toBe(Frame.INVALID);
    expect(p.problem).toMatch(/unknown product ETH-USD/);
    expect(p.parse(env('l2_data', 1, [{ type: 'update', product_id: 'BTC-USD', updates: [{ side: 'middle', price_level: '1', new_quantity: '1' }] }]))).toBe(Frame.MALFORMED);
    expect(p.parse(env('market_trades', 1, [{ type: 'update', trades: [{ trade_id: 'abc', product_id: 'BTC-USD', price: '1', size: '1', side: 'BUY' }] }]))).toBe(Frame.INVALID);
    expect(p.parse(env('market_trades', 1, [{ type: 'update', trades: [{ trade_id: '1', product_id: 'BTC-USD', price: '1', size: '-1', side: 'BUY' }] }]))).toBe(Frame.INVALID);
  });
});

describe('instruments, endpoints and options', () => {
  it('maps products to instruments from price_increment and base_increment', () => {
    const body = { products: [{ product_id: 'BTC-USD', price_increment: '0.01000000', base_increment: '0.00000001', quote_min_size: '1.00', base_currency_id: 'BTC', quote_currency_id: 'USD' }, { product_id: 'junk' }] };
    const [i] = instrumentsFromProducts('coinbase', body, ['BTC-USD']);
    expect(i).toMatchObject({ exchange: 'coinbase', symbol: 'BTC-USD', base: 'BTC', quote: 'USD', tickSize: '0.01', lotSize: '0.00000001', minNotional: '1' });
    expect(() => instrumentsFromProducts('coinbase', body, ['ETH-USD'])).toThrow(/unknown product/);
    expect(() => instrumentsFromProducts('coinbase', { nope: 1 }, ['BTC-USD'])).toThrow(/no products/);
  });
  it('defaults to Coinbase and accepts overrides', () => {
    expect(coinbaseEndpoints({})).toEqual({ wsUrl: 'wss://advanced-trade-ws.coinbase.com', restRoot: 'https://api.coinbase.com' });
    expect(coinbaseEndpoints({ api_url: 'ws://127.0.0.1:1/', rest_url: 'http://127.0.0.1:2/api/v3/brokerage' })).toEqual({ wsUrl: 'ws://127.0.0.1:1', restRoot: 'http://127.0.0.1:2' });
  });
  it('validates options with paths', () => {
    expect(validateCoinbaseOptions({ stale_after_ms: 3000 }, 'coinbase.options')).toEqual([]);
    expect(validateCoinbaseOptions({ bogus: 1 }, 'coinbase.options')[0]).toMatchObject({ path: 'coinbase.options.bogus', message: expect.stringMatching(/unknown key/) });
    expect(validateCoinbaseOptions({ stale_after_ms: 'x' }, 'c.o')[0]!.path).toBe('c.o.stale_after_ms');
    expect(validateCoinbaseOptions({ reconnect_initial_ms: 500, reconnect_max_ms: 100 }, 'c.o')[0]!.path).toBe('c.o.reconnect_max_ms');
    expect(validateCoinbaseOptions(5, 'c.o')).toEqual([{ path: 'c.o', message: 'expected a table, got number 5' }]);
    expect(resolveCoinbaseOptions(undefined).stale_after_ms).toBe(5000);
  });
});

describe('ES256 JWT', () => {
  // a throwaway key generated for this test, never a real one
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ format: 'pem', type: 'sec1' }).toString();
  const name = 'organizations/test-org/apiKeys/test-key';

  it('signs a token Coinbase can verify: header, claims, raw r||s signature', () => {
    const token = signCoinbaseJwt({ keyName: name, privateKey: pem, nowS: 1_700_000_000, ttlS: 120, uri: 'POST api.coinbase.com/api/v3/brokerage/orders', nonce: 'abc' });
    const [h, p, sig] = token.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'ES256', kid: name, nonce: 'abc', typ: 'JWT' });
    expect(JSON.parse(Buffer.from(p, 'base64url').toString())).toEqual({ iss: 'cdp', sub: name, nbf: 1_700_000_000, exp: 1_700_000_120, uri: 'POST api.coinbase.com/api/v3/brokerage/orders' });
    expect(Buffer.from(sig, 'base64url')).toHaveLength(64);
    expect(verify('sha256', Buffer.from(`${h}.${p}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'))).toBe(true);
    // a fresh nonce per token, and no uri claim for the WebSocket
    const ws = signCoinbaseJwt({ keyName: name, privateKey: pem, nowS: 1, ttlS: 120 });
    expect(JSON.parse(Buffer.from(ws.split('.')[1]!, 'base64url').toString()).uri).toBeUndefined();
    expect(JSON.parse(Buffer.from(ws.split('.')[0]!, 'base64url').toString()).nonce).toMatch(/^[0-9a-f]{32}$/);
  });

  it('accepts the key file form with escaped newlines and rejects keys that are not P-256', () => {
    expect(coinbasePrivateKey(pem.replace(/\n/g, '\\n')).asymmetricKeyType).toBe('ec');
    expect(() => coinbasePrivateKey('not a key')).toThrow(/not a PEM/);
    const other = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => coinbasePrivateKey(other)).toThrow(/P-256/);
    try {
      coinbasePrivateKey(`${pem.slice(0, 60)}broken`);
    } catch (err) {
      expect((err as Error).message).not.toContain(pem.slice(30, 60));
    }
  });
});

describe('level2 levels read at once (one regex pass over the updates array)', () => {
  it('agrees with JSON.parse on mutated level arrays: the same levels, or a refusal where JSON refuses', () => {
    const p = mk();
    let a = 777;
    const rnd = () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
    const alphabet = '{}[]:,"\\ .-0123456789xbidofer_';
    let l2 = 0;
    for (let k = 0; k < 4000; k++) {
      const n = 1 + Math.floor(rnd() * 6);
      const ups = Array.from({ length: n }, () => ({
        side: rnd() < 0.5 ? 'bid' : 'offer', event_time: '2026-12-05T06:00:00.123456789Z',
        price_level: (64000 + Math.floor(rnd() * 2000) / 100).toFixed(2), new_quantity: rnd() < 0.2 ? '0' : (Math.floor(rnd() * 1e8) / 1e8).toFixed(8),
      }));
      let t = env('l2_data', k + 1, [{ type: 'update', product_id: 'BTC-USD', updates: ups }]);
      // one mutation inside the updates array (k % 5 === 0: none, the exact layout itself)
      const from = t.indexOf('"updates":[') + 11;
      const to = t.lastIndexOf(']}]}');
      if (k % 5 !== 0) {
        const at = from + Math.floor(rnd() * (to - from + 1));
        const ch = alphabet[Math.floor(rnd() * alphabet.length)]!;
        const r = rnd();
        t = r < 0.4 ? t.slice(0, at) + ch + t.slice(at + 1) : r < 0.7 ? t.slice(0, at) + ch + t.slice(at) : t.slice(0, at) + t.slice(at + 1);
      }
      const code = p.parse(t);
      let obj: { events?: { updates?: unknown[] }[] } | undefined;
      try {
        obj = JSON.parse(t) as typeof obj;
      } catch {
        expect(code, t).not.toBe(Frame.L2);
        continue;
      }
      const updates = obj?.events?.[0]?.updates;
      const ok = Array.isArray(updates) && updates.every((u) => {
        const l = u as Record<string, unknown> | null;
        return l !== null && typeof l === 'object' && typeof l.price_level === 'string' && typeof l.new_quantity === 'string' && (l.side === 'bid' || l.side === 'offer' || l.side === 'ask');
      });
      if (!ok) {
        expect(code, t).not.toBe(Frame.L2);
        continue;
      }
      const sc = instrumentScales(inst);
      const want = { bids: [] as { price: number; qty: number }[], asks: [] as { price: number; qty: number }[] };
      let offGrid = false;
      for (const u of updates as { side: string; price_level: string; new_quantity: string }[]) {
        const price = unitsOfText(u.price_level, sc.price);
        const qty = unitsOfText(u.new_quantity, sc.qty);
        if (Number.isNaN(price) || Number.isNaN(qty)) offGrid = true;
        (u.side === 'bid' ? want.bids : want.asks).push({ price, qty });
      }
      if (offGrid) {
        expect(code, t).toBe(Frame.INVALID);
        continue;
      }
      expect(code, t).toBe(Frame.L2);
      l2++;
      expect({ bids: p.l2[0]!.bids.map((l) => ({ ...l })), asks: p.l2[0]!.asks.map((l) => ({ ...l })) }, t).toEqual(want);
    }
    expect(l2).toBeGreaterThan(800); // the exact layout and harmless mutations were read
  });
});

describe('a key repeated in one object is refused (malformed), on the cursor path and the JSON.parse path alike', () => {
  // BTC-USD on a 0.01 grid, ETH-USD on a 0.1 grid: a level read on one product's grid and handed to the other is mispriced 10x
  const eth = defineInstrument({ exchange: 'coinbase', symbol: 'ETH-USD', base: 'ETH', quote: 'USD', tickSize: '0.1', lotSize: '0.0001' });
  const two = () => new CoinbaseFrameParser([{ symbol: 'BTC-USD', scales: instrumentScales(inst) }, { symbol: 'ETH-USD', scales: instrumentScales(eth) }]);
  const T = '2023-02-09T20:32:50.714964855Z';
  const LV = `{"side":"bid","event_time":"${T}","price_level":"299.95","new_quantity":"1"}`;
  const frame = (event: string, envTail = '') => `{"channel":"l2_data","client_id":"","timestamp":"${T}","sequence_num":7,"events":[${event}]${envTail}}`;
  const ev = (inner: string) => `{${inner}}`;

  it('refuses every repeated key the readers rely on, keeps the sequence_num when it is written once, and reads the frame without the repeat', () => {
    const p = two();
    const cases: [string, string, string][] = [
      // [what, text, repeated key]
      ['product_id after the updates (read on BTC-USD\'s grid, then ETH-USD named)', frame(ev(`"type":"update","product_id":"BTC-USD","updates":[${LV}],"product_id":"ETH-USD"`)), 'product_id'],
      ['product_id twice before the updates', frame(ev(`"type":"update","product_id":"ETH-USD","product_id":"BTC-USD","updates":[${LV}]`)), 'product_id'],
      ['type twice', frame(ev(`"type":"snapshot","product_id":"BTC-USD","updates":[${LV}],"type":"update"`)), 'type'],
      ['updates twice', frame(ev(`"type":"update","product_id":"BTC-USD","updates":[${LV}],"updates":[]`)), 'updates'],
      ['an unknown event key twice', frame(ev(`"type":"update","x":1,"product_id":"BTC-USD","x":2,"updates":[${LV}]`)), 'x'],
      ['events twice', frame(ev(`"type":"update","product_id":"BTC-USD","updates":[${LV}]`), ',"events":[]'), 'events'],
      ['channel twice', frame(ev(`"type":"update","product_id":"BTC-USD","updates":[${LV}]`), ',"channel":"market_trades"'), 'channel'],
      ['timestamp twice', frame(ev(`"type":"update","product_id":"BTC-USD","updates":[${LV}]`), `,"timestamp":"${T}"`), 'timestamp'],
      ['a level key twice in Coinbase\'s layout', frame(ev(`"type":"update","product_id":"BTC-USD","updates":[${LV.replace('}', ',"new_quantity":"2"}')}]`)), 'new_quantity'],
      ['a level key twice in another key order (cursor)', frame(ev(`"type":"update","product_id":"BTC-USD","updates":[{"price_level":"1.00","side":"bid","price_level":"2.00","new_quantity":"1"}]`)), 'price_level'],
      ['a level side twice', frame(ev(`"type":"update","product_id":"BTC-USD","updates":[{"side":"offer","price_level":"1.00","new_quantity":"1","side":"bid"}]`)), 'side'],
      ['an escaped key repeating a plain one', frame(ev(`"type":"update","product_id":"BTC-USD","updates":[${LV}],"product\\u005fid":"ETH-USD"`)), 'product_id'],
    ];
    for (const [what, text, key] of cases) {
      expect(() => JSON.parse(text), what).not.toThrow();
      expect(p.parse(text), what).toBe(Frame.MALFORMED);
      expect(p.reason, what).toBe('malformed');
      expect(p.problem, what).toBe(`duplicate key ${JSON.stringify(key)} (JSON leaves its meaning open)`);
      expect(p.seqNum, what).toBe(7);
      // the same frame without the repeat is read (the refusal is the repeat's doing)
      expect(p.parse(frame(ev(`"type":"update","product_id":"BTC-USD","updates":[${LV}]`))), what).toBe(Frame.L2);
    }
    // sequence_num itself repeated: which one counts is open, so none does (the next frame shows a gap)
    expect(p.parse(frame(ev(`"type":"update","product_id":"BTC-USD","updates":[${LV}]`), ',"sequence_num":9'))).toBe(Frame.MALFORMED);
    expect(p.problem).toMatch(/duplicate key "sequence_num"/);
    expect(p.seqNum).toBe(-1);
    // other channels too (always the JSON.parse path)
    const tr = `{"trade_id":"1","product_id":"BTC-USD","price":"1.00","size":"1","side":"BUY","time":"${T}"}`;
    expect(p.parse(`{"channel":"market_trades","sequence_num":3,"events":[{"type":"update","trades":[${tr.replace('"trade_id":"1"', '"trade_id":"1","trade_id":"2"')}]}]}`)).toBe(Frame.MALFORMED);
    expect(p.problem).toMatch(/duplicate key "trade_id"/);
    expect(p.seqNum).toBe(3);
    expect(p.parse(`{"channel":"heartbeats","sequence_num":4,"events":[{"heartbeat_counter":1,"heartbeat_counter":2}]}`)).toBe(Frame.MALFORMED);
    expect(p.parse(`{"channel":"market_trades","sequence_num":5,"events":[{"type":"update","trades":[${tr}]}]}`)).toBe(Frame.TRADES);
  });

  it('finds a repeat exactly where the kit\'s findDuplicateKey does, on random nested texts (whitespace, escapes, keys as values)', () => {
    const p = two();
    let a = 4242;
    const rnd = () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
    const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const keys = ['a', 'b', 'ab', 'ba', 'type', 'product_id', 'p\\u0061', 'pa', 'x y'];
    const ws = () => pick(['', '', ' ', '\n ']);
    const value = (d: number): string => {
      const r = rnd();
      if (d > 3 || r < 0.35) return pick(['1', '"a"', '"b\\"c"', '"type"', 'null', '[]', '"{\\"a\\":1}"']);
      if (r < 0.55) return `[${ws()}${Array.from({ length: Math.floor(rnd() * 3) }, () => value(d + 1)).join(`${ws()},${ws()}`)}]`;
      return `{${Array.from({ length: Math.floor(rnd() * 4) }, () => `${ws()}"${pick(keys)}"${ws()}:${ws()}${value(d + 1)}`).join(',')}${ws()}}`;
    };
    let dups = 0;
    for (let k = 0; k < 3000; k++) {
      const text = `{"channel":"nosuch","sequence_num":${k},"x":${value(0)}}`;
      JSON.parse(text);
      const want = findDuplicateKey(text);
      const code = p.parse(text);
      if (want === undefined) expect(code, text).toBe(Frame.UNKNOWN);
      else {
        dups++;
        expect(code, text).toBe(Frame.MALFORMED);
        expect(p.problem, text).toBe(`duplicate key ${JSON.stringify(want)} (JSON leaves its meaning open)`);
      }
    }
    expect(dups).toBeGreaterThan(300);
    expect(dups).toBeLessThan(2700);
  });

  it('the same key in different objects, or a value spelled like a key, is no repeat', () => {
    const p = two();
    const other = `{"side":"offer","event_time":"${T}","price_level":"300.1","new_quantity":"2"}`;
    expect(p.parse(frame(`${ev(`"type":"update","product_id":"BTC-USD","updates":[${LV},${LV}]`)},${ev(`"type":"update","product_id":"ETH-USD","updates":[${other}]`)}`))).toBe(Frame.L2);
    expect(p.l2.map((e) => e.ctx.symbol)).toEqual(['BTC-USD', 'ETH-USD']);
    expect(p.l2[1]!.asks).toEqual([{ price: 3001, qty: 20_000 }]);
    // the JSON.parse path (a backslash in a value), nested objects and values equal to key names
    const text = frame(ev(`"type":"update","product_id":"BTC-USD","meta":{"type":"type","product_id":{"product_id":"x"}},"note":"a\\"b","updates":[${LV}]`));
    expect(p.parse(text)).toBe(Frame.L2);
    expect(p.l2[0]!.bids).toEqual([{ price: 29995, qty: 100_000_000 }]);
  });
});
