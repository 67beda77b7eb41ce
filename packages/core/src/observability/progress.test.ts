import { describe, expect, it } from 'vitest';
import { createProgress, formatDuration, progressLine } from './progress.js';

function sink() {
  const lines: string[] = [];
  return { lines, stream: { isTTY: false, write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WriteStream };
}

describe('progress', () => {
  it('plain mode writes one line per interval with rate and ETA, on the given stream', () => {
    let t = 0;
    const { lines, stream } = sink();
    const p = createProgress({ label: 'replay', total: 1000, unit: 'events', stream, intervalMs: 1000, now: () => t });
    for (let k = 1; k <= 1000; k++) {
      t = k * 10; // 100 events/s
      p.update(k);
    }
    p.stop();
    // 10 s of work at one line per second, plus the final line.
    expect(lines.length).toBe(11);
    expect(lines[0]).toBe('replay: 10% (100/1000 events, 100 events/s, ETA 9s)\n');
    expect(lines.at(-1)).toBe('replay: 100% (1000/1000 events, 100 events/s, ETA 0s)\n');
  });

  it('short work prints nothing in plain mode, and off mode never prints', () => {
    let t = 0;
    const { lines, stream } = sink();
    const p = createProgress({ label: 'x', total: 10, unit: 'runs', stream, intervalMs: 1000, now: () => t });
    p.increment();
    t = 500;
    p.stop();
    const q = createProgress({ label: 'y', total: 10, unit: 'runs', stream, mode: 'off', now: () => (t += 10_000) });
    q.increment(5);
    q.stop();
    expect(lines).toEqual([]);
  });

  it('formats unknown totals and durations', () => {
    expect(progressLine('fuzz', 'frames', 5000, 0, 2000)).toBe('fuzz: 5000 frames, 2500 frames/s, elapsed 2s');
    expect(formatDuration(3_725_000)).toBe('1h02m');
    expect(formatDuration(Infinity)).toBe('?');
  });
});
