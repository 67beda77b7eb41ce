/**
 * The detectors that ship in @cwts/core, by the name used under `[detectors.<name>]`:
 * `whale`, `cascade` and `pattern`. Each factory parses and validates its settings table (a
 * ConfigError with key paths such as `detectors.whale.z_threshold`) before anything runs.
 * Composition loads them as plugins, through the same manifest path (validateOptions, then
 * register) as a third party's detector: `builtinDetectorPlugins()`.
 */
import type { ComputeBackend } from '../contracts/compute.js';
import { ConfigError, type ConfigIssue } from '../config/errors.js';
import { TOKENS } from '../di/tokens.js';
import { CORE_API_VERSION, type PluginManifest } from '../plugins/manifest.js';
import type { Clock } from '../contracts/clock.js';
import type { Detector } from '../contracts/trading.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import { CascadeDetector, parseCascadeSettings } from './cascade.js';
import { parsePatternSettings, PatternDetector } from './pattern.js';
import { parseWhaleSettings, WhaleDetector } from './whale.js';
import { unknownSymbolKeys } from './settings.js';

/** What compose hands every built-in detector; third-party ones come by `plugin = ...`. */
export interface BuiltinDetectorDeps {
  backend: ComputeBackend;
  logger: Logger;
  clock: Clock;
  metrics: MetricsRegistry;
}
export type BuiltinDetectorFactory = (settings: Readonly<Record<string, unknown>>, name: string, deps: BuiltinDetectorDeps) => Detector;

const FACTORIES: ReadonlyMap<string, BuiltinDetectorFactory> = new Map<string, BuiltinDetectorFactory>([
  ['whale', (settings, name) => new WhaleDetector(name, parseWhaleSettings(settings, name))],
  ['cascade', (settings, name) => new CascadeDetector(name, parseCascadeSettings(settings, name))],
  ['pattern', (settings, name, deps) => new PatternDetector(name, parsePatternSettings(settings, name), { backend: deps.backend, logger: deps.logger, metrics: deps.metrics })],
]);

/** Factories of the built-in detectors, keyed by detector name. */
export function builtinDetectors(): ReadonlyMap<string, BuiltinDetectorFactory> {
  return FACTORIES;
}

/** Validates a built-in detector's settings table without building it (`validate-config`). */
export function validateBuiltinDetectorSettings(name: string, settings: Readonly<Record<string, unknown>>): void {
  switch (name) {
    case 'whale':
      parseWhaleSettings(settings, name);
      return;
    case 'cascade':
      parseCascadeSettings(settings, name);
      return;
    case 'pattern':
      parsePatternSettings(settings, name);
      return;
    default:
      return;
  }
}

/**
 * A built-in detector's per-symbol overrides that name no `venue:symbol` (or symbol) of the
 * deployment's venues: a typo there would leave the default threshold in force without a word.
 * Settings that do not parse are validateOptions' to report: none here.
 */
export function builtinDetectorSymbolIssues(name: string, settings: Readonly<Record<string, unknown>>, venues: readonly { readonly name: string; readonly symbols: readonly string[] }[], path: string): ConfigIssue[] {
  if (name !== 'whale') return [];
  let keys: string[];
  try {
    keys = parseWhaleSettings(settings, name).symbols.overrideKeys;
  } catch {
    return [];
  }
  return unknownSymbolKeys(keys, venues, `${path}.symbols`);
}

function detectorPlugin(name: string, make: BuiltinDetectorFactory): PluginManifest {
  return {
    name: `@cwts/core/detectors/${name}`,
    kind: 'detector',
    coreApi: CORE_API_VERSION,
    validateOptions(options) {
      try {
        validateBuiltinDetectorSettings(name, (options ?? {}) as Record<string, unknown>);
        return [];
      } catch (err) {
        if (err instanceof ConfigError) return err.issues.map((i) => ({ path: i.path, message: i.message }));
        throw err;
      }
    },
    register({ registrar, instanceName, config }) {
      // Built when the engine collects its detectors, after the compute backend is chosen.
      registrar.factory(TOKENS.Detector, (c) =>
        make(config, instanceName, {
          backend: c.resolve(TOKENS.ComputeBackend),
          logger: c.resolve(TOKENS.Logger).child({ detector: instanceName }),
          clock: c.resolve(TOKENS.Clock),
          metrics: c.resolve(TOKENS.Metrics),
        }),
      );
    },
  };
}

const PLUGINS: ReadonlyMap<string, PluginManifest> = new Map([...FACTORIES].map(([name, make]) => [name, detectorPlugin(name, make)]));

/** The built-in detectors as plugin manifests, keyed by the name under `[detectors.<name>]`. */
export function builtinDetectorPlugins(): ReadonlyMap<string, PluginManifest> {
  return PLUGINS;
}
