import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BoundedIdMap, BoundedIdSet } from './bounded-ids.js';

/** The obvious model: ids in the order first added, the oldest dropped past the capacity. */
class WindowModel {
  readonly ids: string[] = [];
  readonly values = new Map<string, number>();
  constructor(private readonly capacity: number) {}
  add(id: string, value = 0): boolean {
    if (this.values.has(id)) {
      this.values.set(id, value);
      return false;
    }
    this.ids.push(id);
    this.values.set(id, value);
    if (this.ids.length > this.capacity) this.values.delete(this.ids.shift()!);
    return true;
  }
}

// few distinct ids, so re-adds of held and of forgotten ids are common
const id = fc.integer({ min: 0, max: 40 }).map((n) => `id-${n}`);

describe('BoundedIdSet', () => {
  it('forgets the oldest ids past its capacity and says when an id was already there', () => {
    const s = new BoundedIdSet(3);
    expect(s.add('a')).toBe(true);
    expect(s.add('a')).toBe(false);
    s.add('b');
    s.add('c');
    expect(s.add('a')).toBe(false); // a re-add does not make 'a' younger
    s.add('d');
    expect(s.size).toBe(3);
    expect([s.has('a'), s.has('b'), s.has('c'), s.has('d')]).toEqual([false, true, true, true]);
    expect(s.add('a')).toBe(true); // forgotten, so new again
    expect(s.has('b')).toBe(false);
  });

  it('answers as the model over any sequence of adds and lookups, through the ring growing and wrapping', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.tuple(fc.boolean(), id), { maxLength: 400 }), (capacity, ops) => {
        const s = new BoundedIdSet(capacity);
        const model = new WindowModel(capacity);
        for (const [isAdd, x] of ops) {
          if (isAdd) expect(s.add(x)).toBe(model.add(x));
          else expect(s.has(x)).toBe(model.values.has(x));
          expect(s.size).toBe(model.ids.length);
        }
        for (let n = 0; n <= 40; n++) expect(s.has(`id-${n}`)).toBe(model.values.has(`id-${n}`));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const c of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => new BoundedIdSet(c)).toThrow(RangeError);
  });
});

describe('BoundedIdMap', () => {
  it('answers as the model: values, sizes and insertion-order iteration, a re-set key keeping its place', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.tuple(fc.boolean(), id, fc.integer()), { maxLength: 400 }), (capacity, ops) => {
        const m = new BoundedIdMap<string, number>(capacity);
        const model = new WindowModel(capacity);
        for (const [isSet, x, v] of ops) {
          if (isSet) {
            m.set(x, v);
            model.add(x, v);
          } else {
            expect(m.get(x)).toBe(model.values.get(x));
            expect(m.has(x)).toBe(model.values.has(x));
          }
          expect(m.size).toBe(model.ids.length);
        }
        expect([...m.values()]).toEqual(model.ids.map((k) => model.values.get(k)));
      }),
      { numRuns: 300 },
    );
  });
});
