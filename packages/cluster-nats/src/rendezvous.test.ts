import { describe, expect, it } from 'vitest';
import { assignKeys, assignKeysAmong } from './rendezvous.js';

const keys = (n: number) => Array.from({ length: n }, (_, k) => `sim.SYM${k}`);

describe('assignKeys', () => {
  it('every shard gets its share, whatever the hashes say', () => {
    for (const n of [1, 2, 5, 6, 7, 50]) {
      for (const members of [['s1'], ['s1', 's2'], ['s1', 's2', 's3'], ['a', 'b', 'c', 'd']]) {
        const a = assignKeys(keys(n), members);
        expect(a.size).toBe(n);
        const load = members.map((m) => [...a.values()].filter((x) => x === m).length);
        expect(Math.max(...load)).toBeLessThanOrEqual(Math.ceil(n / members.length));
        if (n >= members.length) expect(Math.min(...load)).toBeGreaterThanOrEqual(Math.floor(n / members.length));
      }
    }
  });

  it('the same answer on every shard: independent of list order', () => {
    const k = keys(20);
    expect(assignKeys([...k].reverse(), ['s3', 's1', 's2'])).toEqual(assignKeys(k, ['s1', 's2', 's3']));
  });

  it('a shard leaving moves its keys and few others', () => {
    const k = keys(60);
    const before = assignKeys(k, ['s1', 's2', 's3']);
    const after = assignKeys(k, ['s1', 's2']);
    const moved = k.filter((x) => before.get(x) !== 's3' && before.get(x) !== after.get(x));
    expect(moved.length).toBeLessThan(k.length / 3);
    for (const x of k) expect(after.get(x)).not.toBe('s3');
  });

  it('assigns each key only among the members that list it', () => {
    const k = keys(30);
    const onlyS1 = new Set(k.slice(0, 5));
    const eligible = (key: string) => (onlyS1.has(key) ? ['s1'] : ['s1', 's2', 's3']);
    const out = assignKeysAmong(k, eligible);
    for (const x of onlyS1) expect(out.get(x)).toBe('s1');
    expect(new Set(k.slice(5).map((x) => out.get(x)))).toEqual(new Set(['s1', 's2', 's3']));
    expect(assignKeysAmong(['x'], () => []).has('x')).toBe(false);
  });
});
