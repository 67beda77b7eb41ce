/**
 * A replay trades a pair as the recorded venue allowed: the header's trading status at load, and
 * each change the live engine saw during the run (`trading_status` lines), answered through
 * MarketDataClient.tradingStatus from the point of the recording they apply at. Without them a
 * pair the venue had post-only or halted replayed as open: the engine's VENUE_NOT_TRADING check
 * (Engine.submitOne: `tradingStatus ?? instrument.trading`) found nothing, and the simulated
 * venue filled market and IOC orders the real one refused. A recording older than the field
 * replays as before.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineInstrument, ManualClock, tradingRefusal, type InstrumentTrading, type MarketEvent, type MarketEventSink } from '@cwts/core';
import { Recorder } from '@cwts/core/engine';
import { resolveSimOptions } from './options.js';
import { SimVenue } from './venue.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-trading-status-'));
const T = 1_700_000_000_000;
const spec = { exchange: 'coinbase', symbol: 'NEW-USD', base: 'NEW', quote: 'USD', tickSize: '0.01', lotSize: '0.01', minNotional: '1' };
const snapshot = (ts: number): MarketEvent => ({ type: 'book_snapshot', exchange: 'coinbase', symbol: 'NEW-USD', ts, recvTs: ts, seq: 1, reason: 'initial', bids: [{ price: 100, qty: 10 }], asks: [{ price: 101, qty: 10 }] });
const trade = (ts: number, id: string, symbol = 'NEW-USD'): MarketEvent => ({ type: 'trade', exchange: 'coinbase', symbol, ts, recvTs: ts + 1, tradeId: id, price: 101, qty: 1, side: 'buy' });

function write(name: string, lines: unknown[]): string {
  const f = join(dir, name);
  writeFileSync(f, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return f;
}

/**
 * Replays `files`; at every market event, what the engine's pre-trade check reads for the
 * event's pair, by trade id (snapshots as `snap@ts`).
 */
function statusesSeen(files: string | string[], symbols: string[] = []) {
  const venue = new SimVenue({ exchange: 'coinbase', clock: new ManualClock(0), options: resolveSimOptions({ replay_file: files, drive: 'manual' }), symbols });
  const instruments = venue.loadInstruments([]);
  const seen: string[] = [];
  const sink: MarketEventSink = {
    onMarketEvent: (e) => {
      const inst = instruments.find((i) => i.symbol === e.symbol);
      seen.push(`${e.type === 'trade' ? e.tradeId : `snap@${e.ts - T}`}:${venue.marketData.tradingStatus(e.symbol) ?? inst?.trading ?? '-'}`);
    },
    onFeedStatus: () => {},
    onFeedError: () => {},
  };
  venue.start([], sink);
  venue.runToEnd();
  return { venue, instruments, seen, integrity: venue.replay!.integrity() };
}

describe('replay of a pair that was not open', () => {
  it('replays with the trading status the live engine loaded (run --record writes it into the header)', () => {
    const file = join(dir, 'loaded.jsonl');
    const rec = new Recorder(file);
    rec.open([defineInstrument({ ...spec, trading: 'post_only', venueStatus: 'post_only' })]);
    rec.write(snapshot(T));
    rec.close();

    const venue = new SimVenue({ exchange: 'coinbase', clock: new ManualClock(0), options: resolveSimOptions({ replay_file: file, drive: 'manual' }) });
    const [inst] = venue.loadInstruments([]);
    expect(inst).toMatchObject({ symbol: 'NEW-USD', trading: 'post_only', venueStatus: 'post_only' });
    // what the engine's pre-trade check reads (Engine.submitOne: tradingStatus ?? instrument.trading)
    const status = venue.marketData.tradingStatus('NEW-USD') ?? inst?.trading;
    expect(status).toBe('post_only');
    expect(tradingRefusal(status, { symbol: 'NEW-USD', type: 'limit', tif: 'IOC' })).toMatch(/post-only/);
    expect(tradingRefusal(status, { symbol: 'NEW-USD', type: 'limit', tif: 'POST_ONLY' })).toBeUndefined();
  });

  it('applies a status change recorded during the run exactly at the market event the live engine first saw it at', () => {
    const file = join(dir, 'halt.jsonl');
    const rec = new Recorder(file);
    let live: InstrumentTrading | undefined = 'open';
    rec.open([defineInstrument({ ...spec, trading: 'open' })], () => live);
    rec.write(snapshot(T));
    rec.write(trade(T + 10, 'a'));
    live = 'closed'; // the venue halted the pair: the re-read saw it between these trades
    rec.write(trade(T + 20, 'b'));
    rec.write(trade(T + 30, 'c'));
    live = 'open';
    rec.write(trade(T + 40, 'd'));
    rec.close();

    const { seen, integrity } = statusesSeen(file);
    expect(seen).toEqual(['snap@0:open', 'a:open', 'b:closed', 'c:closed', 'd:open']);
    expect(integrity).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
  });

  it('several recordings: each file\'s pairs trade as its own header loaded them', () => {
    const day1 = write('day1.jsonl', [{ kind: 'cwts-recording', version: 1, instruments: [{ ...spec, trading: 'post_only' }] }, snapshot(T), trade(T + 10, 'a')]);
    const day2 = write('day2.jsonl', [{ kind: 'cwts-recording', version: 1, instruments: [{ ...spec, trading: 'open' }] }, snapshot(T + 86_400_000), trade(T + 86_400_010, 'b')]);
    const { seen, integrity } = statusesSeen([day1, day2]);
    expect(seen).toEqual(['snap@0:post_only', 'a:post_only', 'snap@86400000:open', 'b:open']);
    expect(integrity).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
  });

  it('a recording older than the field replays as before: no status, the pair open', () => {
    const file = write('old.jsonl', [{ kind: 'cwts-recording', version: 1, instruments: [spec] }, snapshot(T), trade(T + 10, 'a')]);
    const { seen, instruments, integrity } = statusesSeen(file);
    expect(instruments[0]?.trading).toBeUndefined();
    expect(seen).toEqual(['snap@0:-', 'a:-']);
    expect(integrity).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
  });

  it('hostile statuses are counted: an unknown one in the header replays as closed, a bad status line is not applied', () => {
    const file = write('hostile.jsonl', [
      { kind: 'cwts-recording', version: 1, instruments: [{ ...spec, trading: 'BREAK', venueStatus: { x: 1 } }] },
      snapshot(T),
      { type: 'trading_status', exchange: 'coinbase', symbol: 'NEW-USD', trading: 'open', ts: T + 10, recvTs: T + 11 },
      trade(T + 10, 'a'),
      { type: 'trading_status', exchange: 'coinbase', symbol: 'NEW-USD', trading: 'whatever', ts: T + 20, recvTs: T + 21 },
      trade(T + 20, 'b'),
    ]);
    const { seen, instruments, integrity } = statusesSeen(file);
    expect(instruments[0]?.trading).toBe('closed');
    expect(instruments[0]?.venueStatus).toBeUndefined();
    expect(seen).toEqual(['snap@0:closed', 'a:open', 'b:open']);
    expect(integrity).toEqual({ malformed: 2, skipped: 0, outOfOrder: 0, truncated: 0 });
  });

  it('the status of a pair the replay leaves out is not counted as a skipped record', () => {
    const other = { ...spec, symbol: 'OLD-USD', trading: 'cancel_only' };
    const file = write('filtered.jsonl', [{ kind: 'cwts-recording', version: 1, instruments: [{ ...spec, trading: 'limit_only' }, other] }, snapshot(T), trade(T + 10, 'a')]);
    const { seen, integrity } = statusesSeen(file, ['NEW-USD']);
    expect(seen).toEqual(['snap@0:limit_only', 'a:limit_only']);
    expect(integrity).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
  });
});
