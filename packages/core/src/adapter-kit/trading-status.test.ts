import { describe, expect, it } from 'vitest';
import { defineInstrument, tradingRefusal, type InstrumentTrading, type OrderIntent } from '../index.js';
import { TimerSet } from './timers.js';
import { REFUSAL_REFRESH_MIN_MS, TradingStatusBoard, refreshOnVenueRefusal, tradingFromTable } from './trading-status.js';
import type { ExecutionClient, ExecutionReport } from '../index.js';

const intent = (o: Partial<OrderIntent>): OrderIntent => ({ exchange: 'x', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 1, tif: 'GTC', source: 't', ...o });

describe('tradingRefusal', () => {
  const cases: [InstrumentTrading | undefined, Partial<OrderIntent>, boolean][] = [
    [undefined, { type: 'market', tif: 'IOC' }, true],
    ['open', { type: 'market', tif: 'IOC' }, true],
    ['closed', { tif: 'POST_ONLY' }, false],
    ['cancel_only', { tif: 'POST_ONLY' }, false],
    ['post_only', { tif: 'POST_ONLY' }, true],
    ['post_only', { tif: 'GTC' }, false],
    ['post_only', { type: 'market', tif: 'IOC' }, false],
    ['post_only', { tif: 'IOC' }, false],
    ['limit_only', { tif: 'IOC' }, true],
    ['limit_only', { type: 'market', tif: 'IOC' }, false],
    ['reduce_only', { tif: 'GTC' }, false],
    ['reduce_only', { tif: 'GTC', reduceOnly: true }, true],
  ];
  for (const [status, o, ok] of cases) {
    it(`${status ?? 'unset'}: ${o.type ?? 'limit'} ${o.tif}${o.reduceOnly ? ' reduceOnly' : ''} is ${ok ? 'allowed' : 'refused'}`, () => {
      const r = tradingRefusal(status, intent(o));
      if (ok) expect(r).toBeUndefined();
      else expect(r).toContain('BTCUSDT');
    });
  }
  it('refuses a status it does not know', () => {
    expect(tradingRefusal('weird' as InstrumentTrading, intent({}))).toMatch(/unknown trading status/);
  });
});

describe('tradingFromTable', () => {
  const table = { TRADING: 'open', HALT: 'closed' } as const;
  it('maps known words, leaves an absent one unset, and closes an unknown one', () => {
    expect(tradingFromTable(table, 'TRADING')).toBe('open');
    expect(tradingFromTable(table, 'HALT')).toBe('closed');
    expect(tradingFromTable(table, undefined)).toBeUndefined();
    expect(tradingFromTable(table, 'SOMETHING_NEW')).toBe('closed');
    expect(tradingFromTable(table, 'toString')).toBe('closed'); // not an inherited property
  });
});

describe('TradingStatusBoard', () => {
  const inst = (trading?: InstrumentTrading, venueStatus?: string) => defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001', ...(trading ? { trading, venueStatus } : {}) });
  const recorder = () => {
    const lines: { level: string; msg: string }[] = [];
    const log = (level: string) => (_o: unknown, msg?: string) => void lines.push({ level, msg: msg ?? '' });
    return { lines, logger: { trace: log('trace'), debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), fatal: log('fatal'), child: () => undefined as never, level: 'info' } as never };
  };

  it('warns at load for a pair that is not open, naming it, its status and an unknown venue word', () => {
    const r = recorder();
    const b = new TradingStatusBoard({ exchange: 'x', logger: r.logger, isKnownStatus: (w) => w === 'HALT' });
    b.note([inst('closed', 'WEIRD')]);
    expect(b.get('BTCUSDT')).toBe('closed');
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]!.level).toBe('warn');
    expect(r.lines[0]!.msg).toMatch(/BTCUSDT is closed \(venue status "WEIRD", a status this adapter does not know: not tradable\)/);
  });

  it('stays quiet for an open pair, warns when it halts, logs info when it reopens', async () => {
    const r = recorder();
    const b = new TradingStatusBoard({ exchange: 'x', logger: r.logger });
    b.note([inst('open', 'TRADING')]);
    expect(r.lines).toHaveLength(0);
    let next = [inst('closed', 'HALT')];
    const timers = new TimerSet();
    b.startRefresh(timers, 0, async () => next);
    expect(timers.size).toBe(0); // 0: no timer
    await b.refresh();
    expect(b.get('BTCUSDT')).toBe('closed');
    expect(r.lines.at(-1)!.level).toBe('warn');
    expect(r.lines.at(-1)!.msg).toMatch(/BTCUSDT is now closed .*HALT.*was open/);
    next = [inst('open', 'TRADING')];
    await b.refresh();
    expect(b.get('BTCUSDT')).toBe('open');
    expect(r.lines.at(-1)!.level).toBe('info');
  });

  it("a pair whose tick or lot the venue changes is not tradable until a restart: error once, info when it is back", async () => {
    const r = recorder();
    const b = new TradingStatusBoard({ exchange: 'x', logger: r.logger });
    const at = (tickSize: string, lotSize: string) => defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize, lotSize, trading: 'open', venueStatus: 'TRADING' });
    b.note([at('0.01', '0.001')]);
    let next = [at('0.0100', '0.00100')]; // the same grid written otherwise
    b.startRefresh(new TimerSet(), 0, async () => next);
    await b.refresh();
    expect(b.get('BTCUSDT')).toBe('open');
    expect(r.lines).toHaveLength(0);
    next = [at('0.001', '0.001')];
    await b.refresh();
    await b.refresh();
    expect(b.get('BTCUSDT')).toBe('closed');
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]!.level).toBe('error');
    expect(r.lines[0]!.msg).toMatch(/BTCUSDT now has tick 0.001 and lot 0.001 at the venue; this run counts prices and quantities in tick 0.01 and lot 0.001/);
    next = [at('0.01', '0.01')];
    await b.refresh();
    expect(b.get('BTCUSDT')).toBe('closed'); // the lot changed now
    next = [at('0.01', '0.001')];
    await b.refresh();
    expect(b.get('BTCUSDT')).toBe('open');
    expect(r.lines.at(-1)!.level).toBe('info');
  });

  it('keeps the last known status when the re-read fails', async () => {
    const r = recorder();
    const b = new TradingStatusBoard({ exchange: 'x', logger: r.logger });
    b.note([inst('post_only', 'post_only')]);
    b.startRefresh(new TimerSet(), 0, async () => {
      throw new Error('HTTP 503');
    });
    await b.refresh();
    expect(b.get('BTCUSDT')).toBe('post_only');
    expect(b.refreshErrors).toBe(1);
    expect(r.lines.at(-1)!.msg).toMatch(/HTTP 503/);
  });
});

describe('re-read after a venue refusal', () => {
  const inst = (trading: InstrumentTrading) => defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001', trading, venueStatus: trading });
  it('refreshSoon re-reads at most once per REFUSAL_REFRESH_MIN_MS of the given clock', async () => {
    let now = 1_000_000;
    let reads = 0;
    const b = new TradingStatusBoard({ exchange: 'x', now: () => now });
    b.note([inst('open')]);
    b.startRefresh(new TimerSet(), 0, async () => {
      reads++;
      return [inst('closed')];
    });
    b.refreshSoon();
    await b.refresh(); // joins the one in flight
    expect(reads).toBe(1);
    now += REFUSAL_REFRESH_MIN_MS - 1;
    b.refreshSoon();
    await Promise.resolve();
    expect(reads).toBe(1);
    now += 1;
    b.refreshSoon();
    await b.refresh();
    expect(reads).toBe(2);
    expect(b.get('BTCUSDT')).toBe('closed');
  });

  it('refreshOnVenueRefusal passes every report on and signals only VENUE_NOT_TRADING refusals', async () => {
    let handler: ((r: ExecutionReport) => void) | undefined;
    const execution = { start: async (cb: (r: ExecutionReport) => void) => void (handler = cb) } as unknown as ExecutionClient;
    const refused: string[] = [];
    refreshOnVenueRefusal(execution, (s) => refused.push(s));
    const seen: ExecutionReport[] = [];
    await execution.start((r) => seen.push(r));
    const report = (kind: ExecutionReport['kind'], rejectReason?: ExecutionReport['rejectReason']): ExecutionReport => ({ kind, exchange: 'x', symbol: 'BTCUSDT', clientOrderId: 'c', side: 'buy', lastPrice: 0, lastQty: 0, leavesQty: 0, cumQty: 0, feeAtoms: 0n, ts: 0, ...(rejectReason ? { rejectReason } : {}) });
    handler!(report('ack'));
    handler!(report('rejected', 'INSUFFICIENT_BALANCE'));
    handler!(report('rejected', 'VENUE_NOT_TRADING'));
    expect(seen).toHaveLength(3);
    expect(refused).toEqual(['BTCUSDT']);
  });
});
