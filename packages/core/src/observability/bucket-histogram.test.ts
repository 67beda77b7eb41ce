import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BucketHistogram } from './bucket-histogram.js';

const BUCKETS = [1e-5, 2.5e-5, 5e-5, 1e-4, 1e-3, 0.1, 1];

type Op = { op: 'observe'; series: number; value: number } | { op: 'labels'; series: number } | { op: 'reset' };

/** prom-client's Histogram and ours, same config, each in a registry of its own. */
function pair(labelNames: string[]) {
  const theirs = new Registry();
  const ours = new Registry();
  const p = new Histogram({ name: 'h_seconds', help: 'a histogram', labelNames, buckets: BUCKETS, registers: [theirs] });
  const b = new BucketHistogram({ name: 'h_seconds', help: 'a histogram', labelNames, buckets: BUCKETS, registers: [ours] });
  return { theirs, ours, p, b };
}

const valueArb = fc.oneof(fc.constantFrom(...BUCKETS, 0, -1, 5, 1e300), fc.double({ min: -1, max: 2, noNaN: true }));

describe('BucketHistogram', () => {
  it('gives prom-client exposition text and JSON exactly, for any observations, label sets and resets', async () => {
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 8, arbitrary: fc.record({ op: fc.constant('observe' as const), series: fc.nat({ max: 3 }), value: valueArb }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('labels' as const), series: fc.nat({ max: 3 }) }) },
      { weight: 1, arbitrary: fc.constant({ op: 'reset' as const }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<string[]>([], ['exchange'], ['backend', 'kernel']), fc.array(opArb, { maxLength: 60, size: 'max' }), fc.boolean(), async (labelNames, ops, defaultLabels) => {
        const { theirs, ours, p, b } = pair(labelNames);
        if (defaultLabels) for (const r of [theirs, ours]) r.setDefaultLabels({ shard: 'a' });
        const values = (k: number) => labelNames.map((n, i) => `${n}-${k}-${i}`);
        for (const o of ops) {
          if (o.op === 'reset') {
            p.reset();
            b.reset();
          } else if (o.op === 'labels') {
            // a child resolved but not observed is not exposed
            if (labelNames.length > 0) {
              p.labels(...values(o.series));
              b.labels(...values(o.series));
            }
          } else if (labelNames.length === 0) {
            p.observe(o.value);
            b.observe(o.value);
          } else {
            p.labels(...values(o.series)).observe(o.value);
            b.labels(...values(o.series)).observe(o.value);
          }
        }
        expect(await ours.metrics()).toBe(await theirs.metrics());
        expect(await ours.getMetricsAsJSON()).toStrictEqual(await theirs.getMetricsAsJSON());
      }),
      { numRuns: 400 },
    );
  });

  it('refuses what prom-client refuses: non-finite values, a wrong number of label values, an le label', () => {
    const { p, b } = pair(['exchange']);
    for (const v of [Number.NaN, Infinity, -Infinity]) {
      expect(() => p.labels('x').observe(v)).toThrow(TypeError);
      expect(() => b.labels('x').observe(v)).toThrow(TypeError);
    }
    expect(() => b.labels()).toThrow(/1 label values expected/);
    expect(() => b.observe(1)).toThrow(/has labels/);
    expect(() => new BucketHistogram({ name: 'x', help: 'x', labelNames: ['le'], buckets: BUCKETS })).toThrow(/reserved/);
    expect(() => new BucketHistogram({ name: 'x', help: 'x', buckets: [1, 1] })).toThrow(RangeError);
  });

  it('a series kept by the caller keeps counting after a reset and is exposed again', async () => {
    const { ours, b } = pair(['exchange']);
    const s = b.labels('sim');
    s.observe(0.5);
    b.reset();
    expect(await ours.metrics()).not.toContain('h_seconds_count{exchange="sim"}');
    s.observe(2e-5);
    expect(await ours.metrics()).toMatch(/^h_seconds_count\{exchange="sim"\} 1$/m);
    expect(await ours.metrics()).toMatch(/^h_seconds_bucket\{le="0.000025",exchange="sim"\} 1$/m);
  });
});
