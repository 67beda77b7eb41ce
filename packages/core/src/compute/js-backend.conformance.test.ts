import { describeComputeConformance } from '../testing/index.js';
import { instrumentBackend } from './instrument.js';
import { jsBackendProvider } from './js-backend.js';

describeComputeConformance('js', () => jsBackendProvider);

// The instrumented wrapper must be transparent: the same suite through instrumentBackend.
describeComputeConformance('js (instrumented)', () => ({
  name: 'js',
  priority: 0,
  probe: () => jsBackendProvider.probe(),
  create: async (options) => instrumentBackend(await jsBackendProvider.create(options), () => {}),
}));

// An unavailable provider: every test must skip with the probe's reason (visible in the report).
describeComputeConformance('unavailable provider', () => ({
  name: 'nothing',
  priority: 1,
  probe: async () => ({ available: false as const, reason: 'no such device (conformance self-test)' }),
  create: async () => {
    throw new Error('create must not be called when the probe says unavailable');
  },
}));
