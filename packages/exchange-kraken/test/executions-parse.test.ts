import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KrakenExecutionsParser, krakenApiSign, krakenHarnessInstrument, krakenPrivateWsUrl, numberTextToDecimal, quoteJsonNumbers, resolveKrakenOptions } from '../src/index.js';

const BTC = krakenHarnessInstrument().instrument;
const parser = () => new KrakenExecutionsParser((s) => (s === 'BTC/USD' ? BTC : undefined));

const TRADE = (fields: string) =>
  `{"channel":"executions","type":"update","data":[{"order_id":"OAAAAA-BBBBB-CCCCCC","cl_ord_id":"c-1","exec_id":"TAAAAA-BBBBB-CCCCCC","exec_type":"trade","trade_id":7,"symbol":"BTC/USD","side":"buy",${fields},"liquidity_ind":"m","order_status":"partially_filled","order_type":"limit","timestamp":"2026-12-05T06:00:00.123456Z"}],"sequence":4}`;
const GOOD = '"last_qty":5e-08,"last_price":63000.5,"cum_qty":0.0100005,"fees":[{"asset":"USD","qty":0.0001},{"asset":"USD","qty":0.00002}]';

describe('Kraken executions parser', () => {
  it('reads a trade exactly: exponent numbers expanded, fees in one asset summed, liquidity, time', () => {
    const p = parser();
    const m = p.parse(TRADE(GOOD));
    expect(m.kind).toBe('executions');
    if (m.kind !== 'executions') return;
    expect(m.sequence).toBe(4);
    expect(m.snapshot).toBe(false);
    expect(m.events).toEqual([
      {
        venueOrderId: 'OAAAAA-BBBBB-CCCCCC', clientOrderId: 'c-1', filledQty: '0.0100005', state: 'open',
        fill: { tradeId: 'TAAAAA-BBBBB-CCCCCC', venueOrderId: 'OAAAAA-BBBBB-CCCCCC', symbol: 'BTC/USD', price: '63000.5', qty: '0.00000005', fee: '0.00012', feeAsset: 'USD', liquidity: 'maker', ts: Date.parse('2026-12-05T06:00:00.123Z') },
      },
    ]);
    expect(p.rejected).toBe(0);
  });

  it('a trade without cum_qty is still read (the client then guards against an overfill only)', () => {
    const m = parser().parse(TRADE('"last_qty":0.01,"last_price":63000.5,"fees":[{"asset":"USD","qty":0.63}]'));
    expect(m).toMatchObject({ kind: 'executions', events: [{ fill: { qty: '0.01', price: '63000.5', fee: '0.63', feeAsset: 'USD' } }] });
    if (m.kind === 'executions') expect(m.events[0]!.filledQty).toBeUndefined();
  });

  it.each([
    ['no `fees`', ''],
    ['an empty `fees`', ',"fees":[]'],
  ])('a trade with %s goes on without its fill (REST books it with its real fee), its state and cum_qty kept; counted', (_name, fees) => {
    const p = parser();
    const m = p.parse(TRADE(`"last_qty":0.01,"last_price":63000.5,"cum_qty":0.02${fees}`));
    expect(m.kind).toBe('executions');
    if (m.kind !== 'executions') return;
    expect(m.events).toEqual([{ venueOrderId: 'OAAAAA-BBBBB-CCCCCC', clientOrderId: 'c-1', filledQty: '0.02', state: 'open' }]);
    expect({ rejected: p.rejected, feeless: p.feeless }).toEqual({ rejected: 0, feeless: 1 });
    // a frame refused for another entry counts nothing
    p.parse(TRADE(`"last_qty":0.01,"last_price":63000.55,"cum_qty":0.02${fees}`));
    expect({ rejected: p.rejected, feeless: p.feeless }).toEqual({ rejected: 1, feeless: 1 });
  });

  it('a zero fee written as Kraken documents it (`fees: [{asset, qty: 0}]`) is booked from the push', () => {
    const m = parser().parse(TRADE('"last_qty":0.01,"last_price":63000.5,"cum_qty":0.01,"fees":[{"asset":"USD","qty":0}]'));
    expect(m).toMatchObject({ kind: 'executions', events: [{ fill: { tradeId: 'TAAAAA-BBBBB-CCCCCC', qty: '0.01', fee: '0', feeAsset: 'USD' } }] });
  });

  it('a cancel without a symbol (as Kraken sends it) gives the final state and the reason', () => {
    const m = parser().parse('{"channel":"executions","type":"update","data":[{"timestamp":"2026-12-05T06:00:00Z","order_status":"canceled","exec_type":"canceled","cum_qty":0,"cum_cost":0,"order_id":"OX","reason":"User requested"}],"sequence":9}');
    expect(m).toMatchObject({ kind: 'executions', events: [{ venueOrderId: 'OX', state: 'cancelled', filledQty: '0', text: 'kraken: User requested' }] });
  });

  it('a trade that completes the order may still say partially_filled; exec_type filled closes it', () => {
    const m = parser().parse('{"channel":"executions","type":"update","data":[{"timestamp":"2026-12-05T06:00:00Z","order_status":"filled","exec_type":"filled","cum_qty":0.03,"order_id":"OX"}]}');
    expect(m).toMatchObject({ kind: 'executions', events: [{ state: 'filled', filledQty: '0.03' }] });
  });

  it.each([
    ['a price as a JSON string', '"last_qty":0.01,"last_price":"63000.5","cum_qty":0.01', 'shape'],
    ['a quantity off the lot grid', '"last_qty":0.000000001,"last_price":63000.5,"cum_qty":0.01', 'off_grid'],
    ['a price off the tick grid', '"last_qty":0.01,"last_price":63000.55,"cum_qty":0.01', 'off_grid'],
    ['a zero quantity', '"last_qty":0,"last_price":63000.5,"cum_qty":0.01', 'non_positive'],
    ['a negative price', '"last_qty":0.01,"last_price":-63000.5,"cum_qty":0.01', 'negative'],
    ['a number with a leading zero', '"last_qty":01,"last_price":63000.5,"cum_qty":0.01', 'shape'],
    ['fees in two assets', '"last_qty":0.01,"last_price":63000.5,"cum_qty":0.01,"fees":[{"asset":"USD","qty":1},{"asset":"BTC","qty":1}]', 'shape'],
    ['a huge exponent', '"last_qty":1e400,"last_price":63000.5,"cum_qty":0.01', 'shape'],
  ])('refuses the whole frame for %s, and counts it', (_name, fields, reason) => {
    const p = parser();
    expect(p.parse(TRADE(fields))).toMatchObject({ kind: 'rejected', reason });
    expect(p.rejected).toBe(1);
  });

  it('refuses unknown exec types, truncations and non-JSON; never throws', () => {
    const p = parser();
    const good = TRADE(GOOD);
    expect(p.parse(good.replace('"exec_type":"trade"', '"exec_type":"teleport"'))).toMatchObject({ kind: 'rejected', reason: 'unknown_exec_type' });
    for (let n = 0; n < good.length; n++) expect(p.parse(good.slice(0, n)).kind).toBe('rejected');
    expect(p.parse(`${'['.repeat(100_000)}`).kind).toBe('rejected');
    expect(p.parse('{"channel":"executions","type":"update","data":[{"exec_type":"trade","order_id":"\\u0000"}]}').kind).toBe('rejected');
    expect(p.rejected).toBe(good.length + 3);
  });

  it('an event on a pair not configured here (the channel is account-wide) is left out and counted, never a reason to refuse the frame', () => {
    const p = parser();
    // the snapshot of an account that also trades ETH/EUR: its open order and its fill beside ours
    const other = (fields: string) => `{"order_id":"OETH","cl_ord_id":"by-hand","exec_id":"TETH","exec_type":"trade","symbol":"ETH/EUR","side":"sell",${fields},"liquidity_ind":"t","order_status":"partially_filled","timestamp":"2026-12-05T05:00:00Z"}`;
    const ours = TRADE(GOOD).replace(/^.*"data":\[/, '').replace(/\],"sequence":4}$/, '');
    const otherOrder = '{"order_id":"OETH2","symbol":"ETH/EUR","order_qty":1.5,"exec_type":"new","order_status":"new","cum_qty":0,"limit_price":3000.05,"timestamp":"2026-12-05T05:00:00Z"}';
    const snap = `{"channel":"executions","type":"snapshot","data":[${other('"last_qty":0.123456789,"last_price":3000.05,"cum_qty":0.5')},${ours},${otherOrder}],"sequence":1}`;
    const m = p.parse(snap);
    expect(m).toMatchObject({ kind: 'executions', snapshot: true, foreign: 2 });
    if (m.kind === 'executions') expect(m.events.map((e) => e.venueOrderId)).toEqual(['OAAAAA-BBBBB-CCCCCC']);
    expect([p.rejected, p.foreign]).toEqual([0, 2]);
    // malformed data is refused whatever its pair: a negative quantity, a string for a number, a bad shape
    expect(p.parse(snap.replace('"last_qty":0.123456789', '"last_qty":-1'))).toMatchObject({ kind: 'rejected', reason: 'negative' });
    expect(p.parse(snap.replace('"last_price":3000.05', '"last_price":"3000.05"'))).toMatchObject({ kind: 'rejected', reason: 'shape' });
    expect(p.parse(snap.replace('"order_id":"OETH2",', ''))).toMatchObject({ kind: 'rejected', reason: 'shape' });
    // a refused frame leaves out nothing
    expect([p.rejected, p.foreign]).toEqual([3, 2]);
  });

  it('subscribe answers, heartbeats and status are recognised', () => {
    const p = parser();
    expect(p.parse('{"method":"subscribe","result":{"channel":"executions","maxratecount":125,"snap_orders":true,"snap_trades":true},"success":true,"time_in":"x","time_out":"y","req_id":3}')).toEqual({ kind: 'subscribed', reqId: 3 });
    expect(p.parse('{"method":"subscribe","error":"ESession:Invalid session","success":false,"req_id":4}')).toEqual({ kind: 'subscribe-failed', error: 'ESession:Invalid session', reqId: 4 });
    expect(p.parse('{"channel":"heartbeat"}').kind).toBe('heartbeat');
    expect(p.parse('{"channel":"status","type":"update","data":[{"system":"online"}]}').kind).toBe('status');
    expect(p.rejected).toBe(0);
  });

  it('quoteJsonNumbers leaves strings alone (digits and escaped quotes inside them too)', () => {
    expect(quoteJsonNumbers('{"a":"x\\"1.5","b":-2e-3,"c":[1,"2"]}')).toBe('{"a":"x\\"1.5","b":"\\u0000-2e-3","c":["\\u00001","2"]}');
    expect(numberTextToDecimal('5e-08')).toBe('0.00000005');
    expect(numberTextToDecimal('1.25E+2')).toBe('125');
    expect(numberTextToDecimal('1.5')).toBe('1.5');
    expect(numberTextToDecimal('01')).toBeUndefined();
  });
});

describe('Kraken API-Sign', () => {
  it('is HMAC-SHA512 (base64-decoded secret) over the path and SHA-256(nonce + POST data)', () => {
    const secret = randomBytes(64).toString('base64');
    const sig = krakenApiSign('/0/private/GetWebSocketsToken', '1700000000000', 'nonce=1700000000000', secret);
    // the message written out byte by byte: path bytes, then the 32-byte SHA-256 digest
    const digest = createHash('sha256').update('1700000000000nonce=1700000000000').digest();
    const message = Buffer.concat([Buffer.from('/0/private/GetWebSocketsToken', 'utf8'), digest]);
    expect(message.length).toBe('/0/private/GetWebSocketsToken'.length + 32);
    expect(sig).toBe(createHmac('sha512', Buffer.from(secret, 'base64')).update(message).digest('base64'));
    expect(Buffer.from(sig, 'base64')).toHaveLength(64);
    // every input matters
    expect(krakenApiSign('/0/private/GetWebSocketsToken', '1700000000001', 'nonce=1700000000000', secret)).not.toBe(sig);
    expect(krakenApiSign('/0/private/AddOrder', '1700000000000', 'nonce=1700000000000', secret)).not.toBe(sig);
  });
});

describe('executions options', () => {
  it('validates the keys (zod) and derives the private endpoint from the public one', () => {
    expect(resolveKrakenOptions({})).toMatchObject({ executions_stream: true, executions_subscribe_timeout_ms: 10_000 });
    expect(resolveKrakenOptions({}).private_ws_url).toBeUndefined();
    expect(() => resolveKrakenOptions({ executions_stream: 'yes' })).toThrow(/kraken\.options\.executions_stream/);
    expect(() => resolveKrakenOptions({ private_ws_url: 'https://ws-auth.kraken.com/v2' })).toThrow(/kraken\.options\.private_ws_url: must be a ws:\/\/ or wss:\/\/ URL/);
    expect(() => resolveKrakenOptions({ executions_subscribe_timeout_ms: 5 })).toThrow(/executions_subscribe_timeout_ms/);
    expect(krakenPrivateWsUrl(undefined, 'wss://ws.kraken.com/v2')).toBe('wss://ws-auth.kraken.com/v2');
    expect(krakenPrivateWsUrl(undefined, 'wss://beta-ws.kraken.com/v2')).toBe('wss://beta-ws-auth.kraken.com/v2');
    expect(krakenPrivateWsUrl(undefined, 'ws://127.0.0.1:4567/v2')).toBe('ws://127.0.0.1:4567/v2');
    expect(krakenPrivateWsUrl('wss://proxy.example/v2', 'wss://ws.kraken.com/v2')).toBe('wss://proxy.example/v2');
  });
});
