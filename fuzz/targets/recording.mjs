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
import { canonical, fileTarget, rawBytes, scratchFile } from './replay-common.mjs';

/** Every CLEAN_EVERY-th frame is a pool recording undamaged: it must read back exactly. */
export const CLEAN_EVERY = 16;

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

/** The records of a recording (its lines after the header), in file order. */
const recordsOf = (text) => text.split('\n').slice(1).filter((l) => l.trim() !== '');

/**
 * A clean recording reads back exactly: every record delivered once, in file order, equal field
 * by field, and nothing counted as damage. (A reader that drops good records as "repeats" or
 * "malformed" passed the line-count check, which only asks that every line is accounted for.)
 */
function readBack(src, text) {
  if (src.refused !== undefined) throw new FuzzFailure('lost-data', `a clean recording was refused: ${src.refused}`);
  const want = recordsOf(text);
  const damage = src.malformed + (src.skipped ?? 0) + (src.filtered ?? 0) + (src.truncated ?? 0);
  if (src.delivered !== want.length || src.events.length !== want.length || damage !== 0) {
    throw new FuzzFailure('lost-data', `a clean recording of ${want.length} records read back as ${src.delivered} delivered (${src.events.length} events), ${src.malformed} malformed, ${src.skipped ?? 0} skipped, ${src.filtered ?? 0} filtered, ${src.truncated ?? 0} truncated`);
  }
  want.forEach((line, k) => {
    const got = canonical(src.events[k]);
    if (got !== canonical(JSON.parse(line))) throw new FuzzFailure('lost-data', `clean record ${k + 1} read back changed:\n  recorded  ${line}\n  delivered ${JSON.stringify(src.events[k])}`);
  });
}

/**
 * After a `line` mutation (one line replaced by a damaged value, duplicated, lost, or a binary
 * line inserted) every record line the mutation left alone, and that occurs once in the file,
 * must be delivered unchanged but for its times, as long as the header is intact (a last line without its newline
 * excepted). (Occurring twice, a trade's
 * second copy is rightly dropped as a repeat, so such lines are not judged.)
 */
function untouchedDelivered(src, original, mutated) {
  const [header, ...was] = original.split('\n');
  const now = mutated.split('\n');
  if (now[0] !== header) return;
  const times = new Map();
  for (const l of now.slice(1)) times.set(l, (times.get(l) ?? 0) + 1);
  // a last line without its newline may be cut: the reader counts it as truncated, rightly
  if (now.length > 1 && now.at(-1) !== '') times.set(now.at(-1), 0);
  // times are left out: a record out of time order (a duplicated line, a damaged ts before it) is
  // delivered with its time clamped to the stream's, by the reader's documented rule
  const untimed = ({ ts, recvTs, ...rest }) => canonical(rest);
  const delivered = new Map();
  for (const ev of src.events) {
    const c = untimed(ev);
    delivered.set(c, (delivered.get(c) ?? 0) + 1);
  }
  for (const l of was) {
    if (l.trim() === '' || times.get(l) !== 1) continue;
    const c = untimed(JSON.parse(l));
    if (!delivered.get(c)) throw new FuzzFailure('lost-data', `a record the mutation did not touch was not delivered: ${l.slice(0, 300)}`);
    delivered.set(c, delivered.get(c) - 1);
  }
}

export async function create({ seed }) {
  const rng = new Prng(seed);
  const mut = new Mutator(new Prng(seed ^ 0x5bd1e995), 'jsonl');
  const totals = { recordings: 0, delivered: 0, malformed: 0 };
  // a pool of real-format sessions to mutate (generating one per frame would cost more than reading it)
  const pool = Array.from({ length: 64 }, () => recording(rng));
  const run = fileTarget({
    file: scratchFile('frame.jsonl'),
    options: { format: 'jsonl' },
    extra(src, bytes) {
      // skipped and truncated exist once the reader reports damage (issue 11); a cut last line is
      // counted as `truncated`, not `malformed`. Counting a line twice is not a loss: only fewer fails.
      const want = expectedLines(bytes);
      const skipped = src.skipped ?? 0;
      const truncated = src.truncated ?? 0;
      const filtered = src.filtered ?? 0;
      const got = src.delivered + src.malformed + skipped + filtered + truncated;
      if (got < want) throw new FuzzFailure('lost-data', `${want} non-blank lines but only ${src.delivered} delivered + ${src.malformed} malformed + ${skipped} skipped + ${filtered} filtered + ${truncated} truncated`);
    },
  });
  let frameNo = 0;
  totals.cleanReadBacks = 0;
  totals.lineChecks = 0;
  return {
    next() {
      const i = rng.int(pool.length);
      if (frameNo++ % CLEAN_EVERY === 0) return { bytes: Buffer.from(pool[i], 'utf8'), pool: i, clean: true };
      const text = mut.mutate(pool[i], `recording-${i}`);
      const op = mut.lastOp;
      const bytes = rawBytes(rng, text);
      // a `line` mutation the byte damage left alone: its untouched lines are judged one by one
      return { bytes, pool: i, text: op === 'line' && bytes.equals(Buffer.from(text, 'utf8')) ? text : undefined };
    },
    saved: (f) => f.bytes,
    run(f) {
      const src = run(f.bytes);
      totals.recordings++;
      totals.delivered += src.delivered;
      totals.malformed += src.malformed;
      if (f.clean) {
        totals.cleanReadBacks++;
        readBack(src, pool[f.pool]);
      } else if (f.text !== undefined && src.refused === undefined) {
        totals.lineChecks++;
        untouchedDelivered(src, pool[f.pool], f.text);
      }
    },
    reset() {},
    probe(f) {
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        try {
          run(f.bytes);
        } catch {}
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    },
    counts: () => ({ ...totals, mutations: Object.fromEntries(mut.ops) }),
  };
}
