import { describe, expect, it } from 'vitest';
import { defineInstrument, type BookView, type ExecutionReport, type Logger, type MarketEvent, type OrderIntent, type PersistedState, type Signal, type StrategyContext, type SubmitResult } from '@cwts/core';
import { MAX_VENUE_LEAD_MS } from '@cwts/core/detectors';
import { silentLogger } from '@cwts/core/observability';
import { parseFollowerSettings, WhaleFollower } from './whale-follower.js';
import { plugin } from './index.js';
import { DEFAULT_WHALE_SETTINGS, RobustWhaleDetector } from '../detectors/robust-whale.js';

const I = defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });

/** A strategy context whose clock (`now`) the test moves, as the engine's clock moves. */
function ctx(position = 0, persisted?: PersistedState) {
  const sent: OrderIntent[] = [];
  const book = { synced: true, bestBid: () => 5_999_900, bestAsk: () => 6_000_000 } as unknown as BookView;
  const c = {
    now: 0,
    instrument: () => I,
    book: () => book,
    positions: { qty: () => position },
    openOrders: () => [],
    submit: (i: OrderIntent): SubmitResult => (sent.push(i), { accepted: true, clientOrderId: `cw-${sent.length}` }),
    ...(persisted ? { persisted } : {}),
  } as unknown as StrategyContext & { now: number };
  return { c, sent, setPosition: (p: number) => (position = p), at: (now: number) => ((c.now = now), c) };
}

/** A journal's key-value store in memory. */
function memoryState(init: Record<string, unknown> = {}): PersistedState & { values: Map<string, unknown> } {
  const values = new Map<string, unknown>(Object.entries(init));
  return {
    values,
    get: <T>(scope: string, key: string) => values.get(`${scope}/${key}`) as T | undefined,
    set: (scope: string, key: string, value: unknown) => void values.set(`${scope}/${key}`, value),
  };
}

const whale = (ts: number, direction: 1 | -1): Signal => ({ id: `w${ts}`, detector: 'whale', kind: 'whale_trade', exchange: 'sim', symbol: 'BTCUSDT', ts, direction, strength: 5, evidence: {} });
const tick = (ts: number, id: string): MarketEvent => ({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts, recvTs: 0, tradeId: id, price: 1, qty: 1, side: 'buy' });

describe('WhaleFollower', () => {
  const settings = parseFollowerSettings({ order_notional: 1200, cooldown_ms: 5000, hold_ms: 20000, slippage_bps: 10 });

  it('buys a fixed notional just through the ask on a buy whale, sized in whole lots', () => {
    const { sent, at } = ctx();
    new WhaleFollower(settings, silentLogger()).onSignal(whale(1000, 1), at(1000));
    // limit = ask + 10 bps of 60,000.00 = 60,060.00; 1200 USDT at the limit (what the risk checks
    // value a buy at) = 1998 lots of 0.6006 USDT (at the ask it was 2000, worth 1201.20 at the limit).
    expect(sent).toEqual([expect.objectContaining({ side: 'buy', type: 'limit', tif: 'IOC', qty: 1998, price: 6_006_000, reason: 'w1000' })]);
  });

  it('respects the cooldown per symbol, then flattens after the hold time with a reduce-only order', () => {
    const { sent, setPosition, at } = ctx();
    const s = new WhaleFollower(settings, silentLogger());
    s.onSignal(whale(1000, -1), at(1000));
    s.onSignal(whale(3000, -1), at(3000));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ side: 'sell', price: 5_999_900 - 5999 });
    setPosition(-2000);
    s.onMarketEvent!(tick(20_999, 'a'), at(20_999));
    expect(sent).toHaveLength(1);
    s.onMarketEvent!(tick(21_000, 'b'), at(21_000));
    expect(sent[1]).toMatchObject({ side: 'buy', qty: 2000, reduceOnly: true });
    s.onSignal(whale(21_000, 1), at(21_000));
    expect(sent).toHaveLength(3);
  });

  it('runs its cooldown and exit on the engine clock, not on signal or trade venue times', () => {
    const { sent, setPosition, at } = ctx();
    const s = new WhaleFollower(settings, silentLogger());
    // a signal stamped far in the future by a venue glitch has no age to judge it by: not followed
    s.onSignal(whale(1.7e15, 1), at(1000));
    expect(sent).toHaveLength(0);
    expect(s.staleSignalsSkipped).toBe(1);
    s.onSignal(whale(1000, 1), at(1000));
    expect(sent).toHaveLength(1);
    setPosition(2000);
    // trades stamped far in the future by a venue glitch
    s.onMarketEvent!(tick(1.7e15 + 30_000, 'a'), at(20_999));
    expect(sent).toHaveLength(1); // not yet due on the clock, whatever the trade's time says
    s.onMarketEvent!(tick(0, 'b'), at(21_000));
    expect(sent[1]).toMatchObject({ side: 'sell', reduceOnly: true });
    setPosition(0);
    s.onMarketEvent!(tick(0, 'c'), at(22_000));
    s.onSignal(whale(22_000, 1), at(22_000));
    expect(sent).toHaveLength(3); // the cooldown from 1000 has long passed
  });

  it('a journaled time from a bad clock (far ahead) blocks neither the exit nor later entries for ever', () => {
    // What a follower before this fix journaled after a microsecond-stamped whale.
    const far = 1.7e15;
    const state = memoryState({ 'strategy:whale-follower/lastEntry:sim:BTCUSDT': far, 'strategy:whale-follower/exitAt:sim:BTCUSDT': far + 20_000 });
    const { sent, setPosition, at } = ctx(2000, state);
    const s = new WhaleFollower(settings, silentLogger());
    const T = 1_700_000_000_000;
    // the restored exit is pulled back to hold_ms from the first look, and kept there
    s.onMarketEvent!(tick(T, 'a'), at(T));
    expect(sent).toHaveLength(0);
    expect(state.values.get('strategy:whale-follower/exitAt:sim:BTCUSDT')).toBe(T + 20_000);
    s.onMarketEvent!(tick(T + 19_999, 'b'), at(T + 19_999));
    expect(sent).toHaveLength(0);
    s.onMarketEvent!(tick(T + 20_000, 'c'), at(T + 20_000));
    expect(sent[0]).toMatchObject({ side: 'sell', qty: 2000, reduceOnly: true });
    setPosition(0);
    // the restored last entry is taken as "now" at the first signal: that one is inside the cooldown, a later one is not
    const s2 = new WhaleFollower(settings, silentLogger());
    s2.onSignal(whale(T + 20_000, 1), at(T + 20_000));
    expect(sent).toHaveLength(1);
    s2.onSignal(whale(T + 24_999, 1), at(T + 24_999));
    expect(sent).toHaveLength(1);
    s2.onSignal(whale(T + 25_000, 1), at(T + 25_000));
    expect(sent).toHaveLength(2);
  });
});

describe('WhaleFollower: hold_ms while whales keep coming (more often than hold_ms)', () => {
  const settings = parseFollowerSettings({ order_notional: 1200, cooldown_ms: 5000, hold_ms: 20000, slippage_bps: 10 });
  const buyFill = (qty: number, now: number): ExecutionReport => ({ kind: 'fill', exchange: 'sim', symbol: 'BTCUSDT', clientOrderId: `c${now}`, side: 'buy', lastPrice: 6_000_000, lastQty: qty, cumQty: qty, leavesQty: 0, feeAtoms: 0n, ts: now });

  /** A whale and its entry's fill every 6 s from `from` to `to`, a trade every second; returns the largest position held. */
  function drive(s: WhaleFollower, h: ReturnType<typeof ctx>, pos: { qty: number }, from: number, to: number): number {
    let most = 0;
    for (let t = from; t <= to; t += 1000) {
      const c = h.at(t);
      if (t % 6000 === 0) {
        const before = h.sent.length;
        s.onSignal(whale(t, 1), c);
        if (h.sent.length > before) {
          h.setPosition((pos.qty += h.sent[before]!.qty));
          s.onExecution(buyFill(h.sent[before]!.qty, t), c);
        }
      }
      const before = h.sent.length;
      s.onMarketEvent!(tick(t, `t${t}`), c);
      if (h.sent.length > before) h.setPosition((pos.qty = 0)); // the reduce-only IOC filled
      most = Math.max(most, pos.qty);
    }
    return most;
  }

  it('flattens hold_ms after the entry that opened the position; later entries do not push the exit back', () => {
    // Before: each entry (and each fill) moved the exit to hold_ms after the newest one, so with
    // a whale every 6 s nothing was ever sold: 21 entries in 120 s, position 42,000 lots and growing.
    const h = ctx();
    const pos = { qty: 0 };
    const s = new WhaleFollower(settings, silentLogger());
    const most = drive(s, h, pos, 0, 120_000);
    const exits = h.sent.filter((o) => o.reduceOnly);
    // entries at 0, 6, 12 and 18 s are flattened together at 20 s (1,998 lots each); the next leg opens at 24 s
    expect(exits[0]).toMatchObject({ side: 'sell', qty: 7992, reduceOnly: true });
    expect(exits.length).toBeGreaterThanOrEqual(5);
    expect(most).toBe(7992);
    expect(h.sent.findIndex((o) => o.reduceOnly)).toBe(4);
  });

  it('keeps the planned exit across a restart mid-hold: an entry after the restart neither re-enters inside the cooldown nor moves the exit', () => {
    const state = memoryState();
    const pos = { qty: 0 };
    const h = ctx(0, state);
    drive(new WhaleFollower(settings, silentLogger()), h, pos, 0, 7000); // entries at 0 and 6 s
    expect(pos.qty).toBe(3996);
    expect(state.values.get('strategy:whale-follower/exitAt:sim:BTCUSDT')).toBe(20_000);
    expect(state.values.get('strategy:whale-follower/lastEntry:sim:BTCUSDT')).toBe(6000);
    // restart: a new follower, the same journal and position
    const s = new WhaleFollower(settings, silentLogger());
    s.onSignal(whale(10_000, 1), h.at(10_000));
    expect(h.sent).toHaveLength(2); // inside the journaled cooldown (last entry 6 s)
    drive(s, h, pos, 12_000, 19_000); // entries at 12 and 18 s
    expect(h.sent.filter((o) => o.reduceOnly)).toHaveLength(0);
    expect(state.values.get('strategy:whale-follower/exitAt:sim:BTCUSDT')).toBe(20_000);
    s.onMarketEvent!(tick(20_000, 'due'), h.at(20_000));
    expect(h.sent.at(-1)).toMatchObject({ side: 'sell', qty: 7992, reduceOnly: true });
  });
});

describe('WhaleFollower: signal age (max_signal_age_ms)', () => {
  const settings = parseFollowerSettings({ order_notional: 1200, cooldown_ms: 5000, hold_ms: 20000, slippage_bps: 10 });

  it('follows a signal up to max_signal_age_ms old on the engine clock (default 2000), skips an older one, counts and warns', () => {
    expect(settings.maxSignalAgeMs).toBe(2000);
    const warnings: string[] = [];
    const logger = { ...silentLogger(), warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)) } as unknown as Logger;
    const { sent, at } = ctx();
    const s = new WhaleFollower(settings, logger);
    const T = 1_700_000_000_000;
    s.onSignal(whale(T - 2001, 1), at(T));
    s.onSignal({ ...whale(T, 1), ts: Number.NaN }, at(T));
    expect(sent).toHaveLength(0);
    expect(s.staleSignalsSkipped).toBe(2);
    // one warning per 10 s of the clock; the rest counted into the next one
    expect(warnings).toEqual([expect.stringContaining('2001 ms old (max_signal_age_ms 2000)')]);
    s.onSignal(whale(T + 10_000 - 5000, 1), at(T + 10_000));
    expect(warnings[1]).toContain('(and 1 more since the last warning)');
    // at the limit it is followed
    s.onSignal(whale(T + 10_000 - 2000, 1), at(T + 10_000));
    expect(sent).toHaveLength(1);
    expect(s.staleSignalsSkipped).toBe(3);
  });

  it('is a setting: max_signal_age_ms, a positive number', () => {
    expect(parseFollowerSettings({ max_signal_age_ms: 500 }).maxSignalAgeMs).toBe(500);
    expect(() => parseFollowerSettings({ max_signal_age_ms: 0 })).toThrow('strategy.max_signal_age_ms: expected a positive number');
    expect(() => parseFollowerSettings({ max_signal_age: 500 })).toThrow(/unknown key \(known: .*max_signal_age_ms/);
  });

  it('refuses order_notional = 0 when the plugin registers (every entry would be zero lots, skipped silently)', () => {
    const register = (config: Record<string, unknown>) => plugin.register({ registrar: { factory: () => undefined }, config } as unknown as Parameters<typeof plugin.register>[0]);
    expect(() => register({ order_notional: 0 })).toThrow('strategy.order_notional: expected a positive number (quote currency per entry), got 0');
    expect(() => register({ order_notional: 1 })).not.toThrow();
  });
});

describe('WhaleFollower: the engine clock (wall time) steps back (NTP makestep, a resumed VM)', () => {
  const settings = parseFollowerSettings({ order_notional: 1200, cooldown_ms: 5000, hold_ms: 20_000, slippage_bps: 10 });
  const T = 1_700_000_000_000;
  const HOUR = 3_600_000;

  it('flattens with the hold left at the last reading before a 1 h step back mid-hold, and journals the moved exit', () => {
    // Before: the exit stayed at entry + hold_ms on the old clock, and the position was held for the hour.
    const state = memoryState();
    const h = ctx(0, state);
    const s = new WhaleFollower(settings, silentLogger());
    s.onSignal(whale(T, 1), h.at(T));
    h.setPosition(2000);
    s.onMarketEvent!(tick(T + 5000, 'a'), h.at(T + 5000)); // 15 s of the hold left
    const stepped = T + 5000 - HOUR;
    let exitAt = -1;
    for (let k = 1; k <= 60 && exitAt < 0; k++) {
      s.onMarketEvent!(tick(T + 5000 + k * 1000, `t${k}`), h.at(stepped + k * 1000));
      if (k === 1) expect(state.values.get('strategy:whale-follower/exitAt:sim:BTCUSDT')).toBe(stepped + 1000 + 15_000);
      if (h.sent.length > 1) exitAt = k;
    }
    // the 1 s between the last reading and the first after the step is unseen time, counted as none
    expect(exitAt).toBe(16);
    expect(h.sent[1]).toMatchObject({ side: 'sell', qty: 2000, reduceOnly: true });
  });

  it('keeps the cooldown left at the last reading across a step back, not the length of the step', () => {
    const h = ctx();
    const s = new WhaleFollower(settings, silentLogger());
    s.onSignal(whale(T, 1), h.at(T));
    s.onMarketEvent!(tick(T + 1000, 'a'), h.at(T + 1000)); // 4 s of the cooldown left
    const N = T + 1000 - HOUR;
    s.onSignal(whale(N, 1), h.at(N));
    s.onSignal(whale(N + 3999, 1), h.at(N + 3999));
    expect(h.sent).toHaveLength(1);
    s.onSignal(whale(N + 4000, 1), h.at(N + 4000));
    expect(h.sent).toHaveLength(2);
  });

  it('does not follow a signal whose time lies more than MAX_VENUE_LEAD_MS ahead of the clock: its age is unknown', () => {
    // Clock 1 h behind: a whale the venue backfilled, a minute old in venue time, read as -59 min old and was followed.
    const warnings: string[] = [];
    const logger = { ...silentLogger(), warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)) } as unknown as Logger;
    const h = ctx();
    const s = new WhaleFollower(settings, logger);
    const now = T - HOUR;
    s.onSignal(whale(T - 60_000, 1), h.at(now));
    expect(h.sent).toHaveLength(0);
    expect(s.staleSignalsSkipped).toBe(1);
    expect(warnings).toEqual([expect.stringContaining(`its time lies ${HOUR - 60_000} ms ahead of the clock`)]);
    // within the lead a venue time may have over this host (clock skew), it is followed
    s.onSignal(whale(now + MAX_VENUE_LEAD_MS, 1), h.at(now));
    expect(h.sent).toHaveLength(1);
  });

  it('gives up an exit refused MIN_NOTIONAL (dust) with one warning; the next entry plans an exit that flattens it all', () => {
    // Before: the dust exit was sent, and refused, at every trade for ever.
    const warnings: string[] = [];
    const logger = { ...silentLogger(), warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)) } as unknown as Logger;
    const state = memoryState();
    const h = ctx(0, state);
    const refused: OrderIntent[] = [];
    const c = h.at(T) as { submit: (i: OrderIntent) => SubmitResult };
    const accept = c.submit;
    c.submit = (i) => (i.reduceOnly && i.qty < 10 ? (refused.push(i), { accepted: false, reason: 'MIN_NOTIONAL', message: 'below the minimum' }) : accept(i));
    const s = new WhaleFollower(settings, logger);
    s.onSignal(whale(T, 1), h.at(T));
    h.setPosition(3); // the entry IOC mostly missed: 3 lots, 1.80 USDT
    for (let k = 0; k < 10; k++) s.onMarketEvent!(tick(T + 20_000 + k * 1000, `d${k}`), h.at(T + 20_000 + k * 1000));
    expect(refused).toHaveLength(1);
    expect(warnings.filter((w) => w.includes('below the minimum notional'))).toHaveLength(1);
    expect(state.values.get('strategy:whale-follower/exitAt:sim:BTCUSDT')).toBe(null);
    // a new entry on the leg plans an exit again, which takes the dust with it
    s.onSignal(whale(T + 40_000, 1), h.at(T + 40_000));
    expect(h.sent).toHaveLength(2);
    h.setPosition(2003);
    s.onMarketEvent!(tick(T + 60_000, 'e'), h.at(T + 60_000));
    expect(h.sent[2]).toMatchObject({ side: 'sell', qty: 2003, reduceOnly: true });
  });
});

describe('WhaleFollower: exits per leg (an entry the router split over venues)', () => {
  const settings = parseFollowerSettings({ order_notional: 1200, cooldown_ms: 5000, hold_ms: 20000, slippage_bps: 10 });
  const fill = (exchange: string, side: 'buy' | 'sell', qty: number): ExecutionReport => ({ kind: 'fill', exchange, symbol: 'BTCUSDT', clientOrderId: `c-${exchange}`, side, lastPrice: 6_000_000, lastQty: qty, cumQty: qty, leavesQty: 0, feeAtoms: 0n, ts: 0 });
  const tickOn = (exchange: string, id: string): MarketEvent => ({ ...tick(0, id), exchange });

  it('flattens every venue the entry filled on, each hold_ms after its fill, and journals each leg', () => {
    const positions: Record<string, number> = { sim: 0, b: 0 };
    const state = memoryState();
    const sent: OrderIntent[] = [];
    const book = { synced: true, bestBid: () => 5_999_900, bestAsk: () => 6_000_000 } as unknown as BookView;
    const c = {
      now: 1000,
      instrument: () => I,
      book: () => book,
      positions: { qty: (exchange: string) => positions[exchange] ?? 0 },
      openOrders: () => [],
      submit: (i: OrderIntent): SubmitResult => (sent.push(i), { accepted: true, clientOrderId: `sor-${sent.length}` }),
      persisted: state,
    } as unknown as StrategyContext & { now: number };
    const s = new WhaleFollower(settings, silentLogger());
    s.onSignal(whale(1000, 1), c);
    expect(sent).toHaveLength(1);
    // the router filled 500 lots on the signal's venue and 1,500 on venue b
    positions.sim = 500;
    s.onExecution(fill('sim', 'buy', 500), c);
    positions.b = 1500;
    s.onExecution(fill('b', 'buy', 1500), c);
    expect(state.values.get('strategy:whale-follower/exitAt:b:BTCUSDT')).toBe(21_000);
    c.now = 20_999;
    s.onMarketEvent!(tickOn('b', 'x'), c);
    expect(sent).toHaveLength(1);
    c.now = 21_000;
    s.onMarketEvent!(tickOn('b', 'y'), c);
    s.onMarketEvent!(tickOn('sim', 'z'), c);
    expect(sent.slice(1).map((o) => [o.exchange, o.side, o.qty, o.reduceOnly])).toEqual([
      ['b', 'sell', 1500, true],
      ['sim', 'sell', 500, true],
    ]);
    // an exit's fill (reduce-only: it shrinks the position) plans no new exit; a flat leg is done
    positions.b = 0;
    s.onExecution(fill('b', 'sell', 1500), c);
    expect(state.values.get('strategy:whale-follower/exitAt:b:BTCUSDT')).toBe(21_000);
    c.now = 22_000;
    s.onMarketEvent!(tickOn('b', 'w'), c);
    expect(state.values.get('strategy:whale-follower/exitAt:b:BTCUSDT')).toBe(null);
    expect(sent).toHaveLength(3);
  });
});

describe('reference app: whale detector -> WhaleFollower', () => {
  it('one trade stamped in microseconds (a venue-time glitch) does not leave the entry open for ever nor block every later entry', () => {
    let position = 0;
    const sent: OrderIntent[] = [];
    const book = { synced: true, bestBid: () => 5_999_900, bestAsk: () => 6_000_000 } as unknown as BookView;
    const strategy = new WhaleFollower(parseFollowerSettings({ order_notional: 1200, cooldown_ms: 5000, hold_ms: 20_000, slippage_bps: 10 }), silentLogger());
    const ctx = {
      now: 0,
      instrument: () => I,
      book: () => book,
      positions: { qty: () => position },
      openOrders: () => [],
      submit: (i: OrderIntent): SubmitResult => (sent.push(i), { accepted: true, clientOrderId: `cw-${sent.length}` }),
      emit: (s: Signal) => strategy.onSignal(s, ctx),
    } as unknown as StrategyContext & { emit(s: Signal): void; now: number };
    const detector = new RobustWhaleDetector('whale', DEFAULT_WHALE_SETTINGS);
    const T0 = 1_700_000_000_000;
    let n = 0;
    const trade = (t: number, qty: number, ts = t): MarketEvent => ({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts, recvTs: t, tradeId: String(++n), price: 6_000_000, qty, side: 'buy' });
    // the engine's clock at each event is its receive time
    const feed = (ev: MarketEvent) => {
      ctx.now = ev.recvTs;
      detector.onMarketEvent(ev, ctx as never);
      strategy.onMarketEvent!(ev, ctx);
    };
    for (let i = 0; i < 300; i++) feed(trade(T0 + i * 10, 2000 + (i % 7) * 100));
    // a whale (60x the usual) whose venue time is in microseconds: received at t, stamped t x 1000
    const t = T0 + 10_000;
    feed(trade(t, 120_000, t * 1000));
    expect(sent).toHaveLength(1); // the entry (a real whale: following it is what the strategy does)
    position = sent[0]!.qty; // filled
    // ordinary trades for the next minute, correctly stamped: the hold time (20 s) passes
    for (let i = 1; i <= 60; i++) {
      feed(trade(t + i * 1000, 2000));
      if (sent.at(-1)!.reduceOnly === true) position = 0; // the exit filled
    }
    expect(sent.filter((o) => o.reduceOnly === true)).toHaveLength(1);
    expect(sent[1]).toMatchObject({ side: 'sell', qty: 1998 });
    // the cooldown has passed: the next whale is followed again
    feed(trade(t + 61_000, 120_000));
    expect(sent).toHaveLength(3);
    expect(sent[2]).toMatchObject({ side: 'buy' });
  });

  it('does not enter now on a whale that printed two minutes ago (trades a venue backfills after a reconnect)', () => {
    const sent: OrderIntent[] = [];
    const book = { synced: true, bestBid: () => 5_999_900, bestAsk: () => 6_000_000 } as unknown as BookView;
    const strategy = new WhaleFollower(parseFollowerSettings({ order_notional: 1200, cooldown_ms: 5000, hold_ms: 20_000, slippage_bps: 10 }), silentLogger());
    const ctx = {
      now: 0,
      instrument: () => I,
      book: () => book,
      positions: { qty: () => 0 },
      openOrders: () => [],
      submit: (i: OrderIntent): SubmitResult => (sent.push(i), { accepted: true, clientOrderId: `cw-${sent.length}` }),
      emit: (s: Signal) => strategy.onSignal(s, ctx),
    } as unknown as StrategyContext & { emit(s: Signal): void; now: number };
    const detector = new RobustWhaleDetector('whale', DEFAULT_WHALE_SETTINGS);
    // as the engine dispatches: its clock is the receive time; detectors, then the strategy
    const feed = (ev: MarketEvent) => {
      ctx.now = ev.recvTs;
      detector.onMarketEvent(ev, ctx as never);
      strategy.onMarketEvent!(ev, ctx);
    };
    const T0 = 1_700_000_000_000;
    let n = 0;
    const trade = (ts: number, qty: number, recvTs = ts): MarketEvent => ({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts, recvTs, tradeId: String(++n), price: 6_000_000, qty, side: 'buy' });
    for (let i = 0; i < 300; i++) feed(trade(T0 + i * 10, 2000 + (i % 7) * 100));
    // The socket drops at T0 + 3 s and comes back two minutes later; the venue backfills what
    // was missed, each trade with its own (past) venue time, which clockTime trusts. One was a
    // whale: the detector reports it, at its time, and the follower does not buy on it now.
    const back = T0 + 123_000;
    feed(trade(T0 + 3_000, 120_000, back));
    expect(strategy.staleSignalsSkipped).toBe(1);
    expect(sent).toEqual([]);
    // a whale as it happens is followed
    feed(trade(back + 10, 120_000));
    expect(sent).toEqual([expect.objectContaining({ side: 'buy', qty: 1998 })]);
  });

  it("the detector's signal ts is the clock time, not the glitched venue time", () => {
    const signals: Signal[] = [];
    const ctx = { now: 0, instrument: () => I, book: () => undefined, emit: (s: Signal) => signals.push(s) } as never;
    const d = new RobustWhaleDetector('whale', DEFAULT_WHALE_SETTINGS);
    const T0 = 1_700_000_000_000;
    for (let i = 0; i < 300; i++) d.onMarketEvent({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: T0 + i, recvTs: T0 + i, tradeId: String(i), price: 6_000_000, qty: 2000 + (i % 7) * 100, side: 'buy' }, ctx);
    d.onMarketEvent({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: (T0 + 500) * 1000, recvTs: T0 + 500, tradeId: 'w', price: 6_000_000, qty: 120_000, side: 'buy' }, ctx);
    expect(signals.map((s) => s.ts)).toEqual([T0 + 500]);
  });
});
