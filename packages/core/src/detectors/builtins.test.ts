import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { JsComputeBackend } from '../compute/js-backend.js';
import { ConfigError } from '../config/errors.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { builtinDetectors, validateBuiltinDetectorSettings } from './builtins.js';

const deps = { backend: new JsComputeBackend(), logger: silentLogger(), clock: new ManualClock(0), metrics: new MetricsRegistry() };

describe('built-in detectors', () => {
  it('ships whale, cascade and pattern, each named as configured', () => {
    const m = builtinDetectors();
    expect([...m.keys()]).toEqual(['whale', 'cascade', 'pattern']);
    for (const [name, make] of m) expect(make({}, name, deps).name).toBe(name);
  });

  it('each factory validates its table with key paths (a ConfigError)', () => {
    const m = builtinDetectors();
    expect(() => m.get('whale')!({ z_threshold: 'high' }, 'whale', deps)).toThrow('detectors.whale.z_threshold: expected a positive number, got "high"');
    expect(() => m.get('cascade')!({ window_buckets: 0 }, 'cascade', deps)).toThrow(ConfigError);
    expect(() => m.get('pattern')!({ top_k: -3 }, 'pattern', deps)).toThrow('detectors.pattern.top_k');
    expect(() => validateBuiltinDetectorSettings('whale', { unknown_key: 1 })).toThrow('detectors.whale.unknown_key: unknown key');
    expect(() => validateBuiltinDetectorSettings('cascade', {})).not.toThrow();
  });
});
