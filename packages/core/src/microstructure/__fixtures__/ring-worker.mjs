// Worker for ring-buffer.test.ts. Plain .mjs: vitest does not transform worker files, so it
// loads the compiled ring from packages/core/dist (the test command runs `tsc -b` first).
import { workerData, parentPort } from 'node:worker_threads';
import { SpscRing } from '../../../dist/microstructure/ring-buffer.js';
import { FeedRecordWriter } from '../../../dist/microstructure/feed-records.js';

const { sab, mode, n, words } = workerData;
const ring = new SpscRing(sab);

function fillRecord(buf, off, seq) {
  buf[off] = seq;
  for (let k = 1; k < words; k++) buf[off + k] = (Math.imul(seq, 2654435761) + k) | 0;
}

let rng = 12345;
const rand = (m) => {
  rng = (Math.imul(rng, 1103515245) + 12345) | 0;
  return ((rng >>> 8) % m) + 1;
};

if (mode === 'produce') {
  const batch = new Int32Array(128 * words);
  let seq = 0;
  while (seq < n) {
    const c = Math.min(rand(100), n - seq);
    for (let i = 0; i < c; i++) fillRecord(batch, i * words, seq + i);
    const w = ring.writeBlocking(batch, 0, c, 10_000, 64);
    if (w !== c) throw new Error(`short write ${w}/${c}`);
    seq += c;
  }
  ring.close();
  parentPort.postMessage({ done: seq });
} else if (mode === 'consume') {
  const buf = new Int32Array(64 * words);
  let seq = 0;
  let bad = 0;
  let sleeps = 0;
  for (;;) {
    const got = ring.readBlocking(buf, 0, rand(64), 10_000, 16);
    if (got === 0) break;
    for (let i = 0; i < got; i++) {
      const off = i * words;
      if (buf[off] !== seq) bad++;
      for (let k = 1; k < words; k++) if (buf[off + k] !== ((Math.imul(seq, 2654435761) + k) | 0)) bad++;
      seq++;
    }
    if (seq % 5000 < got) {
      sleeps++;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2); // let the producer fill up
    }
  }
  parentPort.postMessage({ received: seq, bad, closed: ring.closed, sleeps });
} else if (mode === 'feed') {
  // instrument 0: snapshot then deltas, with one gap at the end
  const w = new FeedRecordWriter(ring);
  w.snapshot(0, 100, 1, 1, 2);
  w.level(0, 0, 1000, 5);
  w.level(0, 1, 1010, 7);
  w.flush();
  let seq = 100;
  for (let i = 0; i < n; i++) {
    seq++;
    w.delta(0, seq, seq, 2, 2, 2);
    w.level(0, 0, 990 + (i % 10), (i % 4));
    w.level(0, 1, 1011 + (i % 10), 1 + (i % 3));
    if (i % 7 === 0) w.trade(0, 1, 1010, 1, i, 3, 3);
    w.flush();
  }
  w.delta(0, seq + 5, seq + 5, 4, 4, 1);
  w.level(0, 0, 999, 99);
  w.flush();
  ring.close();
  parentPort.postMessage({ done: true, lastSeq: seq });
}
