/**
 * tardis: tardis.dev normalized CSV (incremental_book_L2 and trades) through ReplaySource's
 * tardis reader (header detection, tick/lot inference or configured increments, snapshot and
 * delta grouping) into the engine's book, each frame a small damaged file.
 */
import { Prng } from '../prng.mjs';
import { Mutator } from '../mutate.mjs';
import { FuzzFailure } from '../failure.mjs';
import { fileTarget, rawBytes, scratchFile } from './replay-common.mjs';

/** Every CLEAN_EVERY-th frame is a pool file undamaged (configured increments): it must read back exactly. */
export const CLEAN_EVERY = 16;

const cellsOf = (text) => text.split('\n').slice(1).filter((l) => l !== '').map((l) => l.split(','));
const ticks = (p) => Math.round(Number(p) * 100);
const lots = (a) => Math.round(Number(a) * 100_000);
/** Levels as price -> qty, the later of two at one price winning (what applying them leaves). */
const levelMap = (levels) => new Map(levels.map((l) => [l.price, l.qty]));
const sameLevels = (a, b) => a.size === b.size && [...a].every(([p, q]) => b.get(p) === q);

/**
 * A clean file reads back exactly. Trades: one per row, in order, id, time (ms), price, qty and
 * side (an "unknown" side is inferred, so not compared). Book: the snapshot rows as one snapshot,
 * then each timestamp's rows as one delta, levels equal. Nothing counted as damage.
 */
function readBack(src, text) {
  if (src.refused !== undefined) throw new FuzzFailure('lost-data', `a clean tardis file was refused: ${src.refused}`);
  const rows = cellsOf(text);
  const damage = src.malformed + (src.skipped ?? 0) + (src.filtered ?? 0) + (src.truncated ?? 0);
  const fail = (what) => {
    throw new FuzzFailure('lost-data', `a clean tardis file of ${rows.length} rows read back wrong (${src.delivered} delivered, ${damage} counted as damage): ${what}`);
  };
  if (damage !== 0) fail('rows counted as damage');
  if (text.startsWith(TRADES_HEADER)) {
    const trades = src.events.filter((e) => e.type === 'trade');
    if (trades.length !== rows.length || src.delivered !== rows.length) fail(`${trades.length} trades for ${rows.length} rows`);
    rows.forEach(([, , us, , id, side, price, amount], k) => {
      const t = trades[k];
      if (t.tradeId !== id || t.ts !== Math.floor(Number(us) / 1000) || t.price !== ticks(price) || t.qty !== lots(amount) || (side !== 'unknown' && t.side !== side)) fail(`row ${k + 1} ${rows[k].join(',')} delivered as ${JSON.stringify(t)}`);
    });
    return;
  }
  const groups = [];
  for (const [, , us, , snap, side, price, amount] of rows) {
    let g = groups.at(-1);
    if (!g || g.us !== us || g.snap !== snap) groups.push((g = { us, snap, bids: [], asks: [] }));
    (side === 'bid' ? g.bids : g.asks).push({ price: ticks(price), qty: lots(amount) });
  }
  const book = src.events.filter((e) => e.type === 'book_snapshot' || e.type === 'book_delta');
  if (book.length !== groups.length) fail(`${book.length} book events for ${groups.length} row groups`);
  groups.forEach((g, k) => {
    const e = book[k];
    const type = g.snap === 'true' ? 'book_snapshot' : 'book_delta';
    if (e.type !== type || e.ts !== Math.floor(Number(g.us) / 1000) || !sameLevels(levelMap(e.bids), levelMap(g.bids)) || !sameLevels(levelMap(e.asks), levelMap(g.asks))) fail(`group ${k + 1} (${type} at ${g.us}) delivered as ${JSON.stringify(e)}`);
  });
}

/**
 * After a `cell` mutation of a trades file (one cell damaged, a row duplicated or two rows
 * swapped) every row the mutation left alone, and that occurs once, must be delivered: a trade
 * with its id (a last row without its newline excepted: it may be cut). (Book rows are judged by the book checks: a damaged row may rightly void
 * its whole group.)
 */
function untouchedDelivered(src, original, mutated) {
  const [header, ...was] = original.split('\n');
  const now = mutated.split('\n');
  // the file's exchange and symbol are read from its first row, so a damaged first row may rightly
  // void the file: only judged while the header and the first row are intact
  if (header !== TRADES_HEADER || now[0] !== header || now[1] !== was[0]) return;
  const times = new Map();
  for (const l of now.slice(1)) times.set(l, (times.get(l) ?? 0) + 1);
  // a last line without its newline may be cut: the reader counts it as truncated, rightly
  if (now.length > 1 && now.at(-1) !== '') times.set(now.at(-1), 0);
  // by id alone: a row out of time order is delivered with its time clamped, and inferred
  // increments may scale price and qty
  const delivered = new Set(src.events.filter((e) => e.type === 'trade').map((e) => e.tradeId));
  for (const l of was) {
    if (l === '' || times.get(l) !== 1) continue;
    const c = l.split(',');
    if (!delivered.has(c[4])) throw new FuzzFailure('lost-data', `a trade row the mutation did not touch was not delivered: ${l}`);
  }
}

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
  const pool = Array.from({ length: 64 }, (_, i) => (i % 5 < 3 ? bookFile(rng) : tradesFile(rng)));
  const runOnce = (f) => (f.infer ? inferred : configured)(f.bytes);
  let frameNo = 0;
  totals.cleanReadBacks = 0;
  totals.rowChecks = 0;
  return {
    next() {
      const i = rng.int(pool.length);
      if (frameNo++ % CLEAN_EVERY === 0) return { bytes: Buffer.from(pool[i], 'utf8'), infer: false, pool: i, clean: true };
      const text = mut.mutate(pool[i], `tardis-${i}`);
      const op = mut.lastOp;
      const bytes = rawBytes(rng, text);
      return { bytes, infer: rng.chance(0.5), pool: i, text: op === 'cell' && bytes.equals(Buffer.from(text, 'utf8')) ? text : undefined };
    },
    saved: (f) => f.bytes,
    run(f) {
      const src = runOnce(f);
      totals.files++;
      totals.delivered += src.delivered;
      totals.malformed += src.malformed;
      if (f.clean) {
        totals.cleanReadBacks++;
        readBack(src, pool[f.pool]);
      } else if (f.text !== undefined && !f.infer && src.refused === undefined) {
        // (configured increments only: inferred ones may rightly fail on one damaged price)
        totals.rowChecks++;
        untouchedDelivered(src, pool[f.pool], f.text);
      }
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
