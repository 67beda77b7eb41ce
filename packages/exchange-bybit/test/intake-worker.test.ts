/**
 * `[performance] intake = "worker"` for Bybit gives the engine exactly what inline intake gives
 * it: the same v5 frames (in-band snapshots, deltas kept in sequence by `u`, a gap and the
 * resubscribe snapshot that heals it, a mid-stream snapshot, trades with duplicates, linear's
 * liquidations, hostile frames, a reconnect) through BybitFeed inline, through feed records on a
 * ring, and on a real worker thread give the same sink calls in order and the same books; a dead
 * or hung worker takes the books out of SYNCED (core's describeIntakeParity).
 */
import { expect } from 'vitest';
import { defineInstrument, type Instrument } from '@cwts/core';
import { describeIntakeParity, IntakeScriptSteps } from '@cwts/core/testing';
import { createBybitScriptIntake, playBybitScript, type BybitScript } from '../src/index.js';

const EX = 'bybit';
const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
const DEPTH = 50;
const spot: Instrument[] = SYMBOLS.map((s) => defineInstrument({ exchange: EX, symbol: s, base: s.slice(0, 3), quote: 'USDT', tickSize: '0.01', lotSize: '0.000001' }));
const linear: Instrument[] = SYMBOLS.map((s) => defineInstrument({ exchange: EX, symbol: s, base: s.slice(0, 3), quote: 'USDT', tickSize: '0.1', lotSize: '0.001' }));
type Level = [price: string, qty: string];

/** Frames of one connection; `u` kept per book topic as Bybit does. */
class Connection extends IntakeScriptSteps {
  private readonly u = new Map<string, number>();
  private ts = 1_764_900_000_000;

  book(type: 'snapshot' | 'delta', symbol: string, b: Level[], a: Level[], opts: { skip?: number; u?: number } = {}): this {
    const u = opts.u ?? (this.u.get(symbol) ?? 1000) + 1 + (opts.skip ?? 0);
    this.u.set(symbol, u);
    this.steps.push({ frame: JSON.stringify({ topic: `orderbook.${DEPTH}.${symbol}`, type, ts: ++this.ts, data: { s: symbol, b, a, u, seq: 50_000 + u }, cts: this.ts - 1 }) });
    return this;
  }
  trade(symbol: string, id: string, price: string, qty: string): this {
    this.steps.push({ frame: JSON.stringify({ topic: `publicTrade.${symbol}`, type: 'snapshot', ts: ++this.ts, data: [{ T: this.ts - 1, s: symbol, S: 'Buy', v: qty, p: price, L: 'PlusTick', i: id, BT: false }] }) });
    return this;
  }
  liquidation(symbol: string, price: string, qty: string): this {
    this.steps.push({ frame: JSON.stringify({ topic: `allLiquidation.${symbol}`, type: 'snapshot', ts: ++this.ts, data: [{ T: this.ts - 1, s: symbol, S: 'Sell', v: qty, p: price }] }) });
    return this;
  }
  /** Both books' snapshots, as a (re)subscribe brings them. */
  snapshots(dp: number, dq: number, shift = 0): this {
    const p = (x: number) => (x + shift).toFixed(dp);
    const q = (x: number) => x.toFixed(dq);
    return this.book('snapshot', 'BTCUSDT', [[p(65000), q(1)], [p(64999), q(2)]], [[p(65001), q(1.5)], [p(65002), q(2.5)]])
      .book('snapshot', 'ETHUSDT', [[p(3000), q(10)]], [[p(3001), q(12)]]);
  }
}

const script = (c: Connection, instruments = spot): BybitScript => ({ exchange: EX, instruments, depth: DEPTH, nowMs: 1_764_900_000_500, steps: c.steps });

const syncing = new Connection().raw('{"success":true,"ret_msg":"","conn_id":"c1","req_id":"subscribe-1","op":"subscribe"}').snapshots(2, 6).book('delta', 'BTCUSDT', [['64999.50', '0.700000']], []).trade('BTCUSDT', '2290000000001', '65001.00', '0.100000');

const gap = new Connection()
  .snapshots(2, 6)
  .book('delta', 'BTCUSDT', [['65000.00', '0']], [['65000.50', '0.300000']])
  .trade('BTCUSDT', '2290000000001', '65000.50', '0.200000')
  .trade('BTCUSDT', '2290000000001', '65000.50', '0.200000')
  .book('delta', 'ETHUSDT', [['2999.50', '4.000000']], [])
  // u jumps by 3: the book resyncs from the snapshot its resubscribe brings
  .book('delta', 'BTCUSDT', [['64990.00', '9.900000']], [], { skip: 3 })
  .book('delta', 'BTCUSDT', [['64991.00', '1.000000']], [])
  .book('snapshot', 'BTCUSDT', [['65005.00', '1.000000']], [['65006.00', '2.000000']])
  .book('delta', 'BTCUSDT', [['65005.50', '0.500000']], [['65006.00', '0']])
  // a snapshot mid-stream replaces the book; u = 1 is a service restart
  .book('snapshot', 'ETHUSDT', [['3000.50', '5.000000']], [['3001.50', '6.000000']], { u: 1 })
  .book('delta', 'ETHUSDT', [['3000.75', '1.000000']], []);

const linearFlow = new Connection()
  .snapshots(1, 3)
  .liquidation('BTCUSDT', '64990.0', '0.500')
  .book('delta', 'BTCUSDT', [['65000.0', '0']], [['65000.5', '0.300']])
  .trade('ETHUSDT', 'a5b1c6e2-2d4c-5b9e-8f1a-1b2c3d4e5f60', '3001.0', '1.000')
  .liquidation('ETHUSDT', '3001.0', '-1')
  .liquidation('DOGEUSDT', '0.1', '5');

const hostile = new Connection()
  .snapshots(2, 6)
  .raw('garbage')
  .binary(11)
  .raw('{"topic":"orderbook.50.BTCUSDT","type":"delta"')
  .raw('{"unknown":true}')
  .book('delta', 'BTCUSDT', [['65000.005', '1.000000']], [])
  .trade('ETHUSDT', '7', '3000.00', 'abc')
  .raw('{"success":false,"ret_msg":"error:handler not found","op":"subscribe"}')
  .snapshots(2, 6, 1)
  .reconnect('connection reset')
  .book('delta', 'BTCUSDT', [['65001.00', '3.000000']], [])
  .snapshots(2, 6, 2)
  .trade('BTCUSDT', '2290000000009', '65002.00', '0.500000');

const states = (o: { bookView(): unknown[] }) => o.bookView().map((b) => (b as { state: string }).state);

describeIntakeParity<BybitScript>({
  exchange: EX,
  symbols: SYMBOLS,
  play: playBybitScript,
  module: new URL('../dist/intake-worker.js', import.meta.url).href,
  factory: 'createBybitScriptIntake',
  scriptFactory: createBybitScriptIntake,
  syncing: script(syncing),
  scripts: [
    {
      name: 'spot: a sequence gap and a mid-stream snapshot',
      script: script(gap),
      check: (o) => {
        const resyncs = o.calls.flatMap((c) => ((c as { status?: { symbol: string; state: string; reason: string } }).status?.state === 'resyncing' ? [(c as { status: { symbol: string; reason: string } }).status] : []));
        expect(resyncs.map((r) => r.symbol)).toEqual(['BTCUSDT', 'ETHUSDT']);
        expect(resyncs[0]!.reason).toMatch(/gap/);
        expect(resyncs[1]!.reason).toMatch(/service restart/);
        expect(o.calls.filter((c) => (c as { type?: string }).type === 'trade')).toHaveLength(1);
        expect(states(o)).toEqual(['synced', 'synced']);
      },
    },
    {
      name: 'linear: liquidations beside the book and trades',
      script: script(linearFlow, linear),
      check: (o) => {
        expect(o.calls.filter((c) => (c as { type?: string }).type === 'liquidation')).toHaveLength(1);
        expect(o.rejections().length).toBeGreaterThanOrEqual(2);
        expect(states(o)).toEqual(['synced', 'synced']);
      },
    },
    {
      name: 'hostile frames and a reconnect',
      script: script(hostile),
      check: (o) => {
        expect(o.rejections().length).toBeGreaterThanOrEqual(6);
        expect(o.statuses()).toContain(':disconnected');
        expect(states(o)).toEqual(['synced', 'synced']);
      },
    },
  ],
});
