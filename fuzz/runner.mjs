/**
 * Runs fuzz targets in worker threads under a watchdog. A frame that has not returned after
 * `hangMs` is a hang: the worker is terminated, the frame is saved and printed, and the target
 * resumes at the next frame in a fresh worker (up to `maxHangs` hangs, then the target is
 * abandoned). Crashes, wrong SYNCED books and invalid events arrive from the worker as findings.
 */
import { Worker } from 'node:worker_threads';
import { mkdirSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { deriveSeed } from './prng.mjs';

export const TARGETS = ['binance-ws', 'binance-rest', 'recording', 'tardis', 'config', 'coinbase-user', 'kraken-executions', 'binance-user', 'coinbase-ws', 'kraken-ws', 'bybit-ws', 'bybit-exec', 'ccxt-exec'];
/** Findings that fail a run. Slow frames are reported, not failed. */
export const FAILING_KINDS = ['hang', 'crash', 'wrong-synced-book', 'invalid-event', 'secret-leak', 'lost-data', 'vacuous'];

const FRAME_BUFFER = 4 << 20;

/** The module of a target: one of TARGETS, or (tests) a path or URL to a module of the same shape. */
export function targetModule(name) {
  if (TARGETS.includes(name)) return new URL(`./targets/${name}.mjs`, import.meta.url).href;
  if (name.startsWith('file:')) return name;
  throw new Error(`unknown fuzz target ${name}; known: ${TARGETS.join(', ')}`);
}
const WORKER_URL = new URL('./worker.mjs', import.meta.url);

/** Groups findings whose messages differ only in numbers, so one bug is one line. */
export const signatureOf = (f) => `${f.kind}: ${f.message.split('\n')[0].replace(/-?\d[\d.e+]*/g, 'N').slice(0, 160)}`;

/**
 * @param {object} o
 * @param {string[]} o.targets
 * @param {number} o.frames fuzz frames per target
 * @param {number} o.seed
 * @param {number} [o.jobs] targets run at once
 * @param {number} [o.hangMs]
 * @param {number} [o.slowMs]
 * @param {number} [o.maxHangs]
 * @param {string} [o.findingsFile] JSON lines, one per finding (frames in full)
 * @param {(line: string) => void} [o.log] findings and notices as they happen
 * @param {(p: {target: string, done: number, frames: number}[]) => void} [o.onProgress]
 * @param {number} [o.progressMs]
 */
export async function runFuzz(o) {
  const jobs = Math.max(1, o.jobs ?? 2);
  const queue = [...o.targets];
  const live = new Map();
  const results = [];
  let ticker;
  if (o.onProgress) {
    ticker = setInterval(() => o.onProgress([...live.values()].map((s) => ({ target: s.target, done: s.doneNow(), frames: o.frames }))), o.progressMs ?? 2000);
  }
  const runOne = async () => {
    while (queue.length > 0) {
      const target = queue.shift();
      const state = { target, doneNow: () => 0 };
      live.set(target, state);
      results.push(await runTarget(target, o, state));
      live.delete(target);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, o.targets.length) }, runOne));
  } finally {
    if (ticker) clearInterval(ticker);
  }
  results.sort((a, b) => o.targets.indexOf(a.parser) - o.targets.indexOf(b.parser));
  return { seed: o.seed, framesPerParser: o.frames, ok: results.every((r) => r.ok), results };
}

async function runTarget(target, o, state) {
  const hangMs = o.hangMs ?? 2000;
  const maxHangs = o.maxHangs ?? 5;
  const seed = deriveSeed(o.seed, target);
  const module = targetModule(target);
  const sab = new SharedArrayBuffer(16 + FRAME_BUFFER);
  const ctl = new Int32Array(sab, 0, 4);
  const frameBytes = new Uint8Array(sab, 16);
  const findings = [];
  const r = {
    parser: target,
    seed,
    frames: 0,
    seconds: 0,
    framesPerSecond: 0,
    findings: {},
    signatures: {},
    slow: { confirmedCount: 0, transient: 0, worstMs: 0, confirmed: [] },
    counts: {},
    abandoned: undefined,
    ok: false,
  };
  state.doneNow = () => Atomics.load(ctl, 0);
  const record = (f) => {
    f.parser = target;
    f.seed = o.seed;
    r.findings[f.kind] = (r.findings[f.kind] ?? 0) + 1;
    const sig = signatureOf(f);
    const first = r.signatures[sig] === undefined;
    r.signatures[sig] = (r.signatures[sig] ?? 0) + 1;
    if (first) {
      findings.push(f);
      o.log?.(`[${target}] ${f.kind} at frame ${f.frameIndex}: ${f.message.split('\n')[0]}\n    frame: ${JSON.stringify(f.frame).slice(0, 400)}`);
    }
    if (o.findingsFile) appendFileSync(o.findingsFile, `${JSON.stringify(f)}\n`);
  };
  let startAt = 0;
  let hangs = 0;
  let busySeconds = 0;
  while (startAt < o.frames) {
    Atomics.store(ctl, 0, startAt);
    Atomics.store(ctl, 1, 0);
    const t0 = performance.now();
    let segmentCounts = {};
    let ready = false;
    const outcome = await new Promise((resolve) => {
      const w = new Worker(WORKER_URL, { workerData: { module, seed, frames: o.frames, startAt, slowMs: o.slowMs ?? 1, sab } });
      let lastDone = -1;
      let stuckSince = 0;
      let settled = false;
      const finish = (v) => {
        if (settled) return;
        settled = true;
        clearInterval(dog);
        resolve(v);
      };
      const currentFrame = () => {
        const n = Atomics.load(ctl, 2);
        const total = Atomics.load(ctl, 3);
        const text = Buffer.from(frameBytes.subarray(0, n)).toString('utf8');
        return total > n ? `${text}... (${total} bytes, cut to ${n})` : text;
      };
      const dog = setInterval(() => {
        const done = Atomics.load(ctl, 0);
        const busy = Atomics.load(ctl, 1) === 1;
        const now = performance.now();
        if (!busy || done !== lastDone) {
          lastDone = done;
          stuckSince = now;
          return;
        }
        if (now - stuckSince >= hangMs) {
          finish({ hang: true, frameIndex: done, frame: currentFrame(), seconds: (now - t0 - hangMs) / 1000 });
          void w.terminate();
        }
      }, Math.min(100, hangMs / 4));
      w.on('message', (m) => {
        if (m.type === 'ready') ready = true;
        else if (m.type === 'finding') record(m.finding);
        else if (m.type === 'counts') segmentCounts = m.counts;
        else if (m.type === 'slow') {
          if (m.transient) r.slow.transient++;
          else {
            r.slow.confirmedCount++;
            r.slow.worstMs = Math.max(r.slow.worstMs, m.ms);
            if (r.slow.confirmed.length < 10) r.slow.confirmed.push({ frameIndex: m.frameIndex, ms: m.ms, frame: m.frame });
          }
        }
        else if (m.type === 'async-crash') record({ kind: 'crash', frameIndex: Atomics.load(ctl, 0), message: `unhandled rejection: ${m.message}`, frame: currentFrame(), preceding: [] });
        else if (m.type === 'done') {
          finish({ done: m });
          // Let it end by itself, so a target's exit hooks run (the recorded-data targets remove
          // their /dev/shm scratch directories there; terminate() skips them and left two per run).
          const stop = setTimeout(() => void w.terminate(), 2000);
          w.once('exit', () => clearTimeout(stop));
        }
      });
      w.on('error', (err) => finish({ crash: true, startup: !ready, frameIndex: Atomics.load(ctl, 0), frame: currentFrame(), message: String(err?.stack ?? err), seconds: (performance.now() - t0) / 1000 }));
      w.on('exit', (code) => finish({ crash: true, startup: !ready, frameIndex: Atomics.load(ctl, 0), frame: currentFrame(), message: `worker exited with code ${code}`, seconds: (performance.now() - t0) / 1000 }));
    });
    if (outcome.done) {
      const d = outcome.done;
      busySeconds += d.seconds;
      r.frames = o.frames;
      addCounts(r.counts, d.counts);
      break;
    }
    addCounts(r.counts, segmentCounts);
    busySeconds += outcome.seconds;
    r.frames = outcome.frameIndex;
    if (outcome.hang) {
      hangs++;
      r.hangs = hangs;
      record({ kind: 'hang', frameIndex: outcome.frameIndex, message: `frame did not return within ${hangMs} ms (worker terminated)`, frame: outcome.frame, preceding: [] });
    } else {
      record({ kind: 'crash', frameIndex: outcome.frameIndex, message: `worker died: ${outcome.message}`, frame: outcome.frame, preceding: [] });
    }
    if (outcome.startup) {
      r.abandoned = `the target failed to start: ${String(outcome.message).split('\n')[0]}`;
      o.log?.(`[${target}] ${r.abandoned}`);
      break;
    }
    if (hangs >= maxHangs || r.findings.crash > maxHangs) {
      r.abandoned = `stopped at frame ${outcome.frameIndex} after ${hangs} hangs${r.findings.crash ? ` and ${r.findings.crash} crashes` : ''}`;
      o.log?.(`[${target}] ${r.abandoned}`);
      break;
    }
    startAt = outcome.frameIndex + 1;
  }
  // coverage: a target may export `coverage(counts, frames)`, the floors (shares of the run's own
  // counts) below which the run tested nothing (`vacuous`) or lost data. Judged only on a run whose
  // counts are whole (one worker from start to end; a hang or a dead worker already fails it).
  if (startAt === 0 && !r.abandoned && r.frames >= o.frames) {
    const mod = await import(module);
    for (const f of mod.coverage?.(r.counts, r.frames) ?? []) record({ kind: f.kind, frameIndex: r.frames, message: `end of run: ${f.message}`, frame: '', preceding: [] });
  }
  r.seconds = Number(busySeconds.toFixed(2));
  r.framesPerSecond = r.seconds > 0 ? Math.round(r.frames / r.seconds) : 0;
  r.examples = findings.slice(0, 20);
  r.ok = !r.abandoned && FAILING_KINDS.every((k) => !r.findings[k]) && r.frames >= o.frames;
  return r;
}

/** Sums a worker's counters into the target's (nested objects of numbers). */
function addCounts(into, from) {
  for (const [k, v] of Object.entries(from ?? {})) {
    if (typeof v === 'number') into[k] = (into[k] ?? 0) + v;
    else if (v && typeof v === 'object') addCounts((into[k] ??= {}), v);
  }
}

/** Where findings go by default: fuzz/findings/<time>-seed<S>.jsonl. */
export function defaultFindingsFile(seed) {
  const dir = join(new URL('.', import.meta.url).pathname, 'findings');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-seed${seed}.jsonl`);
}
