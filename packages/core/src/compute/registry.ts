import type {
  BackendInitOptions,
  ComputeBackend,
  ComputeBackendProvider,
  DeviceFacts,
  ProbeResult,
} from '../contracts/compute.js';
import type { Logger } from '../observability/logger.js';

/** One row of `cwts-ultra backends`. */
export interface BackendStatus {
  readonly name: string;
  readonly priority: number;
  /** The provider declares a GPU backend. */
  readonly gpu: boolean;
  /** The probe said available and, if creation was attempted, it succeeded. */
  readonly available: boolean;
  /** Why not available: the probe's reason, `probe failed: ...` or `init failed: ...`. */
  readonly reason?: string;
  /** Device facts from the probe, when available. */
  readonly device?: DeviceFacts;
  /** True once the registry created the backend (it is live). */
  readonly initialized: boolean;
}

export interface SkippedBackend {
  readonly name: string;
  readonly reason: string;
}

export interface ResolvedBackend {
  readonly backend: ComputeBackend;
  /** Every backend tried before the chosen one, in order, with the reason it was skipped. */
  readonly skipped: SkippedBackend[];
}

/** No backend was usable; the message lists every backend tried and why it was skipped. */
export class NoComputeBackendError extends Error {
  readonly skipped: readonly SkippedBackend[];
  constructor(skipped: readonly SkippedBackend[]) {
    super(
      skipped.length === 0
        ? 'No compute backend is usable: none is registered and no backend was requested'
        : `No compute backend is usable. Tried: ${skipped.map((s) => `${s.name} (${s.reason})`).join('; ')}`,
    );
    this.name = 'NoComputeBackendError';
    this.skipped = skipped;
  }
}

/** The skip reason for a requested backend that no installed plugin provides. */
export function notInstalledReason(name: string, spec = `@cwts/backend-${name}`): string {
  return `not installed (package ${spec})`;
}

/** BackendInitOptions for each backend by name (its own `[compute.<name>]` settings), or one for all. */
export type BackendInitOptionsFor = BackendInitOptions | ((name: string) => BackendInitOptions);

/** Device types of a GPU API running on the CPU (lavapipe, llvmpipe, SwiftShader). */
const EMULATED_DEVICE_TYPES: ReadonlySet<string> = new Set(['cpu', 'cpu-device']);

/**
 * Auto-detection tier (lower first): 0 a GPU backend on a real accelerator (or unavailable: it
 * is then skipped, with its reason, before anything else is tried), 1 a CPU backend, 2 a GPU
 * backend on a CPU-emulated device, 3 a fallback (priority <= 0, e.g. js).
 */
export function autoDetectTier(provider: ComputeBackendProvider, probe: ProbeResult): number {
  if (provider.gpu === true) return probe.available && EMULATED_DEVICE_TYPES.has(probe.device.type) ? 2 : 0;
  return provider.priority <= 0 ? 3 : 1;
}

/**
 * A GPU backend on a real accelerator: an available backend of auto-detection's first tier (not
 * a GPU API on a CPU-emulated device such as lavapipe). `gpu-test` and doctor count only these as
 * GPUs.
 */
export function onRealAccelerator(provider: ComputeBackendProvider, probe: ProbeResult): boolean {
  return probe.available && autoDetectTier(provider, probe) === 0;
}

type CreateOutcome = { ok: true; backend: ComputeBackend } | { ok: false; reason: string };

interface Entry {
  readonly provider: ComputeBackendProvider;
  readonly order: number;
  probe?: Promise<ProbeResult>;
  create?: Promise<CreateOutcome>;
  /** Settled create outcome, for status(). */
  created?: CreateOutcome;
  /** The dispose of a backend whose create() settled after dispose() began. */
  disposing?: Promise<void>;
}

/**
 * A backend's dispose() deadline when none is given: the default of `[system]
 * plugin_dispose_timeout_ms` (plugins/deadline.ts, which this folder may not import).
 */
export const DEFAULT_BACKEND_DISPOSE_TIMEOUT_MS = 5_000;

/** A backend ComputeRegistry.dispose() could not dispose: it failed, or ran out of time. */
export interface BackendDisposeProblem {
  readonly name: string;
  readonly timedOut: boolean;
  readonly error: string;
}

/**
 * 'ok', the rejection, or 'timeout' once `ms` pass first (a late settlement is then dropped). The
 * timer is cleared as soon as `p` settles: it never keeps the process alive.
 */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<'ok' | 'timeout' | { error: unknown }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    return await Promise.race([p.then((): 'ok' => 'ok', (error: unknown) => ({ error })), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Compute backend registry (after onnxruntime-web's backend-impl, which uses only the requested
 * backends when hints are given): providers register by name. `resolve` with a non-empty list
 * tries exactly those backends in that order (js only if listed); with an empty list it
 * auto-detects every registered provider: real accelerators, then CPU backends, then GPU APIs on
 * CPU-emulated devices, then fallbacks (autoDetectTier), by descending priority within a tier
 * (registration order on ties).
 * Probe and create run at most once per provider and both outcomes are cached, failures
 * included. Nothing registers on import.
 */
export class ComputeRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #logger: Logger;
  /** dispose() has begun: no backend is created or handed out from then on. */
  #disposed = false;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /**
   * Registers a provider under its name. Registering the provider object it already holds does
   * nothing; a different provider under a registered name throws.
   */
  register(provider: ComputeBackendProvider): void {
    if (provider === null || typeof provider !== 'object') throw new TypeError('register: a ComputeBackendProvider object is required');
    const { name, priority } = provider;
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('register: provider.name must be a non-empty string');
    if (typeof priority !== 'number' || !Number.isFinite(priority)) {
      throw new TypeError(`register: provider '${name}' needs a finite numeric priority`);
    }
    if (provider.gpu !== undefined && typeof provider.gpu !== 'boolean') throw new TypeError(`register: provider '${name}' gpu must be a boolean when given`);
    if (typeof provider.probe !== 'function' || typeof provider.create !== 'function') {
      throw new TypeError(`register: provider '${name}' must have probe() and create()`);
    }
    const existing = this.#entries.get(name);
    // The same object again is one backend, not two: a package named under two `[compute]`
    // names (an alias table beside auto-detection) hands its provider once per name.
    if (existing?.provider === provider) return;
    if (existing !== undefined) throw new Error(`compute backend '${name}' is already registered`);
    this.#entries.set(name, { provider, order: this.#entries.size });
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** Registered providers by descending priority (registration order on ties). */
  providers(): ComputeBackendProvider[] {
    return this.#byPriority().map((e) => e.provider);
  }

  /** Probes every registered provider (cached) and reports, in auto-detection order. */
  async status(): Promise<BackendStatus[]> {
    const ordered = await this.#autoOrder();
    const entries = ordered.map((o) => o.entry);
    const probes = ordered.map((o) => o.probe);
    return entries.map((e, i): BackendStatus => {
      const probe = probes[i];
      const base = { name: e.provider.name, priority: e.provider.priority, gpu: e.provider.gpu === true };
      if (!probe.available) return { ...base, available: false, reason: probe.reason, initialized: false };
      if (e.created && !e.created.ok) return { ...base, available: false, reason: e.created.reason, device: probe.device, initialized: false };
      return { ...base, available: true, device: probe.device, initialized: e.created?.ok === true };
    });
  }

  /**
   * The first usable backend. A non-empty `requested` list is exact and ordered (duplicates
   * ignored): nothing outside it is tried, so a configured GPU that cannot start fails startup
   * instead of silently running on js. An empty list auto-detects every registered provider in
   * autoDetectTier order. `options` may be a function giving each backend its own settings
   * (`[compute.<name>]`), which reach its provider's `create`. `unusable` names backends the caller already knows cannot start (their
   * plugin failed to load, or config disables them); they are reported with that reason.
   * Each skipped backend is logged with its reason (warn for a requested one, info while
   * auto-detecting). Throws NoComputeBackendError, naming each backend tried and why, when
   * none is usable.
   */
  async resolve(requested: readonly string[], options: BackendInitOptionsFor = {}, unusable: readonly SkippedBackend[] = []): Promise<ResolvedBackend> {
    const exact = requested.length > 0;
    const order = exact ? [...new Set(requested)] : (await this.#autoOrder()).map((o) => o.entry.provider.name);
    const optionsFor = typeof options === 'function' ? options : (): BackendInitOptions => options;
    const known = new Map(unusable.map((u) => [u.name, u.reason]));
    const skipped: SkippedBackend[] = [];
    const skip = (name: string, reason: string): void => {
      skipped.push({ name, reason });
      const log = { backend: name, reason, requested: exact };
      if (exact) this.#logger.warn(log, 'compute backend skipped');
      else this.#logger.info(log, 'compute backend skipped');
    };
    // Auto-detecting, backends that never registered (their plugin failed to load) are reported first.
    if (!exact) for (const u of unusable) if (!this.#entries.has(u.name) && !order.includes(u.name)) order.unshift(u.name);
    for (const name of order) {
      const knownReason = known.get(name);
      if (knownReason !== undefined) {
        skip(name, knownReason);
        continue;
      }
      const entry = this.#entries.get(name);
      if (entry === undefined) {
        skip(name, notInstalledReason(name));
        continue;
      }
      const probe = await this.#probe(entry);
      if (!probe.available) {
        skip(name, probe.reason);
        continue;
      }
      const created = await this.#create(entry, optionsFor(name));
      if (!created.ok) {
        skip(name, created.reason);
        continue;
      }
      this.#logger.info({ backend: name, device: probe.device.name, skipped: skipped.length }, 'compute backend selected');
      return { backend: created.backend, skipped };
    }
    throw new NoComputeBackendError(skipped);
  }

  /**
   * Disposes every backend this registry created, including those whose create() is still in
   * flight (startup interrupted by a shutdown): it waits for them, and what they return is
   * disposed, never handed out. The registry is closed from the first call on: every backend
   * (created or not) reports `disposed`, so a resolve after (or racing) dispose rejects instead of
   * creating a backend nothing would dispose.
   *
   * Each backend's wait (its dispose(), or its create() in flight and then the dispose of what it
   * returns) is bounded by `timeoutMs` (`run` passes `[system] plugin_dispose_timeout_ms`): a GPU
   * context stuck in the driver must not hold the stop forever, nor keep the plugins from being
   * disposed after it. Never rejects: a backend whose dispose fails or runs out of time is logged,
   * the others are still waited for, and the problems are returned for the caller to count.
   */
  async dispose(timeoutMs: number = DEFAULT_BACKEND_DISPOSE_TIMEOUT_MS): Promise<BackendDisposeProblem[]> {
    this.#disposed = true;
    const pending: { name: string; done: Promise<unknown> }[] = [];
    for (const e of this.#entries.values()) {
      if (e.created?.ok) {
        const backend = e.created.backend;
        e.created = { ok: false, reason: 'disposed' };
        e.create = Promise.resolve(e.created);
        // A synchronous throw is the backend's failure like a rejection, not dispose()'s.
        pending.push({ name: e.provider.name, done: new Promise((resolve) => resolve(backend.dispose())) });
      } else if (e.create !== undefined && e.created === undefined) {
        // In flight: #create sees #disposed when it settles and disposes what it made.
        pending.push({ name: e.provider.name, done: e.create.then(() => e.disposing) });
      }
    }
    const problems: BackendDisposeProblem[] = [];
    await Promise.all(
      pending.map(async ({ name, done }) => {
        const outcome = await settledWithin(done, timeoutMs);
        if (outcome === 'ok') return;
        if (outcome === 'timeout') {
          this.#logger.error({ backend: name, timeoutMs }, `compute backend ${name}: dispose did not finish within ${timeoutMs} ms; going on without it`);
          problems.push({ name, timedOut: true, error: `did not finish within ${timeoutMs} ms` });
        } else {
          this.#logger.error({ backend: name, err: errorMessage(outcome.error) }, `compute backend ${name}: dispose failed`);
          problems.push({ name, timedOut: false, error: errorMessage(outcome.error) });
        }
      }),
    );
    return problems;
  }

  /** Every entry with its (cached) probe, in auto-detection order. */
  async #autoOrder(): Promise<{ entry: Entry; probe: ProbeResult; tier: number }[]> {
    const entries = this.#byPriority();
    const probes = await Promise.all(entries.map((e) => this.#probe(e)));
    const rows = entries.map((entry, i) => ({ entry, probe: probes[i], tier: autoDetectTier(entry.provider, probes[i]) }));
    // Array.prototype.sort is stable: within a tier the priority order of #byPriority stays.
    return rows.sort((a, b) => a.tier - b.tier);
  }

  #byPriority(): Entry[] {
    return [...this.#entries.values()].sort((a, b) => b.provider.priority - a.provider.priority || a.order - b.order);
  }

  #probe(entry: Entry): Promise<ProbeResult> {
    entry.probe ??= (async (): Promise<ProbeResult> => {
      try {
        const r = await entry.provider.probe();
        if (r === null || typeof r !== 'object' || typeof r.available !== 'boolean') {
          return { available: false, reason: 'probe failed: probe() returned no ProbeResult' };
        }
        if (!r.available) return { available: false, reason: typeof r.reason === 'string' && r.reason ? r.reason : 'unavailable (no reason given)' };
        // Everything downstream (tiers, logs, `cwts-ultra backends`) reads the device facts:
        // an "available" answer without them is a broken probe, reported as unavailable.
        const d = (r as { device?: unknown }).device as Partial<DeviceFacts> | null | undefined;
        if (d === null || typeof d !== 'object' || typeof d.name !== 'string' || typeof d.type !== 'string') {
          return { available: false, reason: 'probe failed: probe() reported available without device facts ({ device: { name, type, ... } })' };
        }
        return r;
      } catch (e) {
        return { available: false, reason: `probe failed: ${errorMessage(e)}` };
      }
    })();
    return entry.probe;
  }

  #create(entry: Entry, options: BackendInitOptions): Promise<CreateOutcome> {
    if (this.#disposed && entry.create === undefined) {
      entry.created = { ok: false, reason: 'disposed' };
      entry.create = Promise.resolve(entry.created);
    }
    entry.create ??= (async (): Promise<CreateOutcome> => {
      let outcome: CreateOutcome;
      try {
        outcome = { ok: true, backend: await entry.provider.create(options) };
      } catch (e) {
        outcome = { ok: false, reason: `init failed: ${errorMessage(e)}` };
      }
      if (outcome.ok && this.#disposed) {
        // dispose() began while create() was in flight: the backend is disposed (dispose()
        // waits for this), and the pending resolve skips it.
        const backend = outcome.backend;
        outcome = { ok: false, reason: 'disposed' };
        entry.created = outcome;
        entry.create = Promise.resolve(outcome);
        entry.disposing = backend.dispose();
        // Its failure is dispose()'s to report; the resolve just skips the backend.
        await entry.disposing.catch(() => undefined);
        return outcome;
      }
      entry.created = outcome;
      return outcome;
    })();
    return entry.create;
  }
}
