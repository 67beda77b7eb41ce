/**
 * "Skip unless required": a test whose machine lacks something it needs (a Vulkan device, a
 * Prometheus binary, nats-server, the native SIMD addon) skips with the reason, except where the
 * environment declares that thing required through `CWTS_REQUIRE` (comma-separated names, e.g.
 * `CWTS_REQUIRE=vulkan,prometheus`). There the same condition fails the test, so a broken
 * install cannot turn a CI run green by skipping. CI sets it (`.ci/run`); a laptop does not.
 *
 * Names in use: `vulkan`, `vulkan-validation`, `cpu-simd`, `cpu-simd-arm64`, `prometheus`,
 * `nats-server`, `chromium`, `spirv-cross`, `systemd-analyze`, and any
 * compute backend's provider name (the compute conformance suite asks for it).
 */
export const REQUIRE_ENV = 'CWTS_REQUIRE';

/** The names listed in CWTS_REQUIRE (trimmed, lowercase, empty entries dropped). */
export function requiredCapabilities(env: NodeJS.ProcessEnv = process.env): ReadonlySet<string> {
  const raw = env[REQUIRE_ENV] ?? '';
  return new Set(raw.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0));
}

/** Whether CWTS_REQUIRE lists `capability`. */
export function isRequired(capability: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return requiredCapabilities(env).has(capability.toLowerCase());
}

/** Thrown instead of a skip when the missing thing is required. */
export class RequiredCapabilityMissingError extends Error {
  constructor(
    readonly capability: string,
    readonly reason: string,
  ) {
    super(`${capability} is required here (listed in ${REQUIRE_ENV}) but unavailable: ${reason}`);
    this.name = 'RequiredCapabilityMissingError';
  }
}

/** What this helper needs of vitest's test context (`ctx.skip`), so it imports nothing from vitest. */
export interface Skippable {
  skip(note?: string): never;
}

/**
 * Skips the running test with `reason`, or fails it when `capability` is required (see above).
 * Call it where the test found `capability` missing; it never returns.
 */
export function skipUnlessRequired(ctx: Skippable, capability: string, reason: string, env: NodeJS.ProcessEnv = process.env): never {
  if (isRequired(capability, env)) throw new RequiredCapabilityMissingError(capability, reason);
  return ctx.skip(reason);
}
