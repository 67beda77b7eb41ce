import { describe, expect, it } from 'vitest';

import { HostArrayCallOrder } from './host-call-order.js';

/** A call in flight: its host outputs are written when `finish()` runs (as a device's completion would). */
function deferred() {
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  return { done, finish };
}

describe('HostArrayCallOrder', () => {
  it('a call reading bytes an earlier call in flight writes takes them once it completed; its other inputs as they were when called', async () => {
    const order = new HostArrayCallOrder();
    const tmp = new Float32Array([1, 2, 3, 4]);
    const other = new Float32Array([10]);
    const first = deferred();
    // the first call writes tmp when it completes
    const a = order.submit('k1', [], [tmp], async () => {
      await first.done;
      tmp.set([5, 6, 7, 8]);
    });
    let seen: number[] | undefined;
    const b = order.submit('k2', [{ name: 'a', view: tmp.subarray(1, 3) }, { name: 'b', view: other }], [], async (inputs) => {
      seen = [...(inputs[0] as Float32Array), ...(inputs[1] as Float32Array)];
    });
    other[0] = 99; // after the call: not what it computes on
    await Promise.resolve();
    expect(seen).toBeUndefined();
    first.finish();
    await Promise.all([a, b]);
    expect(seen).toEqual([6, 7, 10]);
  });

  it('a call writing bytes an earlier call in flight writes is submitted after that one completed, so the later result lands last', async () => {
    const order = new HostArrayCallOrder();
    const c = new Float32Array(2);
    const first = deferred();
    const log: string[] = [];
    const a = order.submit('sgemm', [], [c], async () => {
      await first.done;
      c.set([1, 1]);
      log.push('first landed');
    });
    const b = order.submit('sgemm', [], [c.subarray(1)], async () => {
      log.push('second submitted');
      c[1] = 2;
    });
    await Promise.resolve();
    expect(log).toEqual([]);
    first.finish();
    await Promise.all([a, b]);
    expect(log).toEqual(['first landed', 'second submitted']);
    expect([...c]).toEqual([1, 2]);
  });

  it('calls that meet no pending write go straight on, in call order behind a waiting one', async () => {
    const order = new HostArrayCallOrder();
    const x = new Float32Array(1);
    const y = new Float32Array(1);
    const log: string[] = [];
    const slow = deferred();
    void order.submit('k', [], [x], async () => {
      log.push('writes x');
      await slow.done;
    });
    void order.submit('k', [{ name: 'x', view: x }], [], async () => void log.push('reads x'));
    // meets no pending write, but a call made before it waits: it queues behind it
    const last = order.submit('k', [{ name: 'y', view: y }], [], async () => void log.push('reads y'));
    await Promise.resolve();
    expect(log).toEqual(['writes x']);
    slow.finish();
    await last;
    expect(log).toEqual(['writes x', 'reads x', 'reads y']);
    // nothing pending now: submitted at once
    void order.submit('k', [{ name: 'y', view: y }], [], async () => void log.push('at once'));
    expect(log.at(-1)).toBe('at once');
  });
});
