/**
 * tardis: tardis.dev normalized CSV (incremental_book_L2 and trades) through ReplaySource's
 * tardis reader (header detection, tick/lot inference or configured increments, snapshot and
 * delta grouping) into the engine's book, each frame a small damaged file.
 */
import { Prng } from '../prng.mjs';
import { Mutator } from '../mutate.mjs';
import { fileTarget, rawBytes, scratchFile } from './replay-common.mjs';

export const description = 'tardis.dev CSV rows -> ReplaySource (tardis) -> L2BookStore';

const BOOK_HEADER = 'exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount';
const TRADES_HEADER = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount';

const px = (ticks) => (ticks / 100).toFixed(2).replace(/\.?0+$/, '');
const amt = (lots) => (lots / 100000).toFixed(5).replace(/\.?0+$/, '');

function bookFile(rng) {
  let us = 1_767_225_600_000_000 + rng.int(1_000_000) * 1000;
  const mid = 6_500_000;
  const rows = [BOOK_HEADER];
  const row = (snap, side, p, q) => rows.push(`binance,BTCUSDT,${us},${us + 150 + rng.int(100)},${snap},${side},${px(p)},${amt(q)}`);
  for (let k = 1; k <= 3 + rng.int(4); k++) {
    row('true', 'bid', mid - k, 1 + rng.int(200_000));
    row('true', 'ask', mid + k, 1 + rng.int(200_000));
  }
  const n = 2 + rng.int(8);
  for (let i = 0; i < n; i++) {
    us += 100_000;
    for (let j = 0; j < 1 + rng.int(3); j++) {
      const bid = rng.chance(0.5);
      row('false', bid ? 'bid' : 'ask', bid ? mid - 1 - rng.int(10) : mid + 1 + rng.int(10), rng.chance(0.3) ? 0 : 1 + rng.int(200_000));
    }
  }
  return `${rows.join('\n')}\n`;
}

function tradesFile(rng) {
  let us = 1_767_225_600_000_000 + rng.int(1_000_000) * 1000;
  const rows = [TRADES_HEADER];
  for (let i = 0; i < 2 + rng.int(8); i++) {
    us += 1000 * (1 + rng.int(500));
    rows.push(`binance,BTCUSDT,${us},${us + 200},${7_000_000 + i},${rng.pick(['buy', 'sell', 'unknown'])},${px(6_500_000 + rng.int(21) - 10)},${amt(1 + rng.int(100_000))}`);
  }
  return `${rows.join('\n')}\n`;
}

export async function create({ seed }) {
  const rng = new Prng(seed);
  const mut = new Mutator(new Prng(seed ^ 0x5bd1e995), 'csv');
  const file = scratchFile('frame.csv');
  // half the frames with configured increments, half with increments inferred from the rows
  const configured = fileTarget({ file, options: { format: 'tardis', instruments: { BTCUSDT: { tickSize: '0.01', lotSize: '0.00001' } } } });
  const inferred = fileTarget({ file, options: { format: 'tardis' } });
  const totals = { files: 0, delivered: 0, malformed: 0 };
  const runOnce = (f) => (f.infer ? inferred : configured)(f.bytes);
  return {
    next() {
      const book = rng.chance(0.6);
      const text = book ? bookFile(rng) : tradesFile(rng);
      return { bytes: rawBytes(rng, mut.mutate(text, `${book ? 'book' : 'trades'}-${rng.int(8)}`)), infer: rng.chance(0.5) };
    },
    saved: (f) => f.bytes,
    run(f) {
      const src = runOnce(f);
      totals.files++;
      totals.delivered += src.delivered;
      totals.malformed += src.malformed;
    },
    reset() {},
    probe(f) {
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        try {
          runOnce(f);
        } catch {}
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    },
    counts: () => ({ ...totals, mutations: Object.fromEntries(mut.ops) }),
  };
}
