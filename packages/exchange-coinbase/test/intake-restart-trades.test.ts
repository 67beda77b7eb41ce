/**
 * Coinbase heals a lost stretch of trades with the market_trades snapshot a (re)subscribe brings,
 * deduplicated by id: inline, a reconnect backfills what printed while the socket was down. An
 * intake worker replaced after a crash or a hang builds a fresh CoinbaseFeed, which would take its
 * first snapshot for history from before the session and drop those trades silently; core's
 * WorkerIntake hands it the last trades the engine was handed or the feed marked as history
 * (IntakeResume.trades), so it resumes after them as the inline feed does after a reconnect.
 *
 * The engine may throw while it applies a trade (the recorder's writeSync on a full disk), after
 * paper execution already filled resting orders on it: that trade counts as taken, so the
 * replacement's backfill never hands it over a second time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defineInstrument, ManualClock, type IntakeWorkerSpec, type MarketDataClient, type MarketEvent, type MarketEventSink } from '@cwts/core';
import { SCRIPT_HANG_COMPONENT, WorkerIntake } from '@cwts/core/intake';
import { silentLogger } from '@cwts/core/observability';
import { IntakeScriptSteps } from '@cwts/core/testing';
import { playCoinbaseScript, type CoinbaseScript } from '../src/index.js';

const EX = 'coinbase';
const TIME = '2026-12-05T06:00:00.000000000Z';
const TIME_MS = Date.parse('2026-12-05T06:00:00.000Z');
const BTC = defineInstrument({ exchange: EX, symbol: 'BTC-USD', base: 'BTC', quote: 'USD', tickSize: '0.01', lotSize: '0.00000001' });

class Connection extends IntakeScriptSteps {
  seq = 0;
  private frame(channel: string, events: unknown[]): this {
    this.steps.push({ frame: JSON.stringify({ channel, client_id: '', timestamp: TIME, sequence_num: this.seq++, events }) });
    return this;
  }
  heartbeat(): this {
    return this.frame('heartbeats', [{ current_time: TIME, heartbeat_counter: this.seq }]);
  }
  snapshot(): this {
    return this.frame('l2_data', [{ type: 'snapshot', product_id: 'BTC-USD', updates: [['bid', '65000.00', '1.0'], ['offer', '65001.00', '1.5']].map(([side, price_level, new_quantity]) => ({ side, event_time: TIME, price_level, new_quantity })) }]);
  }
  trades(type: 'snapshot' | 'update', ids: number[]): this {
    return this.frame('market_trades', [{ type, trades: ids.map((id) => ({ trade_id: String(id), product_id: 'BTC-USD', price: '65000.50', size: '0.1', side: 'BUY', time: TIME })) }]);
  }
  override reconnect(why: string): this {
    this.seq = 0;
    return super.reconnect(why);
  }
}

const script = (c: Connection, after?: 'crash' | 'hang'): CoinbaseScript => ({ exchange: EX, instruments: [BTC], nowMs: 1_764_900_000_500, steps: c.steps, ...(after ? { after } : {}) });
/** First connection: trade 100 is history (the baseline), 101 prints live. */
const first = () => new Connection().heartbeat().snapshot().trades('snapshot', [100]).trades('update', [101]);
/** The next connection: its market_trades snapshot lists 102 and 103, printed while we were not connected; 104 live. */
const next = (c: Connection) => c.heartbeat().snapshot().trades('snapshot', [103, 102, 101, 100]).trades('update', [104]);

const tradeIds = (events: MarketEvent[]): string[] => events.filter((e) => e.type === 'trade').map((e) => (e as { tradeId: string }).tradeId);
const sinkInto = (events: MarketEvent[]) => ({ onMarketEvent: (ev: MarketEvent) => void events.push({ ...ev }), onFeedStatus: () => {}, onFeedError: () => {} });

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

/**
 * Plays `scripts` on one intake worker each (the next replacing the previous one when it fails)
 * until the last one ended its stream; `throwOn`: the engine throws once on that trade, after it
 * acted on it (engine.dispatch: paper fills run before the recorder's write). A worker whose
 * script hangs is judged hung on an injected clock. Returns the trade ids the engine was handed,
 * in order, and the intake.
 */
async function playOnWorkers(scripts: CoinbaseScript[], throwOn?: string): Promise<{ handed: string[]; intake: WorkerIntake }> {
  const module = new URL('../dist/intake-worker.js', import.meta.url).href;
  const specs: IntakeWorkerSpec[] = scripts.map((args) => ({ module, factory: 'createCoinbaseScriptIntake', args }));
  let n = 0;
  const inline: MarketDataClient = {
    exchange: EX,
    loadInstruments: async () => [BTC],
    start: async () => {},
    stop: async () => {},
    intakeWorker: () => specs[Math.min(n++, specs.length - 1)]!,
  };
  let monoNow = 0;
  const intake = new WorkerIntake(inline, { exchange: EX, logger: silentLogger(), clock: new ManualClock(0), checkEveryMs: 0, hungAfterMs: 1000, restartBackoff: { initialMs: 0, maxMs: 0 }, now: () => monoNow });
  stop = () => intake.stop();
  const handed: string[] = [];
  let hanging = false;
  let threw = false;
  let ends = 0;
  await intake.start([BTC.symbol], {
    onMarketEvent: (ev: MarketEvent) => {
      if (ev.type !== 'trade') return;
      handed.push(ev.tradeId);
      if (ev.tradeId === throwOn && !threw) {
        threw = true;
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
    },
    onFeedStatus: () => {},
    onFeedError: (component) => void (component === SCRIPT_HANG_COMPONENT && (hanging = true)),
    onEndOfStream: () => void ends++,
  });
  const t0 = Date.now();
  while (!(intake.starts === scripts.length && ends === 1)) {
    if (hanging) {
      // its thread is blocked since it said so: no heartbeat comes between these two checks
      hanging = false;
      intake.checkHealth((monoNow += 10_000));
      intake.checkHealth((monoNow += 10_000));
    }
    if (Date.now() - t0 > 20_000) throw new Error('the replacement worker did not play its script');
    await new Promise((r) => setTimeout(r, 10));
  }
  return { handed, intake };
}

describe('Coinbase trades across an intake worker restart', () => {
  it('inline: a reconnect backfills the trades missed meanwhile (what a worker restart must match)', () => {
    const events: MarketEvent[] = [];
    const c = first().reconnect('connection reset') as Connection;
    next(c);
    playCoinbaseScript(script(c), sinkInto(events));
    expect(tradeIds(events)).toEqual(['101', '102', '103', '104']);
  });

  it('worker: the replacement of a crashed intake worker backfills the trades printed while it was down, none twice', async () => {
    const { handed, intake } = await playOnWorkers([script(first(), 'crash'), script(next(new Connection()))]);
    expect(intake.failures).toBe(1);
    expect(handed).toEqual(['101', '102', '103', '104']);
    // what the replacement was given: the history mark (100) and the crashed worker's last trade the engine took
    expect(intake.resume.trades).toEqual({ 'BTC-USD': [{ tradeId: '100', ts: TIME_MS }, { tradeId: '101', ts: TIME_MS }] });
  });

  it('worker: one that fails before any live trade (only the history snapshot seen) leaves its mark: the replacement backfills what printed meanwhile, as inline', async () => {
    const history = new Connection().heartbeat().snapshot().trades('snapshot', [100]);
    for (const after of ['crash', 'hang'] as const) {
      const { handed, intake } = await playOnWorkers([script(history, after), script(next(new Connection()))]);
      expect(intake.failures).toBe(1);
      expect(handed).toEqual(['101', '102', '103', '104']);
      await stop?.();
      stop = undefined;
    }
  });

  it('worker: the engine throws on the first live trade (101) after acting on it: the replacement backfills 102 and 103 and does not repeat 101', async () => {
    const throwsOn101 = new Connection().heartbeat().snapshot().trades('snapshot', [100]).trades('update', [101]).trades('update', [102]);
    const { handed, intake } = await playOnWorkers([script(throwsOn101), script(next(new Connection()))], '101');
    expect(intake.failures).toBe(1);
    // 102 was dropped with the rest of the ring and is backfilled; 101 was handed over once already
    expect(handed).toEqual(['101', '102', '103', '104']);
  });

  it('worker: the engine throws on a later trade (102) after acting on it: the replacement does not hand 102 over a second time', async () => {
    const throwsOn102 = new Connection().heartbeat().snapshot().trades('snapshot', [100]).trades('update', [101]).trades('update', [102]).trades('update', [103]);
    const after = new Connection().heartbeat().snapshot().trades('snapshot', [104, 103, 102, 101, 100]).trades('update', [105]);
    const { handed, intake } = await playOnWorkers([script(throwsOn102), script(after)], '102');
    expect(intake.failures).toBe(1);
    // 103 was dropped with the rest of the ring and is backfilled
    expect(handed).toEqual(['101', '102', '103', '104', '105']);
  });

  it('the feed marks its history snapshot on a sink that keeps marks (an intake worker\'s), in id order, and nothing else: no live trade, no backfill, no resumed feed', () => {
    const marks: string[] = [];
    const events: MarketEvent[] = [];
    const sink: MarketEventSink & { onTradeMark(symbol: string, tradeId: string, ts: number): void } = {
      ...sinkInto(events),
      onTradeMark: (symbol, tradeId, ts) => void marks.push(`${symbol} ${tradeId} ${ts}`),
    };
    const c = new Connection().heartbeat().snapshot().trades('snapshot', [100, 99]).trades('update', [101]).reconnect('connection reset') as Connection;
    next(c);
    playCoinbaseScript(script(c), sink);
    expect(marks).toEqual([`BTC-USD 99 ${TIME_MS}`, `BTC-USD 100 ${TIME_MS}`]);
    expect(tradeIds(events)).toEqual(['101', '102', '103', '104']);
    // a feed that resumes from earlier workers has no history snapshot: nothing to mark
    marks.length = 0;
    playCoinbaseScript(script(next(new Connection())), sink, { 'BTC-USD': [{ tradeId: '100', ts: TIME_MS }] });
    expect(marks).toEqual([]);
  });

  it("the feed resumes after the trades it is given; ids that are no trade ids are skipped, and with none left the first snapshot is history again", () => {
    const events: MarketEvent[] = [];
    playCoinbaseScript(script(next(new Connection())), sinkInto(events), { 'BTC-USD': [{ tradeId: 'x-9', ts: TIME_MS }, { tradeId: '101', ts: TIME_MS }] });
    expect(tradeIds(events)).toEqual(['102', '103', '104']);
    const fresh: MarketEvent[] = [];
    const hostile = [{ tradeId: '-5', ts: TIME_MS }, { tradeId: '1e3', ts: TIME_MS }, { tradeId: '99999999999999999', ts: TIME_MS }, null] as unknown as { tradeId: string; ts: number }[];
    playCoinbaseScript(script(next(new Connection())), sinkInto(fresh), { 'BTC-USD': hostile });
    expect(tradeIds(fresh)).toEqual(['104']);
  });
});
