import { defineInstrument, type BookDeltaEvent, type BookSnapshotEvent, type FeedStatusEvent, type Instrument, type MarketEvent, type MarketEventSink } from '@cwts/core';
import { HarnessSink } from '@cwts/core/adapter-kit';
import { BookStore } from '@cwts/core/microstructure';
import { describe, expect, it } from 'vitest';
import { CoinbaseFeed } from '../src/feed.js';
import { coinbaseHarnessInstrument, createCoinbaseFrameHarness } from '../src/frame-harness.js';

const TIME = '2026-12-05T06:00:00Z';
const env = (channel: string, seq: number, events: unknown[]) => JSON.stringify({ channel, client_id: '', timestamp: TIME, sequence_num: seq, events });
const trade = (seq: number, type: 'snapshot' | 'update', ids: number[]) =>
  env('market_trades', seq, [{ type, trades: ids.map((id) => ({ trade_id: String(id), product_id: 'BTC-USD', price: '65000.00', size: '0.001', side: 'BUY', time: TIME })) }]);
const snapshot = (seq: number) =>
  env('l2_data', seq, [{ type: 'snapshot', product_id: 'BTC-USD', updates: [{ side: 'bid', event_time: TIME, price_level: '65000.00', new_quantity: '1' }, { side: 'offer', event_time: TIME, price_level: '65001.00', new_quantity: '1' }] }]);

const lv = (side: string, price: string, qty: unknown) => ({ side, event_time: TIME, price_level: price, new_quantity: qty });
const l2Event = (type: 'snapshot' | 'update', product: string, updates: ReturnType<typeof lv>[]) => ({ type, product_id: product, updates });

function boot() {
  const sink = new HarnessSink();
  let gaps = 0;
  const feed = new CoinbaseFeed({ exchange: 'coinbase', instruments: [coinbaseHarnessInstrument()], sink: () => sink, now: () => 0, requestSnapshot: () => {}, onSequenceGap: () => gaps++ });
  feed.connectionOpened();
  feed.products[0]!.sync.begin('initial');
  feed.onFrame(snapshot(0));
  feed.onFrame(trade(1, 'snapshot', [100]));
  return { sink, feed, gaps: () => gaps };
}

describe('CoinbaseFeed', () => {
  it('drops the frame that reveals a sequence gap and backfills its trades from the next market_trades snapshot, each once', () => {
    const { sink, feed, gaps } = boot();
    expect(sink.synced).toBe(true);
    feed.onFrame(trade(2, 'update', [101]));
    expect(sink.trades.map((t) => t.tradeId)).toEqual(['101']);
    feed.onFrame(trade(9, 'update', [102])); // 3..8 lost
    expect(gaps()).toBe(1);
    expect(sink.synced).toBe(false);
    expect(sink.trades.map((t) => t.tradeId)).toEqual(['101']);
    // the resubscribe's snapshot (newest first) brings 102 and 103 back; 101 is not repeated
    feed.onFrame(trade(10, 'snapshot', [103, 102, 101]));
    expect(sink.trades.map((t) => t.tradeId)).toEqual(['101', '102', '103']);
    feed.onFrame(snapshot(11));
    expect(sink.synced).toBe(true);
  });

  it('a backfill never emits a trade twice when a mutated copy gave the mark an early time (coinbase-ws fuzz, seed 1, frame 893)', () => {
    const { sink, feed, gaps } = boot();
    const at = (id: number) => new Date(Date.parse(TIME) + (id - 100) * 1000).toISOString();
    const row = (id: number, time = at(id)) => ({ trade_id: String(id), product_id: 'BTC-USD', price: '65000.00', size: '0.001', side: 'BUY', time });
    const frame = (seq: number, type: 'update' | 'snapshot', trades: ReturnType<typeof row>[]) => env('market_trades', seq, [{ type, trades }]);
    feed.onFrame(frame(2, 'update', [101, 102, 103, 104, 105].map((id) => row(id))));
    let seq = 3;
    let id = 106;
    // the venue's next frame arrives first as a copy with another time: two months early (valid
    // RFC 3339), then times only Date.parse reads (as 2001)
    for (const time of ['2026-10-05T06:00:00Z', '1 ', '+1', '1,5']) {
      const refused = feed.rejected;
      feed.onFrame(frame(seq, 'update', [row(id, time)]));
      expect(feed.rejected - refused, time).toBe(time.startsWith('2026') ? 0 : 1);
      // the clean copy has the same sequence_num: a gap, so the adapter asks for the backfill,
      // which lists every recent trade (newest first), all of them at their real times
      const g = gaps();
      feed.onFrame(frame(seq, 'update', [row(id)]));
      expect(gaps()).toBe(g + 1);
      const recent: ReturnType<typeof row>[] = [];
      for (let k = id; k >= 100; k--) recent.push(row(k));
      feed.onFrame(frame(seq + 1, 'snapshot', recent));
      seq += 2;
      id++;
    }
    const ids = sink.trades.map((t) => Number(t.tradeId));
    expect(ids).toEqual([101, 102, 103, 104, 105, 106, 107, 108, 109]);
    expect(feed.products[0]!.trades.rebasedBack).toBe(0);
  });

  it('counts every rejection with its reason', () => {
    const { feed } = boot();
    feed.onFrame('not json');
    feed.onFrame(env('nosuch', 2, []));
    feed.onFrame(trade(3, 'update', [101]).replace('"BTC-USD"', '"ETH-USD"'));
    feed.onFrame(trade(4, 'update', [101]).replace('"0.001"', '"0.0000000001"'));
    feed.onBinaryFrame(12);
    expect(feed.reporter.counts).toEqual({ malformed: 1, unknown_message: 1, unknown_symbol: 1, off_grid: 1, binary_frame: 1 });
    expect(feed.rejected).toBe(5);
    expect(feed.stats.frames).toBe(2 + 5);
  });

  it('resyncs the books a rejected level2 frame named when its sequence_num was accepted (no later gap would show the lost update)', () => {
    const { sink, feed } = boot();
    const sync = feed.products[0]!.sync;
    // an unreadable level (a number for new_quantity): the envelope's sequence_num 2 is accepted, the update is lost
    feed.onFrame(env('l2_data', 2, [l2Event('update', 'BTC-USD', [lv('bid', '65000.00', '0'), lv('offer', '65001.00', 2)])]));
    expect(feed.reporter.counts).toEqual({ malformed: 1 });
    expect(sink.synced).toBe(false);
    expect(sync.resyncs.invalid).toBe(1);
    feed.onFrame(snapshot(3));
    expect(sink.synced).toBe(true);
    // a multi-event frame whose second event names a product we do not trade: the first event, ours, is lost with it
    feed.onFrame(env('l2_data', 4, [l2Event('update', 'BTC-USD', [lv('bid', '65000.00', '0')]), l2Event('update', 'ETH-USD', [lv('bid', '3000.00', '1')])]));
    expect(sink.synced).toBe(false);
    expect(sync.resyncs.invalid).toBe(2);
    feed.onFrame(snapshot(5));
    // a level2 frame about only a product we do not trade costs our books nothing
    feed.onFrame(env('l2_data', 6, [l2Event('update', 'ETH-USD', [lv('bid', '3000.00', '1')])]));
    feed.onFrame(env('l2_data', 7, [l2Event('update', 'BTC-USD', [lv('offer', '65002.00', '1')])]));
    expect(sink.synced).toBe(true);
    expect(sync.resyncs.invalid).toBe(2);
    expect(sync.mirror.bids.best()).toBe(6_500_000);
  });

  it('an off-grid level2 value resyncs only its product and counts no sequence gap; an unreadable sequence_num still shows one', () => {
    const inst = (symbol: string, base: string) => defineInstrument({ exchange: 'coinbase', symbol, base, quote: 'USD', tickSize: '0.01', lotSize: '0.00000001' });
    let gaps = 0;
    const errors: string[] = [];
    const sink = { onMarketEvent: () => {}, onFeedStatus: () => {}, onFeedError: (_c: string, m: string) => errors.push(m), onFeedReject: () => {} };
    const feed = new CoinbaseFeed({ exchange: 'coinbase', instruments: [inst('BTC-USD', 'BTC'), inst('ETH-USD', 'ETH')], sink: () => sink as never, now: () => 0, requestSnapshot: () => {}, onSequenceGap: () => gaps++ });
    feed.connectionOpened();
    for (const p of feed.products) p.sync.begin('initial');
    const book = (seq: number, product: string, bid: string) => env('l2_data', seq, [l2Event('snapshot', product, [lv('bid', bid, '1'), lv('offer', `${Number(bid) + 1}.00`, '1')])]);
    const update = (seq: number, product: string, bid: string, qty = '2') => env('l2_data', seq, [l2Event('update', product, [lv('bid', bid, qty)])]);
    feed.onFrame(book(0, 'BTC-USD', '65000.00'));
    feed.onFrame(book(1, 'ETH-USD', '3000.00'));
    const btc = feed.product('BTC-USD')!.sync;
    const eth = feed.product('ETH-USD')!.sync;
    expect([btc.state, eth.state]).toEqual(['synced', 'synced']);

    // sequence_num 2 stands before the events (Coinbase's layout); one BTC level is off the 0.01 grid
    feed.onFrame(update(2, 'BTC-USD', '64999.995'));
    expect(feed.reporter.counts).toEqual({ off_grid: 1 });
    expect(btc.state).not.toBe('synced'); // the BTC book lost an update
    expect(btc.resyncs).toEqual({ invalid: 1 });
    // sequence_num 3 follows 2: nothing was lost, so no gap, and ETH's update is applied
    feed.onFrame(update(3, 'ETH-USD', '3000.50'));
    expect(feed.stats.gaps).toBe(0);
    expect(gaps).toBe(0);
    expect(errors.filter((e) => /sequence gap/.test(e))).toEqual([]);
    expect(eth.state).toBe('synced');
    expect(eth.resyncs).toEqual({});
    expect(eth.mirror.bids.best()).toBe(300_050);
    // the same with sequence_num after the events (another key order): counted, no gap either
    feed.onFrame(JSON.stringify({ channel: 'l2_data', events: [l2Event('update', 'ETH-USD', [lv('bid', '3000.001', '1')])], sequence_num: 4 }));
    feed.onFrame(update(5, 'BTC-USD', '64999.00'));
    expect(feed.reporter.counts).toEqual({ off_grid: 2 });
    expect([feed.stats.gaps, gaps]).toEqual([0, 0]);
    expect(eth.resyncs).toEqual({ invalid: 1 });

    // a frame whose sequence_num cannot be read may have been any message: the next frame shows
    // the gap, every book resyncs and market_trades is backfilled
    feed.onFrame(book(6, 'BTC-USD', '65000.00'));
    feed.onFrame(book(7, 'ETH-USD', '3000.00'));
    expect([btc.state, eth.state]).toEqual(['synced', 'synced']);
    feed.onFrame(update(8, 'BTC-USD', '64999.995').replace('"sequence_num":8', '"sequence_num":"8"'));
    expect(feed.reporter.counts).toEqual({ off_grid: 2, malformed: 1 });
    feed.onFrame(update(9, 'ETH-USD', '3000.50'));
    expect([feed.stats.gaps, gaps]).toEqual([1, 1]);
    expect([btc.state, eth.state]).toEqual(['buffering', 'buffering']);
    // so does one cut short after its bad value (its envelope was never read whole)
    feed.onFrame(book(10, 'BTC-USD', '65000.00'));
    feed.onFrame(book(11, 'ETH-USD', '3000.00'));
    feed.onFrame(update(12, 'BTC-USD', '64999.995').slice(0, -3));
    feed.onFrame(update(13, 'ETH-USD', '3000.50'));
    expect([feed.stats.gaps, gaps]).toEqual([2, 2]);
    expect([btc.state, eth.state]).toEqual(['buffering', 'buffering']);
  });

  it('harness: every sample frame is accepted as is from its starting state', () => {
    const h = createCoinbaseFrameHarness();
    for (const s of h.samples()) {
      const before = h.reset(s.channel === 'snapshot' ? 'awaiting-snapshot' : 'synced');
      const after = h.feed(s.text, s.channel);
      expect(after.rejected, s.kind).toBe(before.rejected);
      expect(after.state, s.kind).toBe('synced');
    }
  });
});

describe('CoinbaseFeed: several level2 events of one product in one frame (they share its sequence_num)', () => {
  /** A HarnessSink that also keeps each book event's sequence range, to check the engine's book would take it. */
  class RecordingSink extends HarnessSink {
    readonly seqs: { type: string; firstSeq?: number; seq: number }[] = [];
    override onMarketEvent(ev: Parameters<HarnessSink['onMarketEvent']>[0]): void {
      if (ev.type === 'book_delta') this.seqs.push({ type: ev.type, firstSeq: ev.firstSeq, seq: ev.seq });
      else if (ev.type === 'book_snapshot') this.seqs.push({ type: ev.type, seq: ev.seq });
      super.onMarketEvent(ev);
    }
  }
  const inst = (symbol: string, base: string) => defineInstrument({ exchange: 'coinbase', symbol, base, quote: 'USD', tickSize: '0.01', lotSize: '0.00000001' });
  function start(instruments = [coinbaseHarnessInstrument()]) {
    const sink = new RecordingSink();
    const feed = new CoinbaseFeed({ exchange: 'coinbase', instruments, sink: () => sink, now: () => 0, requestSnapshot: () => {}, onSequenceGap: () => {} });
    feed.connectionOpened();
    for (const p of feed.products) p.sync.begin('initial');
    return { sink, feed };
  }
  const book = (product: string, bid: string, ask: string) => l2Event('snapshot', product, [lv('bid', bid, '1'), lv('offer', ask, '1')]);

  it('applies two update events of a synced book in frame order as one delta (later levels of a price win), and the next frame follows on', () => {
    const { sink, feed } = start();
    feed.onFrame(env('l2_data', 0, [book('BTC-USD', '65000.00', '65001.00')]));
    const sync = feed.products[0]!.sync;
    expect(sync.state).toBe('synced');
    feed.onFrame(env('l2_data', 1, [
      l2Event('update', 'BTC-USD', [lv('bid', '64999.00', '3'), lv('bid', '64997.00', '5')]),
      l2Event('update', 'BTC-USD', [lv('bid', '64998.00', '4'), lv('bid', '64997.00', '0')]),
    ]));
    expect(feed.reporter.counts).toEqual({});
    expect(sync.resyncs).toEqual({});
    expect(sync.state).toBe('synced');
    expect(sync.mirror.bids.get(6_499_900)).toBe(300_000_000);
    expect(sync.mirror.bids.get(6_499_800)).toBe(400_000_000);
    expect(sync.mirror.bids.get(6_499_700)).toBe(0); // set by the first event, removed by the second
    // the sink (the engine's book) got one delta for the frame, in sequence after the snapshot
    expect(sink.seqs).toEqual([{ type: 'book_snapshot', seq: 0 }, { type: 'book_delta', firstSeq: 1, seq: 1 }]);
    expect(sink.synced).toBe(true);
    expect(sink.book.bids.get(6_499_700)).toBe(0);
    expect(sink.book.bids.get(6_499_800)).toBe(400_000_000);
    feed.onFrame(env('l2_data', 2, [l2Event('update', 'BTC-USD', [lv('offer', '65002.00', '2')])]));
    expect(sync.state).toBe('synced');
    expect(sync.mirror.asks.get(6_500_200)).toBe(200_000_000);
    expect(feed.stats.l2).toBe(4);
  });

  it('a snapshot event followed by update events syncs the book with the updates applied', () => {
    const { sink, feed } = start();
    const sync = feed.products[0]!.sync;
    feed.onFrame(env('l2_data', 0, [
      book('BTC-USD', '65000.00', '65001.00'),
      l2Event('update', 'BTC-USD', [lv('bid', '64999.00', '3')]),
      l2Event('update', 'BTC-USD', [lv('bid', '65000.00', '0'), lv('offer', '65002.00', '2')]),
    ]));
    expect(feed.reporter.counts).toEqual({});
    expect(sync.state).toBe('synced');
    expect(sync.mirror.bids.levels()).toEqual([{ price: 6_499_900, qty: 300_000_000 }]);
    expect(sync.mirror.asks.get(6_500_100)).toBe(100_000_000);
    expect(sync.mirror.asks.get(6_500_200)).toBe(200_000_000);
    expect(sink.synced).toBe(true);
    expect(sink.book.bids.get(6_500_000)).toBe(0);
    expect(sink.book.bids.get(6_499_900)).toBe(300_000_000);
    expect(sink.seqs.filter((s) => s.type === 'book_snapshot')).toEqual([{ type: 'book_snapshot', seq: 0 }]);
    feed.onFrame(env('l2_data', 1, [l2Event('update', 'BTC-USD', [lv('bid', '64998.00', '1')])]));
    expect(sync.state).toBe('synced');
    expect(sync.mirror.bids.get(6_499_800)).toBe(100_000_000);
  });

  it('interleaved products: each product gets one delta per frame and both books stay synced; a connection-wide gap still resyncs them', () => {
    const { sink, feed } = start([inst('BTC-USD', 'BTC'), inst('ETH-USD', 'ETH')]);
    feed.onFrame(env('l2_data', 0, [book('BTC-USD', '65000.00', '65001.00'), book('ETH-USD', '3000.00', '3001.00')]));
    const btc = feed.product('BTC-USD')!.sync;
    const eth = feed.product('ETH-USD')!.sync;
    expect([btc.state, eth.state]).toEqual(['synced', 'synced']);
    feed.onFrame(env('l2_data', 1, [
      l2Event('update', 'BTC-USD', [lv('bid', '64999.00', '3')]),
      l2Event('update', 'ETH-USD', [lv('bid', '2999.00', '7')]),
      l2Event('update', 'BTC-USD', [lv('bid', '64998.00', '4')]),
    ]));
    expect(feed.reporter.counts).toEqual({});
    expect([btc.state, eth.state]).toEqual(['synced', 'synced']);
    expect([btc.mirror.bids.get(6_499_900), btc.mirror.bids.get(6_499_800), eth.mirror.bids.get(299_900)]).toEqual([300_000_000, 400_000_000, 700_000_000]);
    expect(sink.seqs.filter((s) => s.type === 'book_delta')).toEqual([{ type: 'book_delta', firstSeq: 1, seq: 1 }, { type: 'book_delta', firstSeq: 1, seq: 1 }]);
    feed.onFrame(env('l2_data', 3, [l2Event('update', 'BTC-USD', [lv('bid', '64997.00', '1')])])); // 2 lost
    expect(feed.stats.gaps).toBe(1);
    expect([btc.state, eth.state]).toEqual(['buffering', 'buffering']);
  });
});

describe('CoinbaseFeed: what the engine\'s books hold after refused or replaced level2 content', () => {
  const inst = (symbol: string, base: string, tickSize: string, lotSize: string) => defineInstrument({ exchange: 'coinbase', symbol, base, quote: 'USD', tickSize, lotSize });
  /** The engine's own book store as the sink: what /status, risk and the strategy read. */
  class EngineSink implements MarketEventSink {
    readonly books = new BookStore();
    readonly snapshots: BookSnapshotEvent[] = [];
    readonly statuses: FeedStatusEvent[] = [];
    onMarketEvent(ev: MarketEvent): void {
      if (ev.type === 'book_snapshot') {
        this.snapshots.push(ev as BookSnapshotEvent);
        this.books.applySnapshot(ev as BookSnapshotEvent, 0);
      } else if (ev.type === 'book_delta') this.books.applyDelta(ev as BookDeltaEvent, 0);
    }
    onFeedStatus(st: FeedStatusEvent): void {
      this.statuses.push(st);
      this.books.applyStatus(st);
    }
    onFeedError(): void {}
    onFeedReject(): void {}
  }
  function start(instruments: Instrument[]) {
    const sink = new EngineSink();
    const asked: string[] = [];
    const feed = new CoinbaseFeed({ exchange: 'coinbase', instruments, sink: () => sink, now: () => 0, requestSnapshot: (p) => asked.push(p.symbol), onSequenceGap: () => {} });
    feed.connectionOpened();
    for (const p of feed.products) p.sync.begin('initial');
    asked.length = 0;
    return { sink, feed, asked };
  }
  const raw = (seq: number, events: string) => `{"channel":"l2_data","client_id":"","timestamp":"${TIME}","sequence_num":${seq},"events":[${events}]}`;
  const rawLv = (side: string, price: string, qty: string) => `{"side":"${side}","event_time":"${TIME}","price_level":"${price}","new_quantity":"${qty}"}`;

  it('a level2 event naming product_id twice is refused as malformed and both books it names resync; no level reaches a SYNCED book on the wrong grid', () => {
    const { sink, feed } = start([inst('BTC-USD', 'BTC', '0.01', '0.00000001'), inst('ETH-USD', 'ETH', '0.1', '0.0001')]);
    feed.onFrame(env('l2_data', 0, [l2Event('snapshot', 'BTC-USD', [lv('bid', '65000.00', '1'), lv('offer', '65001.00', '1')])]));
    feed.onFrame(env('l2_data', 1, [l2Event('snapshot', 'ETH-USD', [lv('bid', '2999.0', '1'), lv('offer', '3000.0', '1')])]));
    const eth = sink.books.get('coinbase', 'ETH-USD')!;
    const btc = sink.books.get('coinbase', 'BTC-USD')!;
    expect([btc.state, eth.state]).toEqual(['synced', 'synced']);
    // "299.95" is on BTC-USD's 0.01 grid (29995 ticks) and off ETH-USD's 0.1 grid: read as BTC-USD's
    // level and then given to ETH-USD it was a bid of 2999.5 for 10000 ETH in a SYNCED book
    feed.onFrame(raw(2, `{"type":"update","product_id":"BTC-USD","updates":[${rawLv('bid', '299.95', '1')}],"product_id":"ETH-USD"}`));
    expect(feed.reporter.counts).toEqual({ malformed: 1 });
    expect([btc.state, eth.state]).toEqual(['resyncing', 'resyncing']);
    expect(eth.book.qtyAt('bid', 29_995)).toBe(0);
    expect(feed.product('BTC-USD')!.sync.resyncs).toEqual({ invalid: 1 });
    expect(feed.product('ETH-USD')!.sync.resyncs).toEqual({ invalid: 1 });
    // its sequence_num counted: no gap follows, and the resubscribes' snapshots sync both books
    feed.onFrame(env('l2_data', 3, [l2Event('snapshot', 'ETH-USD', [lv('bid', '2999.0', '2'), lv('offer', '3000.0', '1')])]));
    feed.onFrame(env('l2_data', 4, [l2Event('snapshot', 'BTC-USD', [lv('bid', '65000.00', '2'), lv('offer', '65001.00', '1')])]));
    expect(feed.stats.gaps).toBe(0);
    expect([btc.state, eth.state]).toEqual(['synced', 'synced']);
    expect([eth.book.bestBid(), eth.book.bestBidQty()]).toEqual([29_990, 20_000]);
    // the same repeat in another layout (the JSON.parse path): refused the same way
    feed.onFrame(raw(5, `{"updates":[${rawLv('bid', '299.95', '1')}],"type":"update","product_id":"BTC-USD","product_id":"ETH-USD","x":"\\u0041"}`));
    expect(feed.reporter.counts).toEqual({ malformed: 2 });
    expect([btc.state, eth.state]).toEqual(['resyncing', 'resyncing']);
    expect(eth.book.qtyAt('bid', 29_995)).toBe(0);
    // a repeated key in a market_trades frame costs the books nothing
    feed.onFrame(env('l2_data', 6, [l2Event('snapshot', 'ETH-USD', [lv('bid', '2999.0', '2'), lv('offer', '3000.0', '1')])]));
    feed.onFrame(env('l2_data', 7, [l2Event('snapshot', 'BTC-USD', [lv('bid', '65000.00', '2'), lv('offer', '65001.00', '1')])]));
    feed.onFrame(env('market_trades', 8, [{ type: 'update', trades: [{ trade_id: '1', product_id: 'BTC-USD', price: '65000.00', size: '1', side: 'BUY', time: TIME }] }]).replace('"size":"1"', '"size":"1","size":"2"'));
    expect(feed.reporter.counts).toEqual({ malformed: 3 });
    expect([btc.state, eth.state]).toEqual(['synced', 'synced']);
    expect(feed.stats.gaps).toBe(0);
  });

  it('a level2 snapshot while SYNCED (a resubscribe answered after the book synced) replaces the book, counted as a resync, without asking for another', () => {
    const { sink, feed, asked } = start([coinbaseHarnessInstrument()]);
    const rec = () => sink.books.get('coinbase', 'BTC-USD')!;
    const sync = feed.products[0]!.sync;
    feed.onFrame(env('l2_data', 0, [l2Event('snapshot', 'BTC-USD', [lv('bid', '65000.00', '5'), lv('bid', '64999.00', '1'), lv('offer', '65001.00', '1')])]));
    feed.onFrame(env('l2_data', 1, [l2Event('update', 'BTC-USD', [lv('offer', '65002.00', '2')])]));
    expect(rec().state).toBe('synced');
    // the venue's book, in sequence: the 65000.00 x 5 bid is gone from it
    feed.onFrame(env('l2_data', 2, [l2Event('snapshot', 'BTC-USD', [lv('bid', '64999.00', '1'), lv('offer', '65001.00', '1'), lv('offer', '65002.00', '2')])]));
    expect(rec().state).toBe('synced');
    expect([rec().book.bestBid(), rec().book.qtyAt('bid', 6_500_000)]).toEqual([6_499_900, 0]);
    expect(sync.mirror.bids.levels()).toEqual([{ price: 6_499_900, qty: 100_000_000 }]);
    expect(sync.resyncs).toEqual({ other: 1 });
    expect(sink.snapshots.map((s) => [s.seq, s.reason])).toEqual([[0, 'initial'], [2, 'resync']]);
    expect(sink.statuses.map((s) => s.state)).toEqual(['synced', 'resyncing', 'synced']);
    expect(sink.statuses[1]!.reason).toMatch(/venue sent a new level2 snapshot/);
    // the snapshot in hand is the one the resync wanted: no resubscribe (which would bring yet another)
    expect(asked).toEqual([]);
    expect(feed.reporter.counts).toEqual({});
    // later updates follow on from it
    feed.onFrame(env('l2_data', 3, [l2Event('update', 'BTC-USD', [lv('bid', '64998.00', '3')])]));
    expect(sync.state).toBe('synced');
    expect(rec().book.qtyAt('bid', 6_499_800)).toBe(300_000_000);

    // in a multi-event frame: the updates before the snapshot are applied (and validated), then the
    // snapshot with the updates after it folded in replaces the book
    feed.onFrame(env('l2_data', 4, [
      l2Event('update', 'BTC-USD', [lv('bid', '64997.00', '7')]),
      l2Event('snapshot', 'BTC-USD', [lv('bid', '64990.00', '1'), lv('offer', '65010.00', '1')]),
      l2Event('update', 'BTC-USD', [lv('offer', '65009.00', '4')]),
    ]));
    expect(sync.state).toBe('synced');
    expect(sync.resyncs).toEqual({ other: 2 });
    expect(rec().book.bestBid()).toBe(6_499_000);
    expect(rec().book.qtyAt('bid', 6_499_800)).toBe(0);
    expect([rec().book.bestAsk(), rec().book.bestAskQty()]).toEqual([6_500_900, 400_000_000]);
    expect(asked).toEqual([]);

    // a crossed snapshot while SYNCED: the book leaves SYNCED, the snapshot is counted and another is asked for
    feed.onFrame(env('l2_data', 5, [l2Event('snapshot', 'BTC-USD', [lv('bid', '65020.00', '1'), lv('offer', '65010.00', '1')])]));
    expect(rec().state).not.toBe('synced');
    expect(feed.reporter.counts).toEqual({ bad_snapshot: 1 });
    expect(asked).toEqual(['BTC-USD']);
  });

  it('level2 updates that arrive while a book resyncs, before the resubscribe\'s snapshot, are superseded by it (not kept, not replayed)', () => {
    const { sink, feed, asked } = start([coinbaseHarnessInstrument()]);
    const rec = () => sink.books.get('coinbase', 'BTC-USD')!;
    const sync = feed.products[0]!.sync;
    feed.onFrame(env('l2_data', 0, [l2Event('snapshot', 'BTC-USD', [lv('bid', '65000.00', '1'), lv('offer', '65001.00', '1')])]));
    feed.onFrame(env('l2_data', 1, [l2Event('update', 'BTC-USD', [lv('bid', '64999.00', '2')])]));
    expect(rec().state).toBe('synced');
    // a connection-wide gap: every book resyncs (resubscribes); the frame that showed it is dropped
    feed.onFrame(env('l2_data', 3, [l2Event('update', 'BTC-USD', [lv('bid', '64998.00', '3')])]));
    expect(sync.state).toBe('buffering');
    expect(asked).toEqual(['BTC-USD']);
    // updates in sequence before the resubscribe's snapshot: the snapshot, later on the
    // connection, already holds them (sequence_num counts every message of the connection)
    feed.onFrame(env('l2_data', 4, [l2Event('update', 'BTC-USD', [lv('bid', '64997.00', '7')])]));
    expect(sync.buffered).toBe(0);
    // one in the snapshot's own frame, before it
    feed.onFrame(env('l2_data', 5, [
      l2Event('update', 'BTC-USD', [lv('bid', '64996.00', '6')]),
      l2Event('snapshot', 'BTC-USD', [lv('bid', '64999.00', '2'), lv('offer', '65001.00', '1')]),
    ]));
    expect(sync.state).toBe('synced');
    expect(sync.mirror.bids.levels()).toEqual([{ price: 6_499_900, qty: 200_000_000 }]);
    expect([rec().state, rec().book.bestBid(), rec().book.qtyAt('bid', 6_499_700), rec().book.qtyAt('bid', 6_499_600)]).toEqual(['synced', 6_499_900, 0, 0]);
    expect(sync.resyncs).toEqual({ gap: 1 });
    expect(feed.reporter.counts).toEqual({});
    // the next update follows on from the snapshot's sequence_num
    feed.onFrame(env('l2_data', 6, [l2Event('update', 'BTC-USD', [lv('bid', '64995.00', '1')])]));
    expect(sync.state).toBe('synced');
    expect(rec().book.qtyAt('bid', 6_499_500)).toBe(100_000_000);
    expect(asked).toEqual(['BTC-USD']);
  });
});

describe('CoinbaseFeed: -USDC products (Coinbase answers them on level2 and market_trades with the -USD product\'s frames)', () => {
  const inst = (symbol: string, tickSize = '0.01', lotSize = '0.00000001') => defineInstrument({ exchange: 'coinbase', symbol, base: symbol.split('-')[0]!, quote: symbol.split('-')[1]!, tickSize, lotSize });
  /** The engine's books (one per symbol) and every trade and rejection, by symbol. */
  class EngineSink implements MarketEventSink {
    readonly books = new BookStore();
    readonly trades: { symbol: string; tradeId: string; price: number; qty: number }[] = [];
    readonly snapshots: string[] = [];
    readonly rejects: { symbol: string; reason: string }[] = [];
    /** Deltas that left the engine's book unsynced (a sequence it did not expect). */
    refused = 0;
    onMarketEvent(ev: MarketEvent): void {
      if (ev.type === 'trade') this.trades.push({ symbol: ev.symbol, tradeId: ev.tradeId, price: ev.price, qty: ev.qty });
      if (ev.type === 'book_snapshot') {
        this.snapshots.push(ev.symbol);
        this.books.applySnapshot(ev, 0);
      } else if (ev.type === 'book_delta' && this.books.applyDelta(ev, 0).state !== 'synced') this.refused++;
    }
    onFeedStatus(st: FeedStatusEvent): void {
      this.books.applyStatus(st);
    }
    onFeedError(): void {}
    onFeedReject(r: { symbol: string; reason: string }): void {
      this.rejects.push({ symbol: r.symbol, reason: r.reason });
    }
  }
  function start(instruments: Instrument[]) {
    const sink = new EngineSink();
    const asked: string[] = [];
    let gaps = 0;
    const feed = new CoinbaseFeed({ exchange: 'coinbase', instruments, sink: () => sink, now: () => 0, requestSnapshot: (p) => asked.push(p.symbol), onSequenceGap: () => gaps++ });
    feed.connectionOpened();
    for (const p of feed.products) p.sync.begin('initial');
    asked.length = 0;
    return { sink, feed, asked, gaps: () => gaps };
  }
  const book = (product: string) => l2Event('snapshot', product, [lv('bid', '65000.00', '1'), lv('offer', '65001.00', '1')]);
  const trades = (seq: number, type: 'snapshot' | 'update', rows: [id: number, price: string, size: string][], product = 'BTC-USD') =>
    env('market_trades', seq, [{ type, trades: rows.map(([id, price, size]) => ({ trade_id: String(id), product_id: product, price, size, side: 'BUY', time: TIME })) }]);

  it('a configured BTC-USDC book syncs from the level2 data Coinbase sends for it, and its trades arrive', () => {
    const { sink, feed } = start([inst('BTC-USDC')]);
    expect(feed.products[0]!.venueId).toBe('BTC-USD');
    // what Coinbase sends after `subscribe level2 product_ids=["BTC-USD"]` (the adapter asks for the -USD id)
    feed.onFrame(env('l2_data', 0, [book('BTC-USD')]));
    feed.onFrame(trades(1, 'snapshot', [[100, '65000.00', '0.001']]));
    feed.onFrame(trades(2, 'update', [[101, '65000.50', '0.002']]));
    feed.onFrame(env('l2_data', 3, [l2Event('update', 'BTC-USD', [lv('bid', '64999.00', '2')])]));
    expect(sink.rejects).toEqual([]);
    const sync = feed.products[0]!.sync;
    expect(sync.state).toBe('synced');
    expect(sync.mirror.bids.get(6_499_900)).toBe(200_000_000);
    expect(sink.snapshots).toEqual(['BTC-USDC']);
    expect(sink.books.get('coinbase', 'BTC-USDC')!.state).toBe('synced');
    expect(sink.books.get('coinbase', 'BTC-USD')).toBeUndefined();
    expect(sink.trades).toEqual([{ symbol: 'BTC-USDC', tradeId: '101', price: 6_500_050, qty: 200_000 }]);
    expect(sink.refused).toBe(0);
    // a frame naming the -USDC id itself is no product of this connection
    feed.onFrame(env('l2_data', 4, [l2Event('update', 'BTC-USDC', [lv('bid', '64998.00', '1')])]));
    expect(sink.rejects.map((r) => r.reason)).toEqual(['unknown_symbol']);
  });

  it('BTC-USD and BTC-USDC configured together: one subscription feeds both books, each with its own sync state and trades; a gap resyncs both and one snapshot heals both', () => {
    const { sink, feed, asked, gaps } = start([inst('BTC-USD'), inst('ETH-USD'), inst('BTC-USDC'), inst('USDT-USDC', '0.0001', '0.01')]);
    expect(feed.products.map((p) => p.venueId)).toEqual(['BTC-USD', 'ETH-USD', 'BTC-USD', 'USDT-USDC']);
    const usd = feed.product('BTC-USD')!.sync;
    const usdc = feed.product('BTC-USDC')!.sync;
    const eth = feed.product('ETH-USD')!.sync;
    const usdt = feed.product('USDT-USDC')!.sync;
    feed.onFrame(env('l2_data', 0, [book('BTC-USD'), l2Event('snapshot', 'ETH-USD', [lv('bid', '3000.00', '1'), lv('offer', '3001.00', '1')])]));
    feed.onFrame(env('l2_data', 1, [l2Event('snapshot', 'USDT-USDC', [lv('bid', '0.9999', '10'), lv('offer', '1.0001', '10')])]));
    expect([usd.state, usdc.state, eth.state, usdt.state]).toEqual(['synced', 'synced', 'synced', 'synced']);
    expect(sink.snapshots).toEqual(['BTC-USD', 'BTC-USDC', 'ETH-USD', 'USDT-USDC']);
    feed.onFrame(trades(2, 'snapshot', [[100, '65000.00', '0.001']]));
    // ETH in between: each BTC book's next update covers the sequence numbers since its own last one
    feed.onFrame(env('l2_data', 3, [l2Event('update', 'ETH-USD', [lv('bid', '2999.00', '7')])]));
    feed.onFrame(env('l2_data', 4, [l2Event('update', 'BTC-USD', [lv('bid', '64999.00', '3')]), l2Event('update', 'BTC-USD', [lv('offer', '65002.00', '4')])]));
    feed.onFrame(trades(5, 'update', [[101, '65000.50', '0.002']]));
    expect(sink.rejects).toEqual([]);
    expect(sink.refused).toBe(0);
    for (const s of [usd, usdc]) {
      expect(s.state).toBe('synced');
      expect(s.mirror.bids.get(6_499_900)).toBe(300_000_000);
      expect(s.mirror.asks.get(6_500_200)).toBe(400_000_000);
    }
    expect(sink.trades.map((t) => `${t.symbol} ${t.tradeId}`)).toEqual(['BTC-USD 101', 'BTC-USDC 101']);
    // a connection-wide gap: every book resyncs (both BTC books asked), the frame is dropped
    feed.onFrame(env('l2_data', 9, [l2Event('update', 'BTC-USD', [lv('bid', '64998.00', '1')])]));
    expect(gaps()).toBe(1);
    expect([usd.state, usdc.state, eth.state, usdt.state]).toEqual(['buffering', 'buffering', 'buffering', 'buffering']);
    expect(asked.sort()).toEqual(['BTC-USD', 'BTC-USDC', 'ETH-USD', 'USDT-USDC']);
    // the resubscribe (one BTC-USD subscription) brings one snapshot: both books sync on it
    feed.onFrame(env('l2_data', 10, [book('BTC-USD')]));
    expect([usd.state, usdc.state]).toEqual(['synced', 'synced']);
    expect(usdc.mirror.bids.get(6_499_900)).toBe(0);
    // the backfill snapshot: each book's trades once
    feed.onFrame(trades(11, 'snapshot', [[103, '65000.01', '0.001'], [102, '65000.02', '0.001'], [101, '65000.50', '0.002']]));
    expect(sink.trades.map((t) => `${t.symbol} ${t.tradeId}`)).toEqual(['BTC-USD 101', 'BTC-USDC 101', 'BTC-USD 102', 'BTC-USDC 102', 'BTC-USD 103', 'BTC-USDC 103']);
    expect(sink.books.get('coinbase', 'BTC-USD')!.state).toBe('synced');
    expect(sink.books.get('coinbase', 'BTC-USDC')!.state).toBe('synced');
    expect(sink.refused).toBe(0);
  });

  it('an off-grid level or trade refuses only the product whose grid it misses (BTC-USDC listed with coarser increments than BTC-USD)', () => {
    const { sink, feed, asked } = start([inst('BTC-USD', '0.01', '0.00000001'), inst('BTC-USDC', '0.05', '0.000001')]);
    const usd = feed.product('BTC-USD')!.sync;
    const usdc = feed.product('BTC-USDC')!.sync;
    feed.onFrame(env('l2_data', 0, [l2Event('snapshot', 'BTC-USD', [lv('bid', '65000.00', '1'), lv('offer', '65000.05', '0.5')])]));
    expect([usd.state, usdc.state]).toEqual(['synced', 'synced']);
    // each on its own grid: 65000.05 is 6_500_005 cents and 1_300_001 nickels
    expect(usd.mirror.asks.get(6_500_005)).toBe(50_000_000);
    expect(usdc.mirror.asks.get(1_300_001)).toBe(500_000);
    feed.onFrame(env('l2_data', 1, [l2Event('update', 'BTC-USD', [lv('bid', '64999.95', '2')])]));
    expect(usdc.mirror.bids.get(1_299_999)).toBe(2_000_000);
    expect(sink.rejects).toEqual([]);
    // 64999.99 is on BTC-USD's grid, not BTC-USDC's: refused (counted) for BTC-USDC alone, which resyncs
    feed.onFrame(env('l2_data', 2, [l2Event('update', 'BTC-USD', [lv('bid', '64999.99', '1')])]));
    expect(sink.rejects).toEqual([{ symbol: 'BTC-USDC', reason: 'off_grid' }]);
    expect([usd.state, usdc.state]).toEqual(['synced', 'buffering']);
    expect(usd.mirror.bids.get(6_499_999)).toBe(100_000_000);
    expect(asked).toEqual(['BTC-USDC']);
    // a size finer than BTC-USDC's lot in a trade: the trade reaches BTC-USD only
    feed.onFrame(trades(3, 'snapshot', [[100, '65000.00', '0.001']]));
    feed.onFrame(trades(4, 'update', [[101, '65000.05', '0.0000001'], [102, '65000.10', '0.002']]));
    expect(sink.trades).toEqual([
      { symbol: 'BTC-USD', tradeId: '101', price: 6_500_005, qty: 10 },
      { symbol: 'BTC-USD', tradeId: '102', price: 6_500_010, qty: 200_000 },
      { symbol: 'BTC-USDC', tradeId: '102', price: 1_300_002, qty: 2_000 },
    ]);
    expect(sink.rejects.at(-1)).toEqual({ symbol: 'BTC-USDC', reason: 'off_grid' });
    // a level off both grids is refused once, as a frame of a product of its own always was; both resync
    feed.onFrame(env('l2_data', 5, [l2Event('snapshot', 'BTC-USD', [lv('bid', '65000.001', '1'), lv('offer', '65001.00', '1')])]));
    expect(sink.rejects.at(-1)).toEqual({ symbol: 'BTC-USD', reason: 'off_grid' });
    expect(usd.state).toBe('buffering');
    feed.onFrame(env('l2_data', 6, [book('BTC-USD')]));
    expect([usd.state, usdc.state]).toEqual(['synced', 'synced']);
    expect(sink.refused).toBe(0);
  });
});
