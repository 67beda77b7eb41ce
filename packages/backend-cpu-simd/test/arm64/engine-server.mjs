// Runs under an arm64 Node (qemu-aarch64): loads @cwts/backend-cpu-simd's addon through the
// package's own loader (dist/native.js, which must pass over the x86-64 build/Release binary and
// take prebuilds/linux-arm64/) and serves its Engine to the x86-64 test process over two FIFOs,
// so the compute conformance suite there runs the arm64 kernels.
//   node engine-server.mjs <requests fifo> <responses fifo> <package dir>
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bytesOf, decodeArgs, encodeFrame, readFrame } from './frames.mjs';

const [reqPath, resPath, pkgDir] = process.argv.slice(2);

function readExactly(fd, n) {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const r = readSync(fd, buf, got, n - got, null);
    if (r === 0) return null;
    got += r;
  }
  return buf;
}

function send(fd, header, blobs) {
  const buf = encodeFrame(header, blobs);
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

// The responses FIFO first (the test process holds its read end open already), then requests.
const out = openSync(resPath, 'w');
let loaded;
let hello;
try {
  const native = await import(pathToFileURL(join(pkgDir, 'dist', 'native.js')).href);
  const { cpuSimdProvider } = await import(pathToFileURL(join(pkgDir, 'dist', 'index.js')).href);
  loaded = native.loadNative();
  hello = { ok: true, path: loaded.path, probe: loaded.module.probe(), provider: await cpuSimdProvider.probe(), arch: process.arch, node: process.version };
} catch (e) {
  hello = { ok: false, error: e instanceof Error ? e.message : String(e) };
}
send(out, hello);
const inp = openSync(reqPath, 'r');

const engines = new Map();
let nextId = 1;
for (;;) {
  const frame = readFrame((n) => readExactly(inp, n));
  if (frame === null) break;
  const { header, blobs } = frame;
  const args = decodeArgs(header.args ?? [], blobs);
  const before = args.map((a) => (ArrayBuffer.isView(a) ? Buffer.from(bytesOf(a)) : null));
  let reply;
  let promise = false;
  try {
    let value;
    if (header.op === 'new') {
      const id = nextId++;
      engines.set(id, new loaded.module.Engine(...args));
      value = id;
    } else {
      const engine = engines.get(header.engine);
      if (!engine) throw new Error(`no engine ${header.engine}`);
      value = engine[header.method](...args);
      if (value instanceof Promise) {
        promise = true;
        value = await value;
      }
      if (header.method === 'dispose') engines.delete(header.engine);
    }
    reply = { ok: true, value: value ?? null, undef: value === undefined };
  } catch (e) {
    reply = { ok: false, error: { name: e?.name ?? 'Error', message: e?.message ?? String(e) } };
  }
  // Only the arguments the call wrote go back (an input that shares memory with an output must
  // not be written back over it with its old bytes).
  const changed = [];
  const changedBlobs = [];
  args.forEach((a, i) => {
    if (before[i] !== null && !bytesOf(a).equals(before[i])) {
      changed.push(i);
      changedBlobs.push(Buffer.from(bytesOf(a)));
    }
  });
  send(out, { ...reply, promise, changed }, changedBlobs);
}
closeSync(out);
