import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { skipUnlessRequired } from '@cwts/core/testing';
import { parseConfig } from '../packages/core/src/config/index.js';
import { MetricsRegistry } from '../packages/core/src/observability/metrics.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const mon = join(root, 'monitoring');
const has = (cmd: string) => !spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error;
const promtool = (...args: string[]) => spawnSync('promtool', args, { cwd: mon, encoding: 'utf8', timeout: 60_000 });

type Rule = { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
const rules: Rule[] = parseYaml(readFileSync(join(mon, 'alerts.yml'), 'utf8')).groups.flatMap((g: { rules: Rule[] }) => g.rules);

/** Every series name the app exposes: its own metrics, histogram series, and prom-client's process metrics. */
async function exposedNames(): Promise<Set<string>> {
  const m = new MetricsRegistry();
  const out = new Set<string>();
  for (const metric of await m.registry.getMetricsAsJSON()) {
    out.add(metric.name);
    if (metric.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(metric.name + s);
    if (metric.type === 'summary') for (const s of ['_sum', '_count']) out.add(metric.name + s);
  }
  return out;
}

/** PromQL expressions in the monitoring files: rule exprs and every dashboard target. */
function expressions(): { where: string; expr: string }[] {
  const out = rules.map((r) => ({ where: `alerts.yml ${r.alert}`, expr: r.expr }));
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) node.forEach((n) => walk(n, where));
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (typeof o.expr === 'string') out.push({ where: `${where} ${String(o.legendFormat ?? o.refId ?? '')}`, expr: o.expr });
      for (const v of Object.values(o)) walk(v, where);
    }
  };
  walk(JSON.parse(readFileSync(join(mon, 'grafana-dashboard.json'), 'utf8')), 'grafana-dashboard.json');
  return out;
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'le', 'inf', 'nan']);
/** Metric names referenced by a PromQL expression: identifiers not followed by `(`, outside `{...}` and `[...]` and strings. */
function metricNames(expr: string): string[] {
  const stripped = expr.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '').replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  return [...stripped.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)].map((m) => m[1]!).filter((n) => !PROMQL_WORDS.has(n.toLowerCase()) && !/^\d/.test(n));
}

describe('monitoring/ files', () => {
  it('every metric used by an alert or a dashboard panel is one the app registers', async () => {
    const exposed = await exposedNames();
    const exprs = expressions();
    expect(exprs.length).toBeGreaterThan(10);
    const unknown: string[] = [];
    for (const { where, expr } of exprs) {
      const names = metricNames(expr);
      expect(names.length, `${where}: ${expr} names no metric`).toBeGreaterThan(0);
      for (const n of names) if (n !== 'up' && !exposed.has(n)) unknown.push(`${where}: ${n} in ${expr}`);
    }
    expect(unknown).toEqual([]);
    // The check itself notices a misspelt name.
    expect(metricNames('sum(rate(cwts_market_event_total{exchange="x"}[1m])) by (exchange)')).toEqual(['cwts_market_event_total']);
    expect(exposed.has('cwts_market_event_total')).toBe(false);
  });

  it("the latency alert's threshold is production.toml's max_latency_ms, and every alert has a severity and a summary", () => {
    const text = readFileSync(join(root, 'examples/reference-app/config/production.toml'), 'utf8');
    const keys = Object.fromEntries([...text.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => [m[1]!, 'placeholder-not-a-key-0123456789']));
    const budget = parseConfig(text, keys, 'production.toml', join(root, 'examples/reference-app/config')).config.performance.max_latency_ms;
    const latency = rules.find((r) => r.alert === 'LatencyBudgetExceeded')!;
    expect(latency.expr).toBe(`cwts_latency_p99 > ${budget}`);
    for (const r of rules) {
      expect(['page', 'warn'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
    }
    expect(rules.map((r) => r.alert)).not.toContain('LowThroughput');
    for (const name of ['BookNotSynced', 'RiskHalted', 'RiskReducing', 'ErrorRate', 'ReconcileMismatch', 'FeedErrors', 'CwtsDown', 'CwtsTargetMissing']) expect(rules.map((r) => r.alert)).toContain(name);
  });

  it('promtool accepts the rules and the config, and the rule unit tests (monitoring/*.test.yml) pass', (ctx) => {
    if (!has('promtool')) skipUnlessRequired(ctx, 'prometheus', 'promtool not installed (Debian package prometheus)');
    const check = promtool('check', 'rules', 'alerts.yml');
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    const conf = promtool('check', 'config', 'prometheus.yml');
    expect(conf.status, conf.stdout + conf.stderr).toBe(0);
    const tests = readdirSync(mon).filter((f) => f.endsWith('.test.yml'));
    expect(tests).toContain('alerts.test.yml');
    const run = promtool('test', 'rules', ...tests);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    // Every alert is exercised firing by the unit tests.
    const tested = new Set(tests.flatMap((f) => [...readFileSync(join(mon, f), 'utf8').matchAll(/alertname: (\w+)\n\s+exp_alerts:\n\s+- exp_labels/g)].map((m) => m[1]!)));
    expect(rules.map((r) => r.alert).filter((a) => !tested.has(a))).toEqual(['DrawdownNearLimit']);
  });

  it('the shipped scrape config targets the app\'s metrics port and documents running Prometheus elsewhere than 9090', () => {
    const text = readFileSync(join(mon, 'prometheus.yml'), 'utf8');
    const conf = parseYaml(text);
    expect(conf.scrape_configs[0].static_configs[0].targets).toEqual(['localhost:9090']);
    expect(text).toMatch(/--web\.listen-address=127\.0\.0\.1:9091/);
    expect(readFileSync(join(root, 'docs/monitoring.md'), 'utf8')).toMatch(/--web\.listen-address=127\.0\.0\.1:9091/);
  });
});
