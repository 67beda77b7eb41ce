/**
 * `[performance] intake = "worker"` for Kraken gives the engine exactly what inline intake gives
 * it: the same v2 frames (book snapshots and updates with their CRC32 checksums over each pair's
 * precision, a checksum mismatch and the resubscribe snapshot that heals it, trades, hostile
 * frames, a reconnect) through KrakenFeed inline, through feed records on a ring, and on a real
 * worker thread give the same sink calls in order and the same books; a dead or hung worker
 * takes the books out of SYNCED (core's describeIntakeParity).
 */
import { expect } from 'vitest';
import { MirrorBook, instrumentScales } from '@cwts/core/adapter-kit';
import { describeIntakeParity, IntakeScriptSteps } from '@cwts/core/testing';
import { instrumentsFromPairs, krakenChecksum, numberUnits, createKrakenScriptIntake, playKrakenScript, type KrakenInstrument, type KrakenScript } from '../src/index.js';

const EX = 'kraken';
const TIME = '2026-12-05T06:00:00.123456Z';
const pair = (symbol: string, base: string, pp: number, qp: number) => ({ symbol, base, quote: 'USD', status: 'online', price_precision: pp, qty_precision: qp, price_increment: Number(`1e-${pp}`), qty_increment: Number(`1e-${qp}`), cost_min: 0.5 });
const PAIRS: KrakenInstrument[] = instrumentsFromPairs(EX, [pair('BTC/USD', 'BTC', 1, 8), pair('ETH/USD', 'ETH', 2, 5)], ['BTC/USD', 'ETH/USD']);
type Level = [price: string, qty: string];

/** Frames of one connection, with the checksum Kraken computes over the book each frame leaves. */
class Connection extends IntakeScriptSteps {
  private readonly books = new Map<string, MirrorBook>();
  private tradeId = 1000;

  private units(symbol: string, ls: Level[]) {
    const sc = instrumentScales(PAIRS.find((k) => k.instrument.symbol === symbol)!.instrument);
    return ls.map(([p, q]) => ({ price: numberUnits(p, 0, p.length, sc.price), qty: numberUnits(q, 0, q.length, sc.qty) }));
  }

  /** `corrupt`: the venue's checksum does not match the levels (a lost or garbled update). */
  book(type: 'snapshot' | 'update', symbol: string, bids: Level[], asks: Level[], corrupt = false): this {
    const k = PAIRS.find((x) => x.instrument.symbol === symbol)!;
    const m = type === 'snapshot' ? new MirrorBook() : this.books.get(symbol)!;
    m.apply(this.units(symbol, bids), this.units(symbol, asks));
    this.books.set(symbol, m);
    const checksum = (krakenChecksum(m, k.precision) + (corrupt ? 1 : 0)) >>> 0;
    const lv = (ls: Level[]) => `[${ls.map(([p, q]) => `{"price":${p},"qty":${q}}`).join(',')}]`;
    this.steps.push({ frame: `{"channel":"book","type":"${type}","data":[{"symbol":"${symbol}","bids":${lv(bids)},"asks":${lv(asks)},"checksum":${checksum},"timestamp":"${TIME}"}]}` });
    return this;
  }
  trade(symbol: string, price: string, qty: string, id = ++this.tradeId): this {
    this.steps.push({ frame: `{"channel":"trade","type":"update","data":[{"symbol":"${symbol}","side":"buy","price":${price},"qty":${qty},"ord_type":"limit","trade_id":${id},"timestamp":"${TIME}"}]}` });
    return this;
  }
  heartbeat(): this {
    this.steps.push({ frame: '{"channel":"heartbeat"}' });
    return this;
  }
  snapshots(shift = 0): this {
    const p = (x: number, d: number) => (x + shift).toFixed(d);
    return this.book('snapshot', 'BTC/USD', [[p(65000, 1), '1.5'], [p(64999, 1), '2.25']], [[p(65001, 1), '0.75'], [p(65002, 1), '3']])
      .book('snapshot', 'ETH/USD', [[p(3000, 2), '10.5']], [[p(3001, 2), '12.25'], [p(3002, 2), '1']]);
  }
}

const script = (c: Connection): KrakenScript => ({ exchange: EX, instruments: PAIRS.map((k) => k.instrument), pairs: PAIRS, nowMs: 1_764_900_000_500, steps: c.steps });

const syncing = new Connection().heartbeat().snapshots().book('update', 'BTC/USD', [['64999.5', '0.5']], []).trade('BTC/USD', '65001.0', '0.1');

const checksum = new Connection()
  .heartbeat()
  .snapshots()
  .book('update', 'BTC/USD', [['65000.0', '0']], [['65000.5', '0.3']])
  .trade('BTC/USD', '65000.5', '0.2')
  .book('update', 'ETH/USD', [['2999.75', '4']], [])
  // the checksum does not match: the book resyncs (unsubscribe + subscribe) rather than trade on it
  .book('update', 'BTC/USD', [['64998.0', '7']], [], true)
  // updates of the old subscription before its snapshot are dropped
  .book('update', 'BTC/USD', [['64997.0', '1']], [])
  .trade('ETH/USD', '3001.00', '1.5')
  .book('snapshot', 'BTC/USD', [['65004.0', '1']], [['65005.0', '2']])
  .book('update', 'BTC/USD', [['65004.5', '0.5']], [['65005.0', '0']])
  .heartbeat();

const hostile = new Connection()
  .heartbeat()
  .snapshots()
  .raw('garbage')
  .binary(9)
  .raw('{"channel":"heartbeat"')
  .raw('{"unknown":true}')
  .raw('{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":6')
  .trade('ETH/USD', '3000.001', '1')
  .trade('DOGE/USD', '0.1', '5')
  .raw('{"method":"subscribe","success":false,"error":"Currency pair not supported DOGE/USD"}')
  .snapshots(1)
  .reconnect('connection reset')
  .book('update', 'BTC/USD', [['65001.0', '3']], [])
  .snapshots(2)
  .trade('BTC/USD', '65002.0', '0.5');

describeIntakeParity<KrakenScript>({
  exchange: EX,
  symbols: PAIRS.map((k) => k.instrument.symbol),
  play: playKrakenScript,
  module: new URL('../dist/intake-worker.js', import.meta.url).href,
  factory: 'createKrakenScriptIntake',
  scriptFactory: createKrakenScriptIntake,
  syncing: script(syncing),
  scripts: [
    {
      name: 'a checksum mismatch and the snapshot that heals it',
      script: script(checksum),
      check: (o) => {
        const resyncs = o.calls.flatMap((c) => ((c as { status?: { symbol: string; state: string; reason: string } }).status?.state === 'resyncing' ? [(c as { status: { symbol: string; reason: string } }).status] : []));
        expect(resyncs).toEqual([expect.objectContaining({ symbol: 'BTC/USD', reason: 'checksum mismatch after update 3' })]);
        expect(o.statuses().filter((s) => s.startsWith('BTC/USD:'))).toEqual(['BTC/USD:synced', 'BTC/USD:resyncing', 'BTC/USD:synced']);
        const btc = o.bookView()[0] as { state: string; bids: number[][]; asks: number[][] };
        expect(btc).toMatchObject({ state: 'synced', bids: [[650045, 50_000_000], [650040, 100_000_000]], asks: [] }); // ticks of 0.1, lots of 1e-8
      },
    },
    {
      name: 'hostile frames and a reconnect',
      script: script(hostile),
      check: (o) => {
        expect(o.rejections().length).toBeGreaterThanOrEqual(7);
        expect(o.statuses()).toContain(':disconnected');
        expect(o.bookView().map((b) => (b as { state: string }).state)).toEqual(['synced', 'synced']);
      },
    },
  ],
});
