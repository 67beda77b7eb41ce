/**
 * A simulated float32 device run through the conformance suite: every kernel computes in float32
 * the way a straightforward GPU kernel would (one thread per output, float32 accumulators,
 * float32 Box-Muller), with its own device buffers and no sync kernels. It shows that the
 * suite's tolerances are reachable without float64, and exercises the suite's paths for
 * backends that differ from the oracle (deviceMemory, no sync). What float32 needs beyond the
 * straightforward: each window is scaled by a power of two that brings its largest |x| near 1
 * (exact; values near 1e19..1e36 or 1e-25 otherwise overflow or underflow a float32 sum of
 * squares), and rollingMoments sums with Neumaier compensation (a volatility drop loses every
 * small term of a plain float32 sum).
 */
import {
  ALL_KERNELS,
  ComputeArgumentError,
  type BackendCapabilities,
  type ComputeBackend,
  type ComputeBackendProvider,
  type DeviceBuffer,
  type DeviceFacts,
  type MonteCarloVaRArgs,
  type MonteCarloVaRResult,
  type PatternScoresArgs,
  type PatternScoresResult,
  type RollingMomentsArgs,
  type RollingMomentsResult,
  type SgemmArgs,
} from '../contracts/compute.js';
import { describeComputeConformance } from '../testing/index.js';
import { prepareMonteCarloVaR } from './kernels/monte-carlo-var.js';
import { preparePatternScores } from './kernels/pattern-scores.js';
import { prepareRollingMoments } from './kernels/rolling-moments.js';
import { prepareSgemm } from './kernels/sgemm.js';
import { philox4x32 } from './philox.js';
import { requireInt } from './validate.js';

const f = Math.fround;
const NAME = 'f32sim';

/** 2^-e for the largest finite |x| of x[off, off + n) in [2^e, 2^(e+1)): scaling by it is exact. */
function pow2Scale(x: Float32Array, off: number, n: number): number {
  let big = 0;
  for (let i = off; i < off + n; i++) if (Number.isFinite(x[i]) && Math.abs(x[i]) > big) big = Math.abs(x[i]);
  return big === 0 ? 1 : 2 ** -Math.floor(Math.log2(big));
}

/** A float32 sum with Neumaier compensation of `n` terms given by `term(i)`. */
function sumF32(n: number, term: (i: number) => number): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const v = term(i);
    const t = f(s + v);
    c = f(c + (Math.abs(s) >= Math.abs(v) ? f(f(s - t) + v) : f(f(v - t) + s)));
    s = t;
  }
  return f(s + c);
}

class Float32Device implements ComputeBackend {
  readonly name = NAME;
  readonly capabilities: BackendCapabilities = { kernels: ALL_KERNELS, syncKernels: false, deviceMemory: true, maxBufferBytes: 1 << 28, float64: false };
  readonly device: DeviceFacts = { name: 'float32 simulator', type: 'virtual-gpu', computeUnits: 1 };
  readonly #mem = new Map<number, { handle: DeviceBuffer; bytes: ArrayBuffer }>();
  #next = 1;

  #bytes(kernel: string, name: string, b: unknown): ArrayBuffer {
    const h = b as DeviceBuffer;
    const e = typeof h === 'object' && h !== null ? this.#mem.get(h.id) : undefined;
    if (h?.backend !== NAME || e === undefined || e.handle !== h) throw new ComputeArgumentError(kernel, `${name} is not a live ${NAME} buffer`);
    return e.bytes;
  }

  /** Kernel inputs: host arrays as they are, device buffers as views of device memory. */
  #resolve = (kernel: string, name: string, arg: unknown, count: number): Float32Array => {
    if (arg instanceof Float32Array) {
      if (arg.length < count) throw new ComputeArgumentError(kernel, `${name} too short`);
      return arg;
    }
    const bytes = this.#bytes(kernel, name, arg);
    if (bytes.byteLength < count * 4) throw new ComputeArgumentError(kernel, `${name} buffer too small`);
    return new Float32Array(bytes, 0, count);
  };

  createBuffer(byteLength: number): DeviceBuffer {
    requireInt('createBuffer', 'byteLength', byteLength, 1, this.capabilities.maxBufferBytes);
    const handle = Object.freeze({ backend: NAME, id: this.#next++, byteLength });
    this.#mem.set(handle.id, { handle, bytes: new ArrayBuffer(byteLength) });
    return handle;
  }

  async upload(dst: DeviceBuffer, src: ArrayBufferView, off = 0): Promise<void> {
    const bytes = this.#bytes('upload', 'dst', dst);
    requireInt('upload', 'dstOffsetBytes', off, 0);
    if (off + src.byteLength > bytes.byteLength) throw new ComputeArgumentError('upload', 'out of range');
    new Uint8Array(bytes, off, src.byteLength).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
  }

  async download(src: DeviceBuffer, dst: ArrayBufferView, off = 0): Promise<void> {
    const bytes = this.#bytes('download', 'src', src);
    requireInt('download', 'srcOffsetBytes', off, 0);
    if (off + dst.byteLength > bytes.byteLength) throw new ComputeArgumentError('download', 'out of range');
    new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(new Uint8Array(bytes, off, dst.byteLength));
  }

  freeBuffer(buffer: DeviceBuffer): void {
    this.#bytes('freeBuffer', 'buffer', buffer);
    this.#mem.delete(buffer.id);
  }

  async patternScores(args: PatternScoresArgs): Promise<PatternScoresResult> {
    const p = preparePatternScores(args, this.#resolve);
    const { storedCount: K, dim: D, queryCount: B, topK } = p;
    const centre = (raw: Float32Array, off: number): Float32Array | undefined => {
      const scale = pow2Scale(raw, off, D);
      const x = raw.subarray(off, off + D).map((v) => f(v * scale));
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < D; i++) {
        s = f(s + x[i]);
        s2 = f(s2 + f(x[i] * x[i]));
      }
      if (!Number.isFinite(s) || !Number.isFinite(s2)) return undefined;
      const m = f(s / D);
      const c = new Float32Array(D);
      let ss = 0;
      for (let i = 0; i < D; i++) {
        c[i] = f(x[i] - m);
        ss = f(ss + f(c[i] * c[i]));
      }
      // float32 centring leaves round-off variance on a constant window: treat it as zero.
      if (!(ss > 1e-10 * s2)) return undefined;
      const inv = f(1 / f(Math.sqrt(ss)));
      for (let i = 0; i < D; i++) c[i] = f(c[i] * inv);
      return c;
    };
    const qs = Array.from({ length: B }, (_, b) => centre(p.queries, b * D));
    const ss = Array.from({ length: K }, (_, k) => centre(p.stored, k * D));
    const all = new Float32Array(B * K);
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < K; k++) {
        const q = qs[b];
        const s = ss[k];
        let dot = 0;
        if (q && s) for (let i = 0; i < D; i++) dot = f(dot + f(q[i] * s[i]));
        all[b * K + k] = Math.max(-1, Math.min(1, dot));
      }
    }
    const indices = p.out?.indices ?? new Int32Array(B * topK);
    const scores = p.out?.scores ?? new Float32Array(B * topK);
    for (let b = 0; b < B; b++) {
      const order = Array.from({ length: K }, (_, k) => k).sort((x, y) => all[b * K + y] - all[b * K + x] || x - y);
      for (let r = 0; r < topK; r++) {
        indices[b * topK + r] = order[r];
        scores[b * topK + r] = all[b * K + order[r]];
      }
    }
    return p.returnAllScores ? { indices, scores, allScores: all } : { indices, scores };
  }

  async rollingMoments(args: RollingMomentsArgs): Promise<RollingMomentsResult> {
    const p = prepareRollingMoments(args, this.#resolve);
    const mean = p.out?.mean ?? new Float32Array(p.outputs);
    const variance = p.out?.variance ?? new Float32Array(p.outputs);
    const W = p.window;
    for (let i = 0; i < p.outputs; i++) {
      let bad = false;
      for (let j = i; j < i + W; j++) if (!Number.isFinite(p.series[j])) bad = true;
      if (bad) {
        mean[i] = variance[i] = Number.NaN;
        continue;
      }
      const scale = pow2Scale(p.series, i, W);
      const x = (j: number): number => f(p.series[i + j] * scale);
      const m = f(sumF32(W, x) / W);
      const v = sumF32(W, (j) => {
        const d = f(x(j) - m);
        return f(d * d);
      });
      // Back to the values' own scale (powers of two: exact unless the result leaves float32's range).
      mean[i] = m / scale;
      variance[i] = f(v / W) / scale / scale;
    }
    return { mean, variance };
  }

  async sgemm(args: SgemmArgs): Promise<void> {
    const same = (x: unknown, y: unknown): boolean => !(x instanceof Float32Array) && x === y;
    const { m, n, k, alpha, beta, a, b, c } = prepareSgemm(args, this.#resolve, same);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        if (alpha !== 0) for (let q = 0; q < k; q++) s = f(s + f(a[i * k + q] * b[q * n + j]));
        c[i * n + j] = beta === 0 ? f(alpha * s) : f(f(alpha * s) + f(beta * c[i * n + j]));
      }
    }
  }

  async monteCarloVaR(args: MonteCarloVaRArgs): Promise<MonteCarloVaRResult> {
    const p = prepareMonteCarloVaR(args);
    const F = p.factors;
    const v = new Float32Array(F);
    let drift = 0;
    for (let a = 0; a < p.assets; a++) {
      drift = f(drift + f(p.weights[a] * p.means[a]));
      for (let j = 0; j < F; j++) v[j] = f(v[j] + f(p.weights[a] * p.factor[a * F + j]));
    }
    drift = f(drift * p.horizon);
    const losses = new Float32Array(p.paths);
    const x = new Uint32Array(4);
    const twoPi = f(2 * Math.PI);
    const scale = 2 ** -32;
    for (let path = 0; path < p.paths; path++) {
      let acc = 0;
      for (let t = 0; t < p.horizon; t++) {
        for (let j = 0; j < F; j++) {
          if (j % 4 === 0) philox4x32(path, t, j / 4, 0, p.seedLo, p.seedHi, x);
          const h = (j & 3) >> 1;
          const u1 = f(f(f(x[2 * h]) + 0.5) * scale);
          const u2 = f(f(f(x[2 * h + 1]) + 0.5) * scale);
          const r = f(Math.sqrt(f(-2 * f(Math.log(u1)))));
          const ang = f(twoPi * u2);
          const z = f(r * f((j & 1) === 0 ? Math.cos(ang) : Math.sin(ang)));
          acc = f(acc + f(v[j] * z));
        }
      }
      losses[path] = f(-f(drift + acc));
    }
    let s = 0;
    for (const l of losses) s = f(s + l);
    const meanLoss = f(s / p.paths);
    let ss = 0;
    for (const l of losses) ss = f(ss + f(f(l - meanLoss) ** 2));
    losses.sort();
    const idx = Math.ceil(p.confidence * p.paths) - 1;
    let tail = 0;
    for (let i = idx; i < p.paths; i++) tail = f(tail + losses[i]);
    return { var: losses[idx], cvar: f(tail / (p.paths - idx)), meanLoss, stdLoss: f(Math.sqrt(f(ss / p.paths))), paths: p.paths };
  }

  async copy(src: DeviceBuffer, dst: DeviceBuffer, byteLength: number): Promise<void> {
    const s = this.#bytes('copy', 'src', src);
    const d = this.#bytes('copy', 'dst', dst);
    if (src === dst) throw new ComputeArgumentError('copy', 'src and dst must differ');
    requireInt('copy', 'byteLength', byteLength, 1, Math.min(s.byteLength, d.byteLength));
    new Uint8Array(d, 0, byteLength).set(new Uint8Array(s, 0, byteLength));
  }

  async noop(): Promise<void> {}

  async dispose(): Promise<void> {
    this.#mem.clear();
  }
}

const provider: ComputeBackendProvider = {
  name: NAME,
  priority: 1,
  probe: async () => ({ available: true, device: { name: 'float32 simulator', type: 'virtual-gpu' } }),
  create: async () => new Float32Device(),
};

describeComputeConformance('simulated float32 device', () => provider);
