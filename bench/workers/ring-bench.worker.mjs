// Worker side of the ring-buffer benchmark (plain JS; loads the compiled ring from dist).
import { workerData, parentPort } from 'node:worker_threads';
import { RingBuffer } from 'ringbuf.js';
import { SpscRing } from '../../packages/core/dist/microstructure/ring-buffer.js';

const { mode, total, batch, a, b } = workerData;
const WORDS = 16;
const src = new Int32Array(batch * WORDS);

function fill(seq) {
  for (let r = 0; r < batch; r++) {
    src[r * WORDS] = seq + r;
    for (let k = 1; k < WORDS; k++) src[r * WORDS + k] = k;
  }
}

if (mode === 'ours-produce' || mode === 'ours-zc-produce') {
  const ring = new SpscRing(a);
  parentPort.postMessage('ready');
  let sent = 0;
  if (mode === 'ours-produce') {
    while (sent < total) {
      fill(sent);
      let done = 0;
      while (done < batch) done += ring.write(src, done, batch - done);
      sent += batch;
    }
  } else {
    const f64 = ring.i32;
    while (sent < total) {
      let free = ring.writable();
      while (free < batch) free = ring.writable();
      for (let r = 0; r < batch; r++) {
        const o = ring.slotWord(r);
        f64[o] = sent + r;
        for (let k = 1; k < WORDS; k++) f64[o + k] = k;
      }
      ring.publish(batch);
      sent += batch;
    }
  }
  ring.close();
} else if (mode === 'ours-block-produce') {
  const ring = new SpscRing(a);
  parentPort.postMessage('ready');
  let sent = 0;
  while (sent < total) {
    fill(sent);
    ring.writeBlocking(src, 0, batch, Infinity, 64);
    sent += batch;
  }
  ring.close();
} else if (mode === 'peer-produce') {
  const ring = new RingBuffer(a, Int32Array);
  parentPort.postMessage('ready');
  let sent = 0;
  const len = batch * WORDS;
  while (sent < total) {
    fill(sent);
    let done = 0;
    while (done < len) done += ring.push(src, len - done, done);
    sent += batch;
  }
} else if (mode === 'pm-produce') {
  parentPort.postMessage('ready');
  let sent = 0;
  while (sent < total) {
    fill(sent);
    parentPort.postMessage(src);
    sent += batch;
  }
} else if (mode === 'ours-echo') {
  const rin = new SpscRing(a);
  const rout = new SpscRing(b);
  const buf = new Int32Array(WORDS);
  parentPort.postMessage('ready');
  for (let i = 0; i < total; i++) {
    while (rin.read(buf, 0, 1) === 0);
    while (rout.write(buf, 0, 1) === 0);
  }
} else if (mode === 'peer-echo') {
  const rin = new RingBuffer(a, Int32Array);
  const rout = new RingBuffer(b, Int32Array);
  const buf = new Int32Array(WORDS);
  parentPort.postMessage('ready');
  for (let i = 0; i < total; i++) {
    let got = 0;
    while (got < WORDS) got += rin.pop(buf, WORDS - got, got);
    let put = 0;
    while (put < WORDS) put += rout.push(buf, WORDS - put, put);
  }
} else if (mode === 'pm-echo') {
  parentPort.on('message', (m) => {
    if (m === 'stop') process.exit(0);
    parentPort.postMessage(m);
  });
  parentPort.postMessage('ready');
}
