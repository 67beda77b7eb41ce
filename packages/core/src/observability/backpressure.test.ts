import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { SpscRing } from '../microstructure/ring-buffer.js';
import { BackpressureMonitor } from './backpressure.js';
import { createLogger } from './logger.js';
import { MetricsRegistry } from './metrics.js';

/** A monitor on a manual clock: the test says when each sample runs; no timer is started. */
function setup(opts: { budgetMs?: number; recoverAfterMs?: number } = {}) {
  let t = 1000;
  /** Event-loop utilization since the previous sample, as the test says. */
  const load = { busy: 1 };
  const lines: { level: number; msg: string }[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).trim().split('\n')) lines.push(JSON.parse(l));
      cb();
    },
  });
  const logger = createLogger({ level: 'info', destination: dest, pretty: false });
  const metrics = new MetricsRegistry({ processMetrics: false });
  const mon = new BackpressureMonitor({ budgetMs: opts.budgetMs ?? 10, metrics, logger, now: () => t, busy: () => load.busy, sampleEveryMs: 10, recoverAfterMs: opts.recoverAfterMs ?? 500 });
  /** Runs a sample `lateMs` after it was due (the next is due 10 ms after this one). */
  const sampleLate = (lateMs: number) => {
    t += 10 + lateMs;
    mon.sample();
  };
  const gauge = async (name: string, labels = '') => {
    const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(await metrics.text());
    return m ? Number(m[1]) : undefined;
  };
  const flushLog = () => new Promise((r) => setImmediate(r));
  return { mon, metrics, lines, sampleLate, gauge, flushLog, load, advance: (ms: number) => (t += ms) };
}

describe('BackpressureMonitor', () => {
  it('measures how late its timer fires, and reports the largest lag of the last second in cwts_event_loop_lag_seconds', async () => {
    const { mon, sampleLate, gauge } = setup();
    mon.sample(); // first sample: nothing to compare with
    expect(mon.lastLagMs).toBe(0);
    sampleLate(3);
    expect(mon.lastLagMs).toBe(3);
    sampleLate(7);
    sampleLate(1);
    expect(await gauge('cwts_event_loop_lag_seconds')).toBeCloseTo(0.007, 9);
    // Two seconds of punctual samples later the 7 ms spike has left the window.
    for (let i = 0; i < 200; i++) sampleLate(0);
    expect(await gauge('cwts_event_loop_lag_seconds')).toBe(0);
    expect(mon.active).toBe(false);
  });

  it('starts an episode when the lag exceeds the budget twice in a row, warns once, and ends it only after the lag stayed within the budget for the recovery time', async () => {
    const { mon, lines, sampleLate, gauge, flushLog } = setup({ budgetMs: 10, recoverAfterMs: 500 });
    mon.sample();
    sampleLate(10); // at the budget, not over it
    sampleLate(10);
    expect(mon.active).toBe(false);
    sampleLate(60); // one stall (a GC pause) alone is not back-pressure
    sampleLate(0);
    expect(mon.active).toBe(false);
    sampleLate(11);
    expect(mon.active).toBe(false);
    sampleLate(25); // the second late sample in a row
    expect(mon.active).toBe(true);
    expect(await gauge('cwts_backpressure')).toBe(1);
    // Still lagging: no second warning.
    sampleLate(40);
    sampleLate(12);
    mon.noteRefused();
    mon.noteRefused();
    // Within the budget for under 500 ms (29 steps of 13-20 ms), then one sample over it: the recovery clock starts again.
    for (let i = 0; i < 30; i++) sampleLate(i % 2 ? 10 : 3);
    sampleLate(11);
    expect(mon.active).toBe(true);
    // Within the budget (at it counts) for 490 ms: still in the episode; one more step makes 500 ms.
    sampleLate(10);
    for (let i = 0; i < 49; i++) sampleLate(0);
    expect(mon.active).toBe(true);
    sampleLate(0);
    expect(mon.active).toBe(false);
    expect(await gauge('cwts_backpressure')).toBe(0);
    await flushLog();
    const warns = lines.filter((l) => l.level === 40);
    expect(warns).toHaveLength(1);
    expect(warns[0]!.msg).toMatch(/^back-pressure: event-loop lag 25\.0 ms over the 10 ms budget \(\[performance\] max_latency_ms\).*BACKPRESSURE/);
    const over = lines.filter((l) => l.level === 30 && /back-pressure over/.test(l.msg));
    expect(over).toHaveLength(1);
    expect(over[0]!.msg).toMatch(/peak lag 40 ms, 2 order\(s\) refused/);
    expect(mon.episodes).toBe(1);
  });

  it('a late timer on an idle thread (the host did not schedule us) is not back-pressure, and does not hold an episode open', () => {
    const { mon, sampleLate, load } = setup({ budgetMs: 10, recoverAfterMs: 100 });
    mon.sample();
    load.busy = 0.2;
    for (let i = 0; i < 20; i++) sampleLate(40);
    expect(mon.active).toBe(false);
    expect(mon.lastLagMs).toBe(40); // still measured and shown in cwts_event_loop_lag_seconds
    load.busy = 0.9;
    sampleLate(40);
    sampleLate(40);
    expect(mon.active).toBe(true);
    // Starved but idle from here: the queue is empty, the episode ends after the recovery time.
    load.busy = 0.1;
    for (let i = 0; i < 2; i++) sampleLate(40);
    expect(mon.active).toBe(true);
    for (let i = 0; i < 2; i++) sampleLate(40);
    expect(mon.active).toBe(false);
  });

  it('a spike during recovery restarts the recovery clock; a second episode warns again', () => {
    const { mon, lines, sampleLate } = setup({ budgetMs: 10, recoverAfterMs: 100 });
    mon.sample();
    sampleLate(50);
    sampleLate(50);
    for (let i = 0; i < 5; i++) sampleLate(0);
    sampleLate(12); // over the budget again (one sample: no new episode, but not calm): restarts
    for (let i = 0; i < 9; i++) sampleLate(0);
    expect(mon.active).toBe(true);
    sampleLate(0);
    sampleLate(0);
    expect(mon.active).toBe(false);
    sampleLate(11);
    sampleLate(11);
    expect(mon.active).toBe(true);
    expect(mon.episodes).toBe(2);
    return new Promise<void>((r) =>
      setImmediate(() => {
        expect(lines.filter((l) => l.level === 40)).toHaveLength(2);
        r();
      }),
    );
  });

  it('a feed ring over its high-water mark is back-pressure too, visible per exchange in cwts_ring_fill_ratio', async () => {
    const { mon, sampleLate, gauge, lines, flushLog } = setup({ recoverAfterMs: 50 });
    const ring = SpscRing.create(16, 8);
    const words = new Int32Array(16 * 2);
    const consume = (n: number) => {
      expect(ring.read(words, 0, n)).toBe(n);
      ring.flushRelease();
    };
    const off = mon.watchRing('binance', () => ring.size() / ring.capacity);
    mon.sample();
    expect(ring.write(words, 0, 8)).toBe(8);
    sampleLate(0);
    expect(await gauge('cwts_ring_fill_ratio', '{exchange="binance"}')).toBe(0.5);
    expect(mon.active).toBe(false); // at the mark, not over
    expect(ring.write(words, 0, 1)).toBe(1);
    sampleLate(0);
    expect(mon.active).toBe(true);
    await flushLog();
    expect(lines.find((l) => l.level === 40)!.msg).toMatch(/binance feed ring 56 % full \(high-water 50 %\)/);
    // Drained to 5/16 (over the 25 % low-water mark): still in the episode.
    consume(4);
    for (let i = 0; i < 10; i++) sampleLate(0);
    expect(mon.active).toBe(true);
    consume(1);
    for (let i = 0; i < 6; i++) sampleLate(0);
    expect(mon.active).toBe(false);
    off();
    expect(await gauge('cwts_ring_fill_ratio', '{exchange="binance"}')).toBeUndefined();
  });

  it('refuses a budget that is not positive', () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    expect(() => new BackpressureMonitor({ budgetMs: 0, metrics, logger: createLogger({ level: 'silent' }) })).toThrow(/budget must be > 0/);
  });
});
