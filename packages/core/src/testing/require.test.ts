import { describe, expect, it } from 'vitest';
import { isRequired, requiredCapabilities, RequiredCapabilityMissingError, skipUnlessRequired } from './require.js';

const skipper = () => {
  const calls: string[] = [];
  return {
    calls,
    ctx: {
      skip(note?: string): never {
        calls.push(note ?? '');
        throw new Error('skipped');
      },
    },
  };
};

describe('skipUnlessRequired', () => {
  it('parses CWTS_REQUIRE as a comma-separated, case-insensitive list', () => {
    expect([...requiredCapabilities({ CWTS_REQUIRE: ' Vulkan, prometheus,,nats-server ' })]).toEqual(['vulkan', 'prometheus', 'nats-server']);
    expect(requiredCapabilities({}).size).toBe(0);
    expect(isRequired('VULKAN', { CWTS_REQUIRE: 'vulkan' })).toBe(true);
    expect(isRequired('vulkan-validation', { CWTS_REQUIRE: 'vulkan' })).toBe(false);
  });

  it('skips with the reason when the capability is not required', () => {
    const s = skipper();
    expect(() => skipUnlessRequired(s.ctx, 'vulkan', 'no Vulkan driver (ICD)', { CWTS_REQUIRE: 'prometheus' })).toThrow('skipped');
    expect(s.calls).toEqual(['no Vulkan driver (ICD)']);
  });

  it('fails (never skips) when the capability is required', () => {
    const s = skipper();
    let err: unknown;
    try {
      skipUnlessRequired(s.ctx, 'prometheus', 'prometheus not installed', { CWTS_REQUIRE: 'vulkan,prometheus' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RequiredCapabilityMissingError);
    expect((err as Error).message).toMatch(/prometheus is required here \(listed in CWTS_REQUIRE\) but unavailable: prometheus not installed/);
    expect(s.calls).toEqual([]);
  });
});
