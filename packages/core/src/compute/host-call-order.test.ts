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

  it('an input partly written by a call in flight: those bytes are taken once it completed, the rest of the same input as it was when called', async () => {
    // Byte-precise: the compute contract has the bytes a pending call writes read at the call's
    // turn; the conformance suite does not hold the rest of such an input (CPU SIMD reads it
    // whole at the turn), so this is checked here, for the backends that use this class.
    const order = new HostArrayCallOrder();
    const whole = new Float32Array([1, 2, 3, 4]);
    const first = deferred();
    const a = order.submit('k1', [], [whole.subarray(0, 2)], async () => {
      await first.done;
      whole.set([5, 6]);
    });
    let seen: number[] | undefined;
    const b = order.submit('k2', [{ name: 'b', view: whole }], [], async (inputs) => {
      seen = [...(inputs[0] as Float32Array)];
    });
    whole.fill(-1, 2); // after the call, in bytes no call in flight writes
    first.finish();
    await Promise.all([a, b]);
    expect(seen).toEqual([5, 6, 3, 4]);
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

describe('HostArrayCallOrder: inputs of a call that waited', () => {
  it('a Float64Array read reaches launch() as a Float64Array with the same values when the call had to wait (as it does when it did not)', async () => {
    const order = new HostArrayCallOrder();
    // A third-party float64 backend (rollingMoments64 over prices): an earlier call writes `out`,
    // a later one reads `series` only; it waits because a call is waiting ahead of it.
    const out = new Float64Array(2);
    const series = Float64Array.of(101.25, 101.5, 101.75);
    const first = deferred();
    void order.submit('rollingMoments64', [], [out], async () => {
      await first.done;
      out.set([1, 2]);
    });
    void order.submit('rollingMoments64', [{ name: 'series', view: out }], [], async () => {});
    let got: ArrayBufferView | undefined;
    const last = order.submit('rollingMoments64', [{ name: 'series', view: series }], [], async (inputs) => {
      got = inputs[0];
    });
    first.finish();
    await last;
    expect(got).toBeInstanceOf(Float64Array);
    expect(Array.from(got as Float64Array)).toEqual([101.25, 101.5, 101.75]);
  });

  it('an Int32Array read likewise keeps its type when the call waited', async () => {
    const order = new HostArrayCallOrder();
    const idx = new Int32Array(2);
    const first = deferred();
    void order.submit('k', [], [idx], async () => {
      await first.done;
      idx.set([7, 9]);
    });
    let got: ArrayBufferView | undefined;
    const reader = order.submit('k', [{ name: 'indices', view: idx }], [], async (inputs) => {
      got = inputs[0];
    });
    first.finish();
    await reader;
    expect(got).toBeInstanceOf(Int32Array);
    expect(Array.from(got as Int32Array)).toEqual([7, 9]);
  });
});
