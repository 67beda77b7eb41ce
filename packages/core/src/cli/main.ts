import 'reflect-metadata';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../config/index.js';
import { PluginLoadError, PluginLoadErrors } from '../plugins/errors.js';
import { backendsCommand } from './backends.js';
import { benchmarkCommand } from './benchmark.js';
import { gpuTestCommand } from './gpu-test.js';
import { replayCommand } from './replay.js';
import { reportCommand } from './report.js';
import { runCommand } from './run.js';
import { validateConfigCommand } from './validate.js';
import { varCommand, VarCommandError } from './var.js';
import { riskCommand } from './risk.js';
import { journalCommand } from './journal.js';
import { doctorCommand } from './doctor/index.js';
import { JournalError } from '../journal/errors.js';
import { listenForShutdown, type EarlySignals } from './shutdown-signals.js';
import { UsageError } from './usage-error.js';
import { loadConfigForCli, redactOutput, writeErrLine } from './output.js';

let stdoutClosed = false;
// Every line any command prints goes through the mask of the configs loaded so far
// (loadConfigForCli merges each): a command, or a plugin message it passes on, cannot forget it.
const out = (line: string) => {
  if (!stdoutClosed) process.stdout.write(redactOutput(line) + '\n');
};
/** Data, not messages: `journal export`'s records, written as the journal holds them (journal.ts). */
const dataOut = (line: string) => {
  if (!stdoutClosed) process.stdout.write(line + '\n');
};

// `cwts-ultra backends | head` closes the pipe early: the output ends there, nothing crashes
// (a running engine keeps running and shuts down through its own path, journal flushed).
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  stdoutClosed = true;
});

/** Set when a command that stops on SIGINT/SIGTERM/SIGHUP (run, risk-aggregator) starts. */
let stopsOnSignals = false;

/**
 * Once such a command has returned, the process still winds down (worker threads, sockets
 * closing) before it exits, and the command's own signal listeners are gone: a signal then would
 * take Node's default action, and the process would end as killed by it, losing the exit code a
 * supervisor reads (3: orders left open). Until the process exits, a shutdown signal ends it at
 * once with the command's code. Signal listeners do not keep the process alive.
 */
function exitOnLateSignals(code: number): number {
  if (stopsOnSignals) listenForShutdown(() => process.exit(code));
  return code;
}

/** `--duration`: an InvalidArgumentError, so a bad value is a command-line error (exit 2), not a failure. */
function parseSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`must be a positive number of seconds, got ${JSON.stringify(v)}`);
  return n;
}

/** `benchmark --scale`: a factor > 0; anything else was read as 1 without a word. */
function parseScale(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`must be a number > 0 (e.g. 0.01 for a smoke run), got ${JSON.stringify(v)}`);
  return n;
}

/** The commands that stop through their orderly path on a shutdown signal (they take up an early one). */
const STOPS_ON_SIGNALS = new Set(['run', 'risk-aggregator']);

/**
 * @param early the shutdown signals the bin recorded while the CLI loaded: run and
 *   risk-aggregator take one up as a stop; any other command re-raises it before it starts, so it
 *   ends by the signal as it would have without the bin's listeners (Ctrl-C still interrupts it).
 */
export function buildProgram(early?: EarlySignals): Command {
  const program = new Command('cwts-ultra')
    .description('CWTS Ultra: low-latency crypto trading engine')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(redactOutput(s)) })
    .hook('preAction', (_program, action) => {
      if (STOPS_ON_SIGNALS.has(action.name())) return;
      const sig = early?.release();
      if (sig !== undefined) process.kill(process.pid, sig);
    });

  program.command('run').description('run a deployment until SIGINT/SIGTERM/SIGHUP or --duration')
    .requiredOption('--config <file>', 'TOML config')
    .option('--duration <seconds>', 'stop after this many seconds', parseSeconds)
    .option('--record <file>', 'write every normalized market event as JSON lines for `replay` (a new file; never the journal)')
    .option('--force-record', 'let --record overwrite an existing file')
    .action(async (o) => { stopsOnSignals = true; program.setOptionValue('code', await runCommand({ config: o.config, duration: o.duration, record: o.record, forceRecord: !!o.forceRecord, earlySignals: early })); });

  program.command('validate-config').description('check a config as `run` would: schema, ${VAR} substitution, ranges, then every plugin it names and their options')
    .requiredOption('--config <file>', 'TOML config')
    .option('--file-only', 'check the file alone, without loading the plugins it names')
    .action(async (o) => { program.setOptionValue('code', await validateConfigCommand({ config: o.config, fileOnly: !!o.fileOnly }, out)); });

  program.command('backends').description('list compute backends, available or not, and why')
    .option('--config <file>', 'also this deployment\'s backends ([compute.<name>] plugin and settings), packages resolved from its directory')
    .action(async (o) => {
      // Lists backends only: the venue keys need not be set.
      const config = o.config ? loadConfigForCli(o.config, process.env, { credentials: 'not-needed' }).config : undefined;
      program.setOptionValue('code', await backendsCommand(o.config ? dirname(resolve(o.config)) : process.cwd(), out, config?.compute, config?.performance));
    });

  program.command('replay').description('run the engine over a recorded file, deterministically')
    .requiredOption('--config <file>', 'TOML config (detectors, strategy, risk)')
    .requiredOption('--data <file>', 'a recording from `run --record` (.jsonl, or gzipped .jsonl.gz)')
    .option('--json', 'print one summary object')
    .option('--allow-damaged', 'exit 0 even when the recording has malformed, out-of-order or truncated records (still counted, with a warning)')
    .option('--report <file>', 'write an HTML report (summary, equity, drawdown, fills, signals)')
    .action(async (o) => { program.setOptionValue('code', await replayCommand({ config: o.config, data: o.data, json: !!o.json, allowDamaged: !!o.allowDamaged, report: o.report }, out)); });

  program.command('report').description('an HTML report of a live session from its journal')
    .requiredOption('--journal <db>', 'the SQLite journal of the session')
    .requiredOption('--out <file>', 'the HTML file to write')
    .option('--data <file>', 'a recording of the session (`run --record`) for prices of every symbol')
    .option('--from <time>', 'ISO-8601 start of the window, e.g. 2026-12-05T06:00:00Z')
    .option('--to <time>', 'ISO-8601 end of the window')
    .option('--config <file>', 'the config the session ran with: shown with secrets redacted, digest checked against the journal')
    .option('--json', 'print the statistics as one JSON object')
    .action(async (o) => { program.setOptionValue('code', await reportCommand(o, out)); });

  program.command('benchmark').description('the seed\'s performance validation table, measured live on this machine')
    .option('--full', 'longer runs (default: quick)').option('--json', 'one JSON object on stdout').option('--out <dir>', 'results directory', 'bench/results')
    .option('--scale <x>', 'multiply the iteration counts (e.g. 0.01 for a smoke run; default 1)', parseScale)
    .action(async (o) => { program.setOptionValue('code', await benchmarkCommand({ full: !!o.full, json: !!o.json, resultsDir: o.out, scale: o.scale ?? 1 }, out)); });

  program.command('var').description('value at risk and CVaR of a portfolio from a CSV of returns (one column per asset, header with names)')
    .requiredOption('--returns <file>', 'CSV: header of asset names, one row of returns per period')
    .option('--weights <list>', 'exposures: "0.6,0.4" in header order or "BTC=0.6,ETH=0.4" (default: equal, summing to 1)')
    .option('--confidence <c>', 'in (0, 1)', '0.99')
    .option('--method <m>', 'historical | parametric | montecarlo', 'historical')
    .option('--horizon <periods>', 'horizon in periods', '1')
    .option('--paths <n>', 'Monte Carlo paths', '100000')
    .option('--seed <n>', 'Monte Carlo seed (same seed, same result)', '1')
    .option('--json', 'print one JSON object')
    .action(async (o) => { program.setOptionValue('code', await varCommand(o, out)); });

  program.command('risk').description('manual risk control of a running engine: status | halt | reduce | resume')
    .argument('<action>', 'status | halt | reduce | resume')
    .option('--url <url>', 'the control endpoint', 'http://127.0.0.1:8081')
    .option('--reason <text>', 'why (logged and shown as the state reason)')
    .option('--json', 'print the endpoint\'s JSON')
    .action(async (action, o) => { program.setOptionValue('code', await riskCommand(action, o, out)); });

  program.command('journal').description('the trading journal: export (JSON lines) | import (from .jsonl) | unlock --force | backup --out | restore --from')
    .argument('<action>', 'export | import | unlock | backup | restore')
    .option('--config <file>', 'the journal this config uses ([journal] path, data dir)')
    .option('--journal <file>', 'the journal file (.db)')
    .option('--out <file>', 'export: write here instead of stdout; backup: the backup file to create')
    .option('--from <file>', 'import: the .jsonl journal to read; restore: the backup to restore')
    .option('--force', 'unlock: the other process is gone')
    .option('--other-system', 'restore: the backup was written under another [system] name, and that is intended')
    .action(async (action, o) => { program.setOptionValue('code', await journalCommand(action, o, out, dataOut)); });

  program.command('risk-aggregator').description('cluster-wide risk over every shard of `[cluster]`: exposure, drawdown, global HALT (docs/scale-out.md)')
    .requiredOption('--config <file>', 'a TOML config with a [cluster] table')
    .option('--duration <seconds>', 'stop after this many seconds', parseSeconds)
    .option('--halt <reason>', 'broadcast a global HALT to every shard and exit')
    .option('--resume', 'clear the global HALT and exit (each shard resumes through its own control endpoint)')
    .action(async (o) => { stopsOnSignals = true; program.setOptionValue('code', await (await import('./risk-aggregator.js')).riskAggregatorCommand({ ...o, earlySignals: early }, out)); });

  program.command('doctor').description('check this host and deployment against the production checklist: PASS / WARN / FAIL with the fix; exit code = worst (0 / 1 / 2)')
    .option('--config <file>', 'also check this deployment: journal location, ports, venue URLs, [compute] backends')
    .option('--offline', 'skip the checks that need the network (venue DNS + TLS)')
    .option('--json', 'print one JSON object')
    .action(async (o) => { program.setOptionValue('code', await doctorCommand({ config: o.config, offline: !!o.offline, json: !!o.json }, out)); });

  program.command('load-test').description('drive the app through the simulated venue at stepped event rates and report events/s, orders/s, tick-to-order p50/p99, loop lag, RSS, errors with PASS/FAIL per step (exit 0 pass / 1 target missed / 2 could not run)')
    .option('--steps <list>', 'offered events/s per step: numbers, "10k", "max"', '10000,50000,100000,max')
    .option('--step-seconds <s>', 'measured window per step', '10')
    .option('--warmup-seconds <s>', 'run before measuring each step', '2')
    .option('--events-per-order <n>', 'the load strategy sends one order per this many events', '1')
    .option('--symbols <list>', 'simulated symbols (the step rate is shared between them)', 'BTCUSDT')
    .option('--fsync <policy>', 'journal fsync of the app under load: always | batch | never', 'batch')
    .option('--url <url>', 'attach to a running app (its /metrics URL) instead of starting one per step')
    .option('--windows <n>', 'with --url: how many windows of --step-seconds to measure (default 1)')
    .option('--json', 'print one JSON object (CI)')
    .action(async (o) => { program.setOptionValue('code', await (await import('./load-test/index.js')).loadTestCommand(o, out)); });

  program.command('gpu-test').description('measure GPU throughput, bandwidth and launch latency on the available GPU backend')
    .option('--config <file>', 'resolve backend packages from this config\'s directory')
    .action(async (o) => { program.setOptionValue('code', await gpuTestCommand(o.config ? dirname(resolve(o.config)) : process.cwd(), out)); });

  return program;
}

/**
 * Entry point; returns the exit code. Every known failure is one clear message, no stack.
 * `early`: from the bin, the shutdown signals that came while the CLI loaded (EarlySignals).
 */
export async function main(argv: string[], early?: EarlySignals): Promise<number> {
  try {
    return await parseAndRun(argv, early);
  } finally {
    // whatever ended the command (a config error before run listened, a command-line error), the
    // bin's listeners go: from here a signal is the exit path's (exitOnLateSignals) or Node's
    early?.release();
  }
}

async function parseAndRun(argv: string[], early: EarlySignals | undefined): Promise<number> {
  const program = buildProgram(early);
  // The seed's systemd unit runs `cwts-ultra --config FILE`: the bare form means `run`.
  const args = argv.slice(2);
  if (args[0] === '--config' || args[0]?.startsWith('--config=')) args.unshift('run');
  try {
    await program.parseAsync(args, { from: 'user' });
    return exitOnLateSignals((program.getOptionValue('code') as number | undefined) ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    // Whatever failed, the message may quote a config value: print it through the config's mask.
    if (err instanceof ConfigError || err instanceof JournalError || err instanceof PluginLoadErrors || err instanceof PluginLoadError || err instanceof VarCommandError || err instanceof UsageError) {
      writeErrLine(`cwts-ultra: ${err.message}`);
      return exitOnLateSignals(2);
    }
    writeErrLine(`cwts-ultra: ${(err as Error)?.message ?? String(err)}`);
    return exitOnLateSignals(1);
  }
}
