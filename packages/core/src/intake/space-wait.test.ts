import { describe, expect, it } from 'vitest';
import { SpscRing } from '../microstructure/ring-buffer.js';
import { ringSpaceWait } from './space-wait.js';

/** A full ring whose consumer frees a quarter of it after `freeAfterSleeps` waits. */
function fullRing() {
  const r = SpscRing.create(16, 16);
  const rec = new Int32Array(4 * 16);
  r.write(rec, 0, 16);
  return r;
}

describe('the intake worker waiting for ring space', () => {
  it('beats by elapsed time: on a starved CPU (each 1 ms wait taking 10 ms) the host still hears a heartbeat every heartbeatMs', () => {
    const r = fullRing();
    let t = 0;
    let sleeps = 0;
    const beats: number[] = [];
    const wait = ringSpaceWait({
      stopping: () => false,
      beat: () => beats.push(t),
      heartbeatMs: 250,
      now: () => t,
      sleep: () => {
        t += 10;
        // the engine frees a quarter of the ring after a second of the worker's waiting
        if (++sleeps === 100) r.read(new Int32Array(4 * 4), 0, 4);
      },
    });
    expect(wait(r)).toBe(true);
    expect(t).toBe(1000);
    // a wait of 1 s with a heartbeat of 250 ms: 4 beats, never a silence longer than heartbeatMs + one wait
    expect(beats).toEqual([250, 500, 750, 1000]);
  });

  it('gives up on stop and on a closed ring, and returns at once when a quarter is free', () => {
    const r = fullRing();
    let stop = false;
    let sleeps = 0;
    const wait = ringSpaceWait({ stopping: () => stop, beat: () => {}, heartbeatMs: 250, now: () => 0, sleep: () => void (++sleeps === 3 && (stop = true)) });
    expect(wait(r)).toBe(false);
    expect(sleeps).toBe(3);
    const closed = fullRing();
    closed.close();
    expect(ringSpaceWait({ stopping: () => false, beat: () => {}, heartbeatMs: 250, now: () => 0, sleep: () => expect.fail('no wait on a closed ring') })(closed)).toBe(false);
    const roomy = SpscRing.create(16, 16);
    expect(ringSpaceWait({ stopping: () => false, beat: () => {}, heartbeatMs: 250, now: () => 0, sleep: () => expect.fail('no wait with room') })(roomy)).toBe(true);
  });

  it('a worker that waits again and again (each wait shorter than heartbeatMs) inside one synchronous burst still beats every heartbeatMs', () => {
    // One socket read handing many frames to the sink synchronously (ws emits them in one tick):
    // the worker's setInterval(beat) cannot run until the burst ends; only the space wait beats.
    const r = SpscRing.create(16, 16);
    const rec = new Int32Array(4 * 16);
    let t = 0;
    const beats: number[] = [];
    let sleepsThisWait = 0;
    const wait = ringSpaceWait({
      stopping: () => false,
      beat: () => beats.push(t),
      heartbeatMs: 250,
      now: () => t,
      sleep: () => {
        t += 10;
        // the engine frees a quarter of the ring after 200 ms of this wait
        if (++sleepsThisWait === 20) r.read(new Int32Array(4 * 4), 0, 4);
      },
    });
    r.write(rec, 0, 16); // full
    for (let k = 0; k < 12; k++) {
      sleepsThisWait = 0;
      expect(wait(r)).toBe(true);
      r.write(rec, 0, 4); // the burst fills the freed quarter at once, and waits again
    }
    expect(t).toBe(2400); // 2.4 s blocked waiting, past the host's hungAfterMs (2000 by default)
    // at least one beat per heartbeatMs of waiting (the single-wait test's promise)
    expect(beats.length).toBeGreaterThanOrEqual(Math.floor(2400 / 250) - 1);
  });
});
