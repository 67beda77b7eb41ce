import { describe, expect, it } from 'vitest';
import { SerialReread } from './serial-reread.js';

/** A read that waits until the test lets it end. */
function gatedReads(result: (want: string) => boolean | 'throw' = () => true) {
  const started: string[] = [];
  const gates: (() => void)[] = [];
  const read = async (want: string): Promise<boolean> => {
    started.push(want);
    await new Promise<void>((r) => gates.push(r));
    const out = result(want);
    if (out === 'throw') throw new Error('read failed');
    return out;
  };
  const finishOne = async () => {
    gates.shift()?.();
    for (let k = 0; k < 5; k++) await Promise.resolve();
  };
  return { started, read, finishOne };
}

describe('SerialReread', () => {
  it('runs one read at a time, and one more after it for a burst asked meanwhile (the latest)', async () => {
    const g = gatedReads();
    const r = new SerialReread(g.read);
    r.request('a');
    expect(r.inFlight).toBe(true);
    r.request('b');
    r.request('c');
    r.request('d');
    expect(g.started).toEqual(['a']);
    await g.finishOne();
    expect(g.started).toEqual(['a', 'd']);
    await g.finishOne();
    expect(r.inFlight).toBe(false);
    expect(g.started).toEqual(['a', 'd']);
    r.request('e');
    expect(g.started).toEqual(['a', 'd', 'e']);
    await g.finishOne();
  });

  it('folds requests with merge: a queued "order" is not replaced by a later view', async () => {
    const g = gatedReads();
    const r = new SerialReread(g.read, (queued, want) => (queued === 'order' ? 'order' : want));
    r.request('v1');
    r.request('order');
    r.request('v2');
    await g.finishOne();
    expect(g.started).toEqual(['v1', 'order']);
    await g.finishOne();
  });

  it('a read that returns false drops what was asked meanwhile; a throwing one too, and neither stays busy', async () => {
    for (const how of [false, 'throw'] as const) {
      const g = gatedReads((w) => (w === 'a' ? how : true));
      const r = new SerialReread(g.read);
      r.request('a');
      r.request('b');
      await g.finishOne();
      expect(g.started, String(how)).toEqual(['a']);
      expect(r.inFlight).toBe(false);
      r.request('c');
      expect(g.started).toEqual(['a', 'c']);
      await g.finishOne();
    }
  });
});
