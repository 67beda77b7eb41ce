/**
 * Call order where a backend's calls meet through host arrays, for backends that keep work in
 * flight on a device or in threads (Vulkan, CUDA/ROCm/Metal, a third party's).
 *
 * A device runs submissions in call order, so calls that meet through DeviceBuffers need nothing
 * more. Host arrays are different: a call's host inputs are copied when it is submitted (it
 * computes on what they held then), and its host outputs (`out` arrays, sgemm's host `c`,
 * download's destination) are written when it completes. Un-awaited, a second call that reads an
 * array the first one writes (`sgemm(c: tmp)` then `sgemm(a: tmp)`, or two `sgemm(c += A B)` on
 * one host `c`) would be submitted before the first one's results reach the array and compute on
 * stale data, where the contract says two async calls behave as if run one after the other
 * (docs/writing-a-compute-backend.md, "Order"). And two calls writing the same bytes, whose
 * completions may land in either order (worker threads), must leave the later call's result.
 *
 * So such a call waits for its turn: it takes its inputs when called, as every call does, but
 * the bytes that an earlier call still in flight writes it takes once that call has completed
 * (and written them); a call writing bytes an earlier call in flight writes waits for that one
 * to complete; only then is it submitted. Every call made while one waits queues behind it, so
 * submissions stay in call order. Calls that meet no pending host write go straight on: the wait
 * costs only the calls that need it.
 */
import { ComputeArgumentError } from '../contracts/compute.js';

/** A host array a call reads, by the argument name errors use. */
export interface HostRead {
  readonly name: string;
  /** A view over exactly the bytes the call may read. */
  readonly view: ArrayBufferView;
}

/** Bytes of a host array that a call in flight writes when it completes. */
interface PendingHostWrite {
  readonly start: number;
  readonly end: number;
}

/** Bytes of a read that a call in flight writes, relative to the read's view. */
interface LateBytes {
  readonly read: number;
  readonly start: number;
  readonly end: number;
}

const ignore = (): void => {};

/** See the file comment. One per backend instance; `submit` every call that touches host arrays. */
export class HostArrayCallOrder {
  /** Pending host writes by the ArrayBuffer (or SharedArrayBuffer) they land in. */
  private readonly writes = new Map<ArrayBufferLike, Map<PendingHostWrite, Promise<void>>>();
  /** Settles once every waiting call has been submitted. */
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  /**
   * Submits one call in call order. `launch(inputs)` records and submits it, `inputs` standing
   * for `reads` (the same arrays, or copies of them when the call had to wait); `writes` are
   * views over the bytes of host arrays the call writes when it completes.
   */
  submit<T>(
    kernel: string,
    reads: readonly HostRead[],
    writes: readonly ArrayBufferView[],
    launch: (inputs: readonly ArrayBufferView[]) => Promise<T>,
  ): Promise<T> {
    const waitFor: Promise<void>[] = [];
    const late: LateBytes[] = [];
    reads.forEach(({ view }, read) => {
      for (const [w, done] of this.writes.get(view.buffer) ?? []) {
        const start = Math.max(w.start, view.byteOffset);
        const end = Math.min(w.end, view.byteOffset + view.byteLength);
        if (start >= end) continue;
        waitFor.push(done);
        late.push({ read, start: start - view.byteOffset, end: end - view.byteOffset });
      }
    });
    // Writes after writes: the earlier call's result must not land after this one's.
    for (const view of writes) {
      for (const [w, done] of this.writes.get(view.buffer) ?? []) {
        if (Math.max(w.start, view.byteOffset) < Math.min(w.end, view.byteOffset + view.byteLength)) waitFor.push(done);
      }
    }
    let result: Promise<T>;
    if (waitFor.length === 0 && this.waiting === 0) {
      result = launch(reads.map((r) => r.view));
    } else {
      result = this.wait(kernel, reads, late, waitFor, launch);
    }
    const done = result.then(ignore, ignore);
    for (const view of writes) {
      if (view.byteLength === 0) continue;
      const entry: PendingHostWrite = { start: view.byteOffset, end: view.byteOffset + view.byteLength };
      let pending = this.writes.get(view.buffer);
      if (!pending) this.writes.set(view.buffer, (pending = new Map()));
      pending.set(entry, done);
      const buffer = view.buffer;
      void done.then(() => {
        const p = this.writes.get(buffer);
        p?.delete(entry);
        if (p && p.size === 0) this.writes.delete(buffer);
      });
    }
    return result;
  }

  /** Runs `fn` now when no call is waiting, else once every call made before it was submitted. */
  afterWaitingCalls(fn: () => void): void {
    if (this.waiting === 0) fn();
    else void this.tail.then(fn);
  }

  private wait<T>(
    kernel: string,
    reads: readonly HostRead[],
    late: readonly LateBytes[],
    waitFor: readonly Promise<void>[],
    launch: (inputs: readonly ArrayBufferView[]) => Promise<T>,
  ): Promise<T> {
    // What the inputs hold now, as for a call recorded at once; the late bytes are taken below.
    const inputs = reads.map(({ view }) => copyOf(view));
    this.waiting++;
    const submitted = Promise.all([this.tail, ...waitFor]).then(() => {
      for (const { read, start, end } of late) {
        const { name, view } = reads[read];
        if (view.byteLength < end) {
          throw new ComputeArgumentError(
            kernel,
            `${name} was detached or shrank before the call could read it (an earlier call still in flight was to write it)`,
          );
        }
        const into = inputs[read];
        new Uint8Array(into.buffer, into.byteOffset + start, end - start).set(new Uint8Array(view.buffer, view.byteOffset + start, end - start));
      }
      // Wrapped: `submitted` settles when the call is submitted, not when it completes.
      return { completion: launch(inputs) };
    });
    this.tail = submitted.then(
      () => {
        this.waiting--;
      },
      () => {
        this.waiting--;
      },
    );
    return submitted.then((s) => s.completion);
  }
}

/** A copy of a view's bytes in a view of the same type and length (a DataView as one). */
function copyOf(view: ArrayBufferView): ArrayBufferView {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
  if (view instanceof DataView) return new DataView(bytes.buffer);
  const Typed = view.constructor as new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView;
  return new Typed(bytes.buffer, 0, view.byteLength / (view as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT);
}
