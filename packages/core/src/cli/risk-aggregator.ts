import { SystemClock } from '../contracts/clock.js';
import { ConfigError } from '../config/errors.js';
import { outputRedactor } from '../config/index.js';
import { loadConfigForCli } from './output.js';
import { createLogger } from '../observability/logger.js';
import { loadClusterModule } from '../cluster/load.js';
import { setLongTimeout } from './long-timeout.js';
import { listenForShutdown, type EarlySignals } from './shutdown-signals.js';

export interface RiskAggregatorOptions {
  config: string;
  duration?: number;
  halt?: string;
  resume?: boolean;
  /** From the bin: a shutdown signal that came while the CLI loaded stops the aggregator as soon as it listens. */
  earlySignals?: EarlySignals;
}

/** `cwts-ultra risk-aggregator`: runs until a shutdown signal or --duration; --halt / --resume act once. */
export async function riskAggregatorCommand(o: RiskAggregatorOptions, out: (line: string) => void): Promise<number> {
  // It talks to NATS, never to a venue: the venue keys need not be set (a credential inside
  // a URL, such as a NATS password in [cluster] servers, still must be).
  const loaded = loadConfigForCli(o.config, process.env, { credentials: 'not-needed' });
  const cluster = loaded.config.cluster;
  if (!cluster?.enabled) throw new ConfigError([{ path: 'cluster', message: 'risk-aggregator needs an enabled [cluster] table' }], loaded.sourcePath);
  const logger = createLogger({ level: loaded.config.system.log_level, scrub: (line) => outputRedactor.redact(line) }).child({ component: 'risk-aggregator' });
  if (o.halt !== undefined || o.resume) {
    // a one-shot: it does not stop through an orderly path, so a signal that came while the CLI
    // loaded ends it as Node would (and Ctrl-C still interrupts a broadcast that hangs)
    const sig = o.earlySignals?.release();
    if (sig !== undefined) process.kill(process.pid, sig);
  }
  const mod = await loadClusterModule(cluster, loaded.configDir, loaded.config.system.plugin_init_timeout_ms);
  const clock = new SystemClock();
  if (o.halt !== undefined) {
    await mod.haltCluster({ cluster, logger, clock }, o.halt);
    out(`cluster ${cluster.name}: HALT broadcast (${o.halt})`);
    return 0;
  }
  if (o.resume) {
    await mod.resumeCluster({ cluster, logger, clock });
    out(`cluster ${cluster.name}: global HALT and REDUCING cleared; resume each shard through its control endpoint`);
    return 0;
  }
  let stopping = false;
  let stopListening = () => {};
  const until = new Promise<void>((resolve) => {
    const stop = () => {
      stopping = true;
      resolve();
    };
    // Kept until the aggregator has stopped: a repeated signal must not kill it mid-stop.
    stopListening = listenForShutdown((sig) => (stopping ? logger.warn(`${sig} received: already stopping`) : stop()));
    if (o.earlySignals?.release() !== undefined) stop();
    if (o.duration !== undefined) setLongTimeout(stop, o.duration * 1000, { unref: true });
  });
  try {
    await mod.runAggregator({ cluster, logger, clock, until, varConfidence: loaded.config.risk.var_confidence, bindAddress: loaded.config.monitoring.bind_address });
  } finally {
    stopListening();
  }
  return 0;
}
