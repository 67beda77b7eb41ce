import { describe, expect, it } from 'vitest';
import { JsComputeBackend } from '../compute/js-backend.js';
import {
  cholesky, computeVaR, historicalVaR, horizonPnl, meanCov, monteCarloVaR, normCdf, normInv, normPdf, parametricVaR, VaRInputError,
} from './var.js';

/** mulberry32 + Box-Muller: a seeded normal source for test data. */
function normals(seed: number) {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u() + 1e-300)) * Math.cos(2 * Math.PI * u());
}

/** T rows of two correlated normal assets: r = mu + L z. */
function sample(T: number, seed: number, mu = [0.0005, -0.0002], s = [0.02, 0.03], rho = 0.4): number[][] {
  const z = normals(seed);
  const rows: number[][] = [];
  for (let t = 0; t < T; t++) {
    const z1 = z();
    const z2 = z();
    rows.push([mu[0] + s[0] * z1, mu[1] + s[1] * (rho * z1 + Math.sqrt(1 - rho * rho) * z2)]);
  }
  return rows;
}

describe('normal distribution helpers', () => {
  it('match reference values', () => {
    expect(normInv(0.975)).toBeCloseTo(1.959963984540054, 13);
    expect(normInv(0.99)).toBeCloseTo(2.3263478740408408, 13);
    expect(normInv(0.5)).toBeCloseTo(0, 15);
    expect(normInv(0.001)).toBeCloseTo(-3.090232306167813, 12);
    expect(normInv(1e-10)).toBeCloseTo(-6.361340902404056, 9);
    expect(normCdf(1.96)).toBeCloseTo(0.9750021048517795, 14);
    expect(normCdf(-4)).toBeCloseTo(3.167124183311992e-5, 17);
    expect(normPdf(0)).toBeCloseTo(0.3989422804014327, 15);
    for (const p of [1e-6, 0.01, 0.3, 0.77, 0.999999]) expect(normCdf(normInv(p))).toBeCloseTo(p, 14);
  });
});

describe('historical VaR', () => {
  it('is the sorted-sample quantile at index ceil(c n) - 1; CVaR the mean from there up', () => {
    // 100 periods of one asset: P&L -1 .. -100 in a shuffled order, weight 1: losses 1..100.
    const rows = Array.from({ length: 100 }, (_, k) => [-(((k * 37) % 100) + 1)]);
    const r = historicalVaR(rows, [1], 0.95);
    expect(r.var).toBe(95); // ceil(95) - 1 = index 94 of 1..100
    expect(r.cvar).toBe((95 + 96 + 97 + 98 + 99 + 100) / 6);
    expect(historicalVaR(rows, [1], 0.951).var).toBe(96); // ceil(95.1) - 1 = 95
    expect(historicalVaR(rows, [2], 0.99).var).toBe(198); // scales with the exposure
  });

  it('agrees with an independent sort on random portfolios', () => {
    const rows = sample(777, 3);
    const w = [1.5, -0.7];
    const losses = rows.map((r) => -(w[0] * r[0] + w[1] * r[1])).sort((a, b) => a - b);
    for (const c of [0.9, 0.95, 0.99, 0.999]) {
      const k = Math.ceil(c * losses.length) - 1;
      const tail = losses.slice(k);
      const r = historicalVaR(rows, w, c);
      expect(r.var).toBeCloseTo(losses[k], 15);
      expect(r.cvar).toBeCloseTo(tail.reduce((a, b) => a + b, 0) / tail.length, 14);
    }
  });

  it('horizon h uses overlapping sums of h periods', () => {
    expect([...horizonPnl([[1], [2], [3], [4]], [1], 2)]).toEqual([3, 5, 7]);
    // P&L 6, 9 -> sorted losses -9, -6: c = 0.5 takes index 0, c = 0.75 index 1.
    expect(historicalVaR([[1], [2], [3], [4]], [1], 0.5, 3).var).toBe(-9);
    expect(historicalVaR([[1], [2], [3], [4]], [1], 0.75, 3).var).toBe(-6);
  });
});

describe('parametric VaR', () => {
  it('equals the closed form from the sample mean and covariance', () => {
    const rows = sample(500, 5);
    const w = [1_000_000, 500_000];
    const { means, cov } = meanCov(rows, 2);
    const mu = w[0] * means[0] + w[1] * means[1];
    const sd = Math.sqrt(w[0] ** 2 * cov[0] + 2 * w[0] * w[1] * cov[1] + w[1] ** 2 * cov[3]);
    const z = 2.3263478740408408;
    const r = parametricVaR(rows, w, 0.99, 4);
    expect(r.var).toBeCloseTo(-4 * mu + z * 2 * sd, 6);
    expect(r.cvar).toBeCloseTo(-4 * mu + (2 * sd * Math.exp(-z * z / 2)) / Math.sqrt(2 * Math.PI) / 0.01, 6);
    // Sample covariance by hand (divisor T - 1) for one entry.
    const m0 = rows.reduce((a, x) => a + x[0], 0) / rows.length;
    const m1 = rows.reduce((a, x) => a + x[1], 0) / rows.length;
    expect(cov[1]).toBeCloseTo(rows.reduce((a, x) => a + (x[0] - m0) * (x[1] - m1), 0) / (rows.length - 1), 15);
  });

  it('historical converges to it on a large normal sample', () => {
    const rows = sample(200_000, 9);
    const h = historicalVaR(rows, [1, 1], 0.99);
    const p = parametricVaR(rows, [1, 1], 0.99);
    expect(Math.abs(h.var - p.var) / p.var).toBeLessThan(0.03);
    expect(Math.abs(h.cvar - p.cvar) / p.cvar).toBeLessThan(0.03);
  });
});

describe('Monte Carlo VaR through the ComputeBackend', () => {
  const backend = new JsComputeBackend({});
  it('converges to the closed form within its standard error, and is reproducible from the seed', async () => {
    const rows = sample(400, 11);
    const w = [1_000_000, 500_000];
    const p = parametricVaR(rows, w, 0.99, 4);
    const mc = await monteCarloVaR(backend, rows, w, 0.99, 4, { paths: 200_000, seed: 424242 });
    expect(mc.method).toBe('montecarlo');
    expect(mc.standardError).toBeGreaterThan(0);
    expect(Math.abs(mc.var - p.var)).toBeLessThan(4 * mc.standardError!);
    expect(Math.abs(mc.cvar - p.cvar)).toBeLessThan(6 * mc.standardError!);
    expect(Math.abs(mc.stdLoss / p.stdLoss - 1)).toBeLessThan(0.01);
    const again = await monteCarloVaR(backend, rows, w, 0.99, 4, { paths: 200_000, seed: 424242 });
    expect(again).toEqual(mc);
    const other = await monteCarloVaR(backend, rows, w, 0.99, 4, { paths: 200_000, seed: 1 });
    expect(other.var).not.toBe(mc.var);
  });

  it('handles a singular covariance (perfectly correlated assets)', async () => {
    const rows = sample(300, 13).map((r) => [r[0], 2 * r[0]]);
    const L = cholesky(meanCov(rows, 2).cov, 2);
    expect(L[3]).toBe(0);
    const p = parametricVaR(rows, [1, 1], 0.95);
    const mc = await monteCarloVaR(backend, rows, [1, 1], 0.95, 1, { paths: 100_000, seed: 2 });
    expect(Math.abs(mc.var - p.var)).toBeLessThan(4 * mc.standardError!);
  });
});

describe('bad inputs', () => {
  it('are clear errors', async () => {
    const rows = [[0.01, 0.02], [0.0, -0.01]];
    expect(() => historicalVaR(rows, [1, 1], 1)).toThrow('confidence must be a number in (0, 1), got 1');
    expect(() => historicalVaR(rows, [1, 1], 0)).toThrow(VaRInputError);
    expect(() => historicalVaR(rows, [1, 1], Number.NaN)).toThrow(VaRInputError);
    expect(() => parametricVaR([[0.01, 0.02], [0.0]], [1, 1], 0.99)).toThrow('row 2 has 1 values, expected 2 (one per weight)');
    expect(() => parametricVaR([[0.01, Number.NaN], [0, 0]], [1, 1], 0.99)).toThrow('row 1, asset 2: NaN is not a finite number');
    expect(() => historicalVaR(rows, [1, 1], 0.99, 0)).toThrow(/horizon must be a whole number/);
    expect(() => historicalVaR(rows, [1, 1], 0.99, 3)).toThrow('historical VaR over 3 periods needs at least 3 rows, got 2');
    expect(() => historicalVaR([], [1], 0.99)).toThrow('no return observations');
    await expect(computeVaR('montecarlo', rows, [1, 1], 0.99)).rejects.toThrow('montecarlo needs a compute backend');
    await expect(computeVaR('nope' as never, rows, [1, 1], 0.99)).rejects.toThrow(/unknown method nope/);
    expect(() => cholesky(new Float64Array([1, 2, 2, 1]), 2)).toThrow('not positive semi-definite');
  });
});
