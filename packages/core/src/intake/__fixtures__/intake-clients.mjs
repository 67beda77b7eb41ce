// Intake worker clients for worker-intake.test.ts (plain JavaScript: a worker has no loader).
// `scripted(args)`: after start, emits a snapshot and `deltas` deltas, then per `mode`:
//   'run' nothing more; 'crash' an uncaught error; 'hang' blocks the thread for ever;
//   'fail-start' rejects start (before any snapshot).
// requestResync(symbol, reason): announces the resync and sends a resync snapshot at seq 500
// whose bid names the reason's length (what crossed from the engine thread arrived whole).
// Optional: `reportResume` sends env.resume as JSON in a feed error (component 'fixture:resume')
// at start; `marks` (ids) go to the sink's onTradeMark after the deltas (ts 5, 6, ...: history a
// feed took as seen), `trades` (ids) are emitted after them (ts 10, 11, ...), then `blockedUntil`
// goes to env.venueBlocked.
export function scripted(args, env) {
  const { exchange, symbol, mode, deltas = 0, marks = [], trades = [], blockedUntil, reportResume = false } = args;
  let timer;
  let sink;
  return {
    exchange,
    async loadInstruments() {
      return [];
    },
    requestResync(sym, reason) {
      sink.onFeedStatus({ type: 'feed_status', exchange, symbol: sym, state: 'resyncing', reason: `engine asked for a snapshot: ${reason}`, ts: 3 });
      sink.onMarketEvent({ type: 'book_snapshot', exchange, symbol: sym, ts: 4, recvTs: 5, seq: 500, reason: 'resync', bids: [{ price: 900, qty: reason.length }], asks: [{ price: 1001, qty: 3 }] });
    },
    async start(_symbols, s) {
      sink = s;
      if (reportResume) sink.onFeedError('fixture:resume', JSON.stringify(env.resume));
      if (mode === 'fail-start') throw new Error('no route to the venue');
      timer = setTimeout(() => {
        sink.onFeedStatus({ type: 'feed_status', exchange, symbol, state: 'resyncing', reason: 'initial sync', ts: 1 });
        sink.onMarketEvent({ type: 'book_snapshot', exchange, symbol, ts: 1, recvTs: 2, seq: 100, reason: 'initial', bids: [{ price: 1000, qty: 5 }, { price: 999, qty: 7 }], asks: [{ price: 1001, qty: 3 }] });
        for (let i = 1; i <= deltas; i++) {
          sink.onMarketEvent({ type: 'book_delta', exchange, symbol, ts: 1 + i, recvTs: 2 + i, firstSeq: 100 + i, seq: 100 + i, bids: [{ price: 998, qty: i }], asks: [] });
        }
        marks.forEach((tradeId, i) => sink.onTradeMark(symbol, tradeId, 5 + i));
        trades.forEach((tradeId, i) => sink.onMarketEvent({ type: 'trade', exchange, symbol, ts: 10 + i, recvTs: 11 + i, tradeId, price: 1000, qty: 1, side: 'buy' }));
        if (blockedUntil !== undefined) env.venueBlocked(blockedUntil);
        if (mode === 'crash') {
          sink.onFeedError('fixture', 'crashing now');
          setTimeout(() => {
            throw new Error('parser bug');
          }, 0);
        } else if (mode === 'hang') {
          sink.onFeedError('fixture', 'hanging now');
          // Same callback: no heartbeat can run after the test has seen the line above.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
        }
      }, 0);
    },
    async stop() {
      clearTimeout(timer);
    },
  };
}
