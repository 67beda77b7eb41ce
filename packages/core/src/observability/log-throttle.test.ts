import { describe, expect, it } from 'vitest';
import { LogThrottle } from './log-throttle.js';

describe('LogThrottle', () => {
  it('logs the first of a kind at once, then at most once per window with the count held back; kinds are apart', () => {
    let now = 0;
    const t = new LogThrottle(() => now, 10_000);
    expect(t.take('a')).toBe('');
    expect(t.take('a')).toBeUndefined();
    expect(t.take('b')).toBe('');
    now = 9_999;
    expect(t.take('a')).toBeUndefined();
    now = 10_000;
    expect(t.take('a')).toBe(' (and 2 more like it not logged)');
    now = 30_000;
    expect(t.take('a')).toBe('');
  });
});
