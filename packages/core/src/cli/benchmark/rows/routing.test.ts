// The "Smart Order Routing" row times each book shape `pnpm bench routing` holds to the goal
// (4 x 20: min notional not binding, binding on 2 venues, at most 2 children) and reports the
// worst: it used to time the cheapest shape alone and say "met" while the child-cap shape missed.
// Structure only, never a speed: whichever shape is slowest on this machine, the row is that one.
import { describe, expect, it } from 'vitest';
import { ROUTING_ROW_SHAPES, measureRouting } from './routing.js';

describe('Smart Order Routing row: the worst of the goal shapes', () => {
  it('times all three shapes and reports the one with the highest p99, by name', async () => {
    const m = await measureRouting({ full: false, scale: 0.005, baseDir: '.', progress: () => {} });
    expect(ROUTING_ROW_SHAPES.map((s) => s.shape)).toEqual(['free', 'min-notional', 'max-children']);
    const p99s = ROUTING_ROW_SHAPES.map((s) => m.figures!.find((f) => f.name === `${s.label} p99`)!.value);
    expect(p99s.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    const worst = p99s.indexOf(Math.max(...p99s));
    expect(Math.round(m.latency.p99)).toBe(p99s[worst]);
    expect(m.what).toContain(`worst p99 of 3 book shapes: ${ROUTING_ROW_SHAPES[worst]!.label}`);
    expect(m.latency.count).toBe(1_000);
  });
});
