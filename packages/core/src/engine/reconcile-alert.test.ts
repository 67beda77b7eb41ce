import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport } from '../domain/orders.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { skipUnlessRequired } from '../testing/require.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { MISMATCH_KINDS } from './reconcile.js';
import { ScriptedVenue } from './test-venue.js';

const ALERTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../monitoring/alerts.yml');
const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const has = (cmd: string) => !spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error;

function engineOn(path: string, venue: ScriptedVenue, metrics: MetricsRegistry) {
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const engine = new Engine({ clock: new ManualClock(Date.now()), logger: silentLogger(), metrics, watchdog: false, journal: store, onShutdown: 'keep', venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
  attachJournal(engine, store, silentLogger());
  return engine;
}

/** Every series of one metric in an exposition text: series -> value. */
function samples(text: string, metric: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), line.slice(at + 1));
  }
  return out;
}

describe('ReconcileMismatch alert against what the app exposes', () => {
  it('pages for a mismatch found by the reconciliation at start, for the first hour of the process', async (ctx) => {
    if (!has('promtool')) skipUnlessRequired(ctx, 'prometheus', 'promtool not installed (Debian package prometheus)');
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-recon-alert-')), 'j.db');
    const began = Date.now();
    const first = engineOn(path, new ScriptedVenue('v', [BTC]), new MetricsRegistry({ processMetrics: false }));
    await first.start();
    await first.stop('SIGTERM');
    // While the engine was down someone traded on the account: reconciliation must report it.
    const venue = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const manual: ExecutionReport = { kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: 'manual-1', side: 'buy', lastPrice: 5_000_000, lastQty: 3, leavesQty: 0, cumQty: 3, feeAtoms: 10n, tradeId: 't-manual-1', ts: began + 1 };
    venue.trades = [manual];
    // prom-client's process metrics on, as `cwts-ultra run` serves them: the rule reads process_start_time_seconds.
    const metrics = new MetricsRegistry();
    const second = engineOn(path, venue, metrics);
    // `run` serves /metrics before engine.start(): what Prometheus scrapes before reconciliation ...
    const before = await metrics.text();
    await second.start();
    // ... and after it.
    const after = await metrics.text();
    await second.stop('test');
    expect(second.reconcileResult!.mismatches.map((m) => m.kind)).toEqual(['unknown_trade']);

    // Before the start no series; after it one per kind, at 0 but the one found.
    const metric = 'cwts_reconcile_mismatches_total';
    expect(samples(before, metric).size).toBe(0);
    const found = samples(after, metric);
    expect(Object.fromEntries(found)).toEqual(Object.fromEntries(MISMATCH_KINDS.map((k) => [`${metric}{exchange="v",kind="${k}"}`, k === 'unknown_trade' ? '1' : '0'])));
    const processStart = Number(/^process_start_time_seconds (\S+)$/m.exec(after)?.[1]);
    expect(processStart).toBeGreaterThan(0);
    expect(processStart).toBeLessThanOrEqual(Date.now() / 1000);

    // 15 s scrapes; the timeline's 0 is the process's start (process_start_time_seconds 0), the
    // engine starts after three scrapes, and the process runs on for 75 minutes.
    const withJob = (series: string) => series.replace('{', '{job="cwts-ultra",');
    const dir = mkdtempSync(join(tmpdir(), 'cwts-recon-promtool-'));
    writeFileSync(join(dir, 'test.yml'), [
      `rule_files: ['${ALERTS}']`,
      'evaluation_interval: 15s',
      'tests:',
      '  - interval: 15s',
      '    input_series:',
      `      - series: 'process_start_time_seconds{job="cwts-ultra"}'`,
      `        values: '0x303'`,
      ...[...found].flatMap(([series, value]) => [`      - series: '${withJob(series)}'`, `        values: '${samples(before, metric).get(series) ?? '_'}x3 ${value}x300'`]),
      '    alert_rule_test:',
      '      - eval_time: 5m',
      '        alertname: ReconcileMismatch',
      '        exp_alerts:',
      '          - exp_labels: { severity: page, job: cwts-ultra, exchange: v, kind: unknown_trade }',
      '            exp_annotations: { summary: "v: 1 reconciliation mismatch(es) (unknown_trade) between the journal and the venue" }',
      // the process is over an hour old and found nothing since: resolved
      '      - eval_time: 61m',
      '        alertname: ReconcileMismatch',
      '        exp_alerts: []',
      '',
    ].join('\n'));
    const r = spawnSync('promtool', ['test', 'rules', 'test.yml'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(r.error).toBeUndefined();
    expect({ status: r.status, out: r.status === 0 ? '' : r.stdout + r.stderr }).toEqual({ status: 0, out: '' });
  });
});
