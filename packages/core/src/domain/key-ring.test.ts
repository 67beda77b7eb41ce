import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyRing } from './key-ring.js';

describe('KeyRing', () => {
  it('is a FIFO of keys (and times) through growth and wrap-around, for any pushes and shifts', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 1, max: 40 }), fc.array(fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 1e6 }) }, { weight: 2, arbitrary: fc.constant(-1) }), { maxLength: 300, size: 'max' }), (timed, initial, ops) => {
        const ring = new KeyRing<string>({ initial, timed });
        const model: [string, number][] = [];
        let n = 0;
        for (const op of ops) {
          if (op === -1) {
            if (model.length === 0) continue;
            if (timed) expect(ring.oldestAt()).toBe(model[0]![1]);
            expect(ring.shift()).toBe(model.shift()![0]);
          } else {
            const key = `k${n++}`;
            ring.push(key, op);
            model.push([key, op]);
          }
          expect(ring.size).toBe(model.length);
        }
        while (model.length > 0) expect(ring.shift()).toBe(model.shift()![0]);
      }),
      { numRuns: 500 },
    );
  });
});
