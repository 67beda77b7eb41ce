import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main.js';
import { parseReturnsCsv, parseWeights, VarCommandError } from './var.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-var-'));
function csv(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Runs the CLI in-process; returns exit code, stdout and stderr. */
async function cli(...args: string[]) {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await main(['node', 'cwts-ultra', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
afterEach(() => vi.restoreAllMocks());

// Losses of the equally weighted portfolio: -(a + b) / 2 per row.
const GOOD = 'BTC,ETH\n0.01,0.03\n-0.02,-0.04\n0.005,0.001\n-0.01,0.002\n0.0,-0.06\n';

describe('cwts-ultra var', () => {
  it('historical, JSON: sorted-sample quantile of the portfolio loss', async () => {
    const r = await cli('var', '--returns', csv('good.csv', GOOD), '--confidence', '0.8', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    // Losses: -0.02, 0.03, -0.003, 0.004, 0.03 -> sorted; ceil(0.8 x 5) - 1 = 3 -> 0.03.
    expect(j).toMatchObject({ method: 'historical', confidence: 0.8, horizon: 1, assets: ['BTC', 'ETH'], weights: [0.5, 0.5], periods: 5, observations: 5 });
    expect(j.var).toBeCloseTo(0.03, 15);
    expect(j.cvar).toBeCloseTo(0.03, 15);
  });

  it('weights by name, parametric and montecarlo, human output', async () => {
    const f = csv('good2.csv', GOOD);
    const p = await cli('var', '--returns', f, '--weights', 'ETH=2,BTC=1', '--method', 'parametric', '--confidence', '0.99');
    expect(p.code).toBe(0);
    expect(p.out).toMatch(/^parametric VaR at 99%, horizon 1 period, 5 periods of 2 assets \(BTC 1, ETH 2\)/);
    expect(p.out).toMatch(/ {2}VaR {3}0\.\d{6}\n {2}CVaR {2}0\.\d{6}/);
    const m1 = await cli('var', '--returns', f, '--method', 'montecarlo', '--paths', '20000', '--seed', '9', '--json');
    const m2 = await cli('var', '--returns', f, '--method', 'montecarlo', '--paths', '20000', '--seed', '9', '--json');
    expect(m1.code).toBe(0);
    expect(JSON.parse(m1.out)).toEqual(JSON.parse(m2.out));
    expect(JSON.parse(m1.out)).toMatchObject({ method: 'montecarlo', paths: 20000, seed: 9 });
  });

  it.each([
    [['--returns', join(dir, 'missing.csv')], /cwts-ultra: --returns: file not found: .*missing\.csv/],
    [['--returns', dir], /is a directory, not a CSV file/],
    [['--returns', 'RAGGED'], /ragged\.csv line 3: 1 value, but the header has 2 columns \(ragged CSV\)/],
    [['--returns', 'NONNUM'], /nonnum\.csv line 2, column ETH: "abc" is not a number/],
    [['--returns', 'EMPTYCELL'], /emptycell\.csv line 2, column BTC: empty cell/],
    [['--returns', 'GOOD', '--confidence', '1'], /--confidence must be a number strictly between 0 and 1 \(e\.g\. 0\.99\), got 1/],
    [['--returns', 'GOOD', '--confidence', '0'], /strictly between 0 and 1/],
    [['--returns', 'GOOD', '--confidence', '99'], /strictly between 0 and 1.*got 99/],
    [['--returns', 'GOOD', '--confidence', 'abc'], /strictly between 0 and 1.*got abc/],
    [['--returns', 'GOOD', '--method', 'magic'], /--method must be one of historical, parametric, montecarlo, got magic/],
    [['--returns', 'GOOD', '--weights', '1,2,3'], /--weights: 3 weights for 2 assets \(BTC, ETH\)/],
    [['--returns', 'GOOD', '--weights', 'BTC=1,SOL=2'], /--weights: no asset SOL in the CSV header/],
    [['--returns', 'GOOD', '--horizon', '0'], /--horizon must be a whole number >= 1, got 0/],
  ])('bad input %j is one clear error, exit 2', async (args, message) => {
    const files: Record<string, string> = {
      RAGGED: csv('ragged.csv', 'BTC,ETH\n0.01,0.02\n0.03\n'),
      NONNUM: csv('nonnum.csv', 'BTC,ETH\n0.01,abc\n0.03,0.01\n'),
      EMPTYCELL: csv('emptycell.csv', 'BTC,ETH\n,0.01\n0.03,0.01\n'),
      GOOD: csv('good3.csv', GOOD),
    };
    const r = await cli('var', ...args.map((a) => files[a] ?? a));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.out).toBe('');
  });

  it('parser details', () => {
    expect(parseReturnsCsv('\uFEFFA, B\r\n1,2\r\n3e-2,-.5\r\n\r\n')).toEqual({ assets: ['A', 'B'], rows: [[1, 2], [0.03, -0.5]] });
    expect(() => parseReturnsCsv('')).toThrow(/empty file/);
    expect(() => parseReturnsCsv('0.1,0.2\n0.3,0.4\n')).toThrow(/first line must be a header of asset names/);
    expect(() => parseReturnsCsv('A,A\n1,2\n3,4')).toThrow(/asset A appears twice/);
    expect(() => parseReturnsCsv('A\n1\n')).toThrow(/1 row of returns; at least 2 are needed/);
    expect(() => parseReturnsCsv('A\n1\n\n2\n')).toThrow(/line 3: blank line between rows/);
    expect(() => parseReturnsCsv('A\n1\nInfinity\n')).toThrow(VarCommandError);
    expect(parseWeights(undefined, ['a', 'b', 'c', 'd'])).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(() => parseWeights('a=1,2', ['a', 'b'])).toThrow(/either all NAME=VALUE pairs or plain values/);
    expect(() => parseWeights('a=1', ['a', 'b'])).toThrow(/no weight for b/);
  });
});
