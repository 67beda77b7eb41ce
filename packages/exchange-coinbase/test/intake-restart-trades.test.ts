/**
 * Coinbase heals a lost stretch of trades with the market_trades snapshot a (re)subscribe brings,
 * deduplicated by id: inline, a reconnect backfills what printed while the socket was down. An
 * intake worker replaced after a crash or a hang builds a fresh CoinbaseFeed, which would take its
 * first snapshot for history from before the session and drop those trades silently; core's
 * WorkerIntake hands it the last trades the engine took (IntakeResume.trades), so it resumes
 * after them as the inline feed does after a reconnect.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defineInstrument, ManualClock, type IntakeWorkerSpec, type MarketDataClient, type MarketEvent } from '@cwts/core';
import { WorkerIntake } from '@cwts/core/intake';
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

const script = (c: Connection, after?: 'crash'): CoinbaseScript => ({ exchange: EX, instruments: [BTC], nowMs: 1_764_900_000_500, steps: c.steps, ...(after ? { after } : {}) });
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

describe('Coinbase trades across an intake worker restart', () => {
  it('inline: a reconnect backfills the trades missed meanwhile (what a worker restart must match)', () => {
    const events: MarketEvent[] = [];
    const c = first().reconnect('connection reset') as Connection;
    next(c);
    playCoinbaseScript(script(c), sinkInto(events));
    expect(tradeIds(events)).toEqual(['101', '102', '103', '104']);
  });

  it('worker: the replacement of a crashed intake worker backfills the trades printed while it was down, none twice', async () => {
    const module = new URL('../dist/intake-worker.js', import.meta.url).href;
    const specs: IntakeWorkerSpec[] = [
      { module, factory: 'createCoinbaseScriptIntake', args: script(first(), 'crash') },
      { module, factory: 'createCoinbaseScriptIntake', args: script(next(new Connection())) },
    ];
    let n = 0;
    const inline: MarketDataClient = {
      exchange: EX,
      loadInstruments: async () => [BTC],
      start: async () => {},
      stop: async () => {},
      intakeWorker: () => specs[Math.min(n++, specs.length - 1)]!,
    };
    const intake = new WorkerIntake(inline, { exchange: EX, logger: silentLogger(), clock: new ManualClock(0), checkEveryMs: 0, restartBackoff: { initialMs: 0, maxMs: 0 } });
    stop = () => intake.stop();
    const events: MarketEvent[] = [];
    let ends = 0;
    await intake.start([BTC.symbol], { ...sinkInto(events), onEndOfStream: () => void ends++ });
    const t0 = Date.now();
    while (!(intake.starts === 2 && ends === 1)) {
      if (Date.now() - t0 > 20_000) throw new Error('the replacement worker did not play its script');
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(intake.failures).toBe(1);
    expect(tradeIds(events)).toEqual(['101', '102', '103', '104']);
    // what the replacement was given: the crashed worker's last trade the engine took
    expect(intake.resume.trades).toEqual({ 'BTC-USD': [{ tradeId: '101', ts: TIME_MS }] });
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
