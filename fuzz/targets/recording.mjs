/**
 * recording: our JSON-lines recordings (what `run --record` writes and `replay` reads), each
 * frame a small recording (header, snapshot, deltas, trades, status lines) damaged whole:
 * cut at every byte, lines lost, doubled or replaced by binary, values swapped and pushed to
 * extremes. Beyond the book checks, every non-blank line must be delivered or counted as
 * malformed: a line that vanishes without a count is lost data.
 */
import { Prng } from '../prng.mjs';
import { Mutator } from '../mutate.mjs';
import { FuzzFailure } from '../failure.mjs';
import { fileTarget, rawBytes, scratchFile } from './replay-common.mjs';

export const description = 'JSON-lines recordings -> ReplaySource (jsonl) -> L2BookStore';

const HEADER = JSON.stringify({ kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' }] });

/** A real-format recording of a short session, varied by the PRNG. */
function recording(rng) {
  let ts = 1_767_225_600_000 + rng.int(1_000_000);
  let seq = 1000 + rng.int(100_000);
  const mid = 6_500_000;
  const base = { exchange: 'binance', symbol: 'BTCUSDT' };
  const side = (sign) => Array.from({ length: 3 + rng.int(5) }, (_, k) => ({ price: mid + sign * (k + 1), qty: 1 + rng.int(200_000) }));
  const lines = [HEADER];
  const snapshot = (reason) => lines.push(JSON.stringify({ type: 'book_snapshot', ...base, ts, recvTs: ts + 1, seq, bids: side(-1), asks: side(1), reason }));
  snapshot('initial');
  lines.push(JSON.stringify({ type: 'feed_status', ...base, state: 'synced', reason: 'synced at snapshot', ts }));
  const n = 2 + rng.int(6);
  for (let i = 0; i < n; i++) {
    ts += 100;
    const r = rng.next();
    if (r < 0.6) {
      const first = seq + 1;
      seq += 1 + rng.int(3);
      const lv = () => (rng.chance(0.5) ? [{ price: mid - 1 - rng.int(10), qty: rng.chance(0.3) ? 0 : 1 + rng.int(200_000) }] : []);
      lines.push(JSON.stringify({ type: 'book_delta', ...base, ts, recvTs: ts + 1, firstSeq: first, seq, bids: lv(), asks: lv().map((l) => ({ price: 2 * mid - l.price, qty: l.qty })) }));
    } else if (r < 0.9) {
      lines.push(JSON.stringify({ type: 'trade', ...base, ts, recvTs: ts + 1, tradeId: String(5_000_000 + i), price: mid + rng.int(11) - 5, qty: 1 + rng.int(100_000), side: rng.chance(0.5) ? 'buy' : 'sell' }));
    } else {
      lines.push(JSON.stringify({ type: 'feed_status', ...base, state: 'resyncing', reason: 'sequence gap', ts }));
      seq += 5;
      snapshot('resync');
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Lines ReplaySource should account for: non-blank, minus a valid header on line 1. */
function expectedLines(bytes) {
  const lines = Buffer.from(bytes).toString('utf8').split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  let n = 0;
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    if (i === 0) {
      try {
        if (JSON.parse(l)?.kind === 'cwts-recording') return;
      } catch {}
    }
    n++;
  });
  return n;
}

export async function create({ seed }) {
  const rng = new Prng(seed);
  const mut = new Mutator(new Prng(seed ^ 0x5bd1e995), 'jsonl');
  const totals = { recordings: 0, delivered: 0, malformed: 0 };
  const run = fileTarget({
    file: scratchFile('frame.jsonl'),
    options: { format: 'jsonl' },
    extra(src, bytes) {
      const want = expectedLines(bytes);
      const got = src.delivered + src.malformed + src.filtered;
      if (got !== want) throw new FuzzFailure('lost-data', `${want} non-blank lines but ${src.delivered} delivered + ${src.malformed} malformed + ${src.filtered} filtered`);
    },
  });
  return {
    next() {
      const seedIdx = rng.int(8);
      return rawBytes(rng, mut.mutate(recording(rng), `recording-${seedIdx}`));
    },
    saved: (f) => f,
    run(f) {
      const src = run(f);
      totals.recordings++;
      totals.delivered += src.delivered;
      totals.malformed += src.malformed;
    },
    reset() {},
    probe(f) {
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        try {
          run(f);
        } catch {}
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    },
    counts: () => ({ ...totals, mutations: Object.fromEntries(mut.ops) }),
  };
}
