import { describe, expect, it } from 'vitest';
import { defineInstrument, type MarketEvent, type MarketEventSink } from '@cwts/core';
import { TinyExFeed } from './feed.js';
import { tinyexChecksum } from './protocol.js';

const SYMBOL = 'BTC-USD';
const NOW = 1_700_000_000_123;

function feed(): { f: TinyExFeed; events: MarketEvent[] } {
  const events: MarketEvent[] = [];
  const sink: MarketEventSink = {
    onMarketEvent: (ev: MarketEvent) => void events.push({ ...ev }),
    onFeedStatus: () => {},
    onFeedError: () => {},
  };
  const instrument = defineInstrument({ exchange: 'tinyex', symbol: SYMBOL, base: 'BTC', quote: 'USD', tickSize: '0.5', lotSize: '0.001', minNotional: '1' });
  const f = new TinyExFeed({ exchange: 'tinyex', instruments: [instrument], sink: () => sink, now: () => NOW, requestSnapshot: () => {} });
  f.syms.get(SYMBOL)!.sync.begin('initial');
  return { f, events };
}

describe('TinyExFeed event times', () => {
  it('stamps book events, which carry no venue time, with the receive time (never 0)', () => {
    const { f, events } = feed();
    f.onMessage(JSON.stringify({ type: 'snapshot', symbol: SYMBOL, seq: 7, bids: [['100', '1']], asks: [['101', '1']] }));
    f.onMessage(JSON.stringify({ type: 'update', symbol: SYMBOL, seq: 8, changes: [['b', '99.5', '2']], checksum: tinyexChecksum([['100', '1'], ['99.5', '2']], [['101', '1']]) }));
    expect(events.map((e) => [e.type, e.ts, e.recvTs])).toEqual([
      ['book_snapshot', NOW, NOW],
      ['book_delta', NOW, NOW],
    ]);
  });

  it("stamps trades with the venue's time when it sends one, else with the receive time", () => {
    const { f, events } = feed();
    const trade = (id: number, ts?: unknown) => f.onMessage(JSON.stringify({ type: 'trade', symbol: SYMBOL, id, price: '100', qty: '0.001', side: 'buy', ts }));
    trade(1, NOW - 40);
    trade(2); // no ts field
    trade(3, 0);
    expect(events.map((e) => [e.type, e.ts, e.recvTs])).toEqual([
      ['trade', NOW - 40, NOW],
      ['trade', NOW, NOW],
      ['trade', NOW, NOW],
    ]);
  });
});

describe('TinyExFeed trade ids', () => {
  it('one trade id a little ahead of the stream (a corrupted digit) does not silence the real trades after it', () => {
    const events: MarketEvent[] = [];
    const sink: MarketEventSink = { onMarketEvent: (ev) => void events.push({ ...ev }), onFeedStatus: () => {}, onFeedError: () => {}, onFeedReject: () => {} };
    const instrument = defineInstrument({ exchange: 'tinyex', symbol: SYMBOL, base: 'BTC', quote: 'USD', tickSize: '0.5', lotSize: '0.001', minNotional: '1' });
    let now = NOW;
    const f = new TinyExFeed({ exchange: 'tinyex', instruments: [instrument], sink: () => sink, now: () => now, requestSnapshot: () => {} });
    const trade = (id: number, ts: number) => {
      now = ts;
      f.onMessage(JSON.stringify({ type: 'trade', symbol: SYMBOL, id, price: '100', qty: '0.001', side: 'buy', ts }));
    };
    for (let id = 1000; id <= 1005; id++) trade(id, NOW + id);
    // a frame whose id has a mutated digit (1006 -> 9,001,006: within the guard's 10M jump bound)
    trade(9_001_006, NOW + 1006);
    // the real stream goes on, each trade later than the bad one
    for (let id = 1007; id <= 1100; id++) trade(id, NOW + id);
    const real = events.flatMap((e) => (e.type === 'trade' && Number(e.tradeId) >= 1007 && Number(e.tradeId) <= 1100 ? [Number(e.tradeId)] : []));
    // TradeIdGuard moves its mark back on the 3rd later-stamped trade behind it (as in core's
    // adapters, which pass each trade's time); given ids alone it dropped all 94 as duplicates
    expect(real).toEqual(Array.from({ length: 1100 - 1009 + 1 }, (_, k) => 1009 + k));
  });
});
