import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { DeferredLog } from './deferred-log.js';
import { createLogger, type Logger } from './logger.js';

function capture(level = 'info') {
  const msgs: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).trim().split('\n')) msgs.push((JSON.parse(l) as { msg: string }).msg);
      cb();
    },
  });
  return { msgs, logger: createLogger({ level, destination: dest, pretty: false }) };
}

const line = (logger: Logger, a: string, b: number, c: { n: number }) => logger.info(`${a} ${b} ${c.n}`);

describe('DeferredLog', () => {
  it('writes nothing inside the push, then every line in push order once the queue drains', () => {
    const { msgs, logger } = capture();
    const scheduled: (() => void)[] = [];
    const log = new DeferredLog(logger, 8, (f) => scheduled.push(f));
    let formatted = 0;
    const counting = (l: Logger, a: string, b: number, c: { n: number }) => {
      formatted++;
      line(l, a, b, c);
    };
    log.push(counting, 'signal', 1, { n: 10 });
    log.push(counting, 'fill', 2, { n: 20 });
    expect(formatted).toBe(0);
    expect(log.pending).toBe(2);
    expect(scheduled).toHaveLength(1); // one drain per batch, not per line
    scheduled[0]!();
    expect(formatted).toBe(2);
    return new Promise<void>((r) =>
      setImmediate(() => {
        expect(msgs).toEqual(['signal 1 10', 'fill 2 20']);
        expect(log.pending).toBe(0);
        r();
      }),
    );
  });

  it('drains inline when full, so a flood loses no line and holds no more than its capacity', () => {
    const { msgs, logger } = capture();
    const log = new DeferredLog(logger, 4, () => {});
    for (let i = 0; i < 10; i++) log.push(line, 'x', i, { n: i });
    expect(log.inlineDrains).toBe(2);
    expect(log.pending).toBe(2);
    log.drain();
    return new Promise<void>((r) =>
      setImmediate(() => {
        expect(msgs).toEqual(Array.from({ length: 10 }, (_, i) => `x ${i} ${i}`));
        r();
      }),
    );
  });

  it('a formatter that throws loses its own line only, and says so', () => {
    const { msgs, logger } = capture();
    const log = new DeferredLog(logger, 4, () => {});
    log.push(() => {
      throw new Error('boom');
    }, 0, 0, 0);
    log.push(line, 'after', 1, { n: 1 });
    log.drain();
    expect(log.written).toBe(1);
    return new Promise<void>((r) =>
      setImmediate(() => {
        expect(msgs).toEqual(['a deferred log line failed to format', 'after 1 1']);
        r();
      }),
    );
  });

  it('enabled() follows the logger level, so a silent logger skips the push entirely', () => {
    expect(new DeferredLog(capture('warn').logger).enabled('info')).toBe(false);
    expect(new DeferredLog(capture('info').logger).enabled('info')).toBe(true);
  });
});
