// patternScores writes indices and scores into the caller's out arrays: two views of the same
// bytes would hand back the scores' float bits as indices (outside [0, storedCount)). The oracle
// (and every backend through core's preparePatternScores or the same rule) rejects overlapping
// out arrays with a ComputeArgumentError; the conformance suite checks it for every backend.
import { describe, expect, it } from 'vitest';
import { ComputeArgumentError, type PatternScoresArgs } from '../contracts/compute.js';
import { JsComputeBackend } from './js-backend.js';

const K = 8, D = 4, B = 2, topK = 3;
const stored = new Float32Array(K * D).map((_, i) => Math.sin(i));
const queries = new Float32Array(B * D).map((_, i) => Math.cos(i));
const args = (out: PatternScoresArgs['out']): PatternScoresArgs => ({ stored, storedCount: K, dim: D, queries, queryCount: B, topK, out });

describe('patternScores: out.indices and out.scores must not share bytes', () => {
  const n = B * topK;
  for (const [label, scoresByte] of [['the same bytes', 0], ['scores starting inside indices', 4 * (n - 1)]] as const) {
    it(`rejects ${label}, sync and async`, async () => {
      const be = new JsComputeBackend();
      const bytes = new ArrayBuffer(scoresByte + 4 * n);
      const out = { indices: new Int32Array(bytes, 0, n), scores: new Float32Array(bytes, scoresByte, n) };
      expect(() => be.sync.patternScores(args(out))).toThrow(ComputeArgumentError);
      expect(() => be.sync.patternScores(args(out))).toThrow(/out\.indices and out\.scores overlap/);
      await expect(be.patternScores(args(out))).rejects.toThrow(/out\.indices and out\.scores overlap/);
    });
  }

  it('accepts both in one buffer side by side, and fills them as without out', () => {
    const be = new JsComputeBackend();
    const bytes = new ArrayBuffer(8 * n);
    const out = { indices: new Int32Array(bytes, 0, n), scores: new Float32Array(bytes, 4 * n, n) };
    const got = be.sync.patternScores(args(out));
    const want = be.sync.patternScores(args(undefined));
    expect(got.indices).toBe(out.indices);
    expect(Array.from(out.indices)).toEqual(Array.from(want.indices));
    expect(Array.from(out.scores)).toEqual(Array.from(want.scores));
  });
});
