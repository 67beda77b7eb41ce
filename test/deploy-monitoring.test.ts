import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

// The scrape-health alerts against the deployment files that produce the scrape: an alert that
// matches a label no deployment sets can never fire. (monitoring/alerts.test.yml, run by
// `promtool test rules`, feeds the series each setup produces; this checks the setups produce them.)
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
type Rule = { alert: string; expr: string; for?: string; labels?: Record<string, string> };
const rules: Rule[] = parseYaml(readFileSync(join(root, 'monitoring/alerts.yml'), 'utf8')).groups.flatMap((g: { rules: Rule[] }) => g.rules);
const rule = (name: string) => rules.find((r) => r.alert === name);
const prometheus = parseYaml(readFileSync(join(root, 'monitoring/prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string; static_configs?: { targets: string[]; labels?: Record<string, string> }[] }[] };
const statefulSet = parseAllDocuments(readFileSync(join(root, 'deploy/k8s/statefulset.yaml'), 'utf8'))
  .map((d) => d.toJS())
  .find((d) => d.kind === 'StatefulSet');

/** The label matchers of the `up{...}` selectors in an expression: [label, op, value]. */
function upMatchers(expr: string): [string, string, string][][] {
  return [...expr.matchAll(/\bup\s*\{([^}]*)\}/g)].map((m) => [...m[1]!.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map((x) => [x[1]!, x[2]!, x[3]!]));
}

describe('scrape-health alerts match what the deployments scrape', () => {
  const down = rule('CwtsDown');
  const missing = rule('CwtsTargetMissing');

  it('CwtsDown pages on a target that fails its scrapes, CwtsTargetMissing on no target at all (absent), by the same selector', () => {
    expect(down?.labels?.severity).toBe('page');
    expect(missing?.labels?.severity).toBe('page');
    expect(down!.expr).toMatch(/^up\{[^}]*\} == 0$/);
    expect(missing!.expr).toMatch(/^absent(_over_time)?\(up\{[^}]*\}/);
    expect(upMatchers(missing!.expr)).toEqual(upMatchers(down!.expr));
  });

  it('the selector names no job (the job is the scraping Prometheus\'s: kubernetes-pods on Kubernetes), only labels the deployments set', () => {
    const [matchers] = upMatchers(down!.expr);
    expect(matchers!.length).toBeGreaterThan(0);
    for (const [label, op] of matchers!) {
      expect(label, 'the job name is not the deployment\'s to choose').not.toBe('job');
      expect(op, 'an equality matcher: absent() keeps its labels, and the deployments set them exactly').toBe('=');
    }
    // The shipped scrape config: every target carries them.
    const statics = prometheus.scrape_configs.flatMap((j) => j.static_configs ?? []);
    expect(statics.length).toBeGreaterThan(0);
    for (const s of statics) for (const [label, , value] of matchers!) expect(s.labels?.[label], `monitoring/prometheus.yml ${s.targets} label ${label}`).toBe(value);
    // Kubernetes: the pod job copies the pod's labels onto the target (labelmap), so the pod
    // template carries them, as does the selector (the label cannot drift from the pods).
    const podLabels = statefulSet.spec.template.metadata.labels as Record<string, string>;
    for (const [label, , value] of matchers!) {
      expect(podLabels[label], `deploy/k8s/statefulset.yaml pod label ${label}`).toBe(value);
      expect(statefulSet.spec.selector.matchLabels[label]).toBe(value);
    }
  });

  it('docs/monitoring.md tells Kubernetes users to copy pod labels onto the target (labelmap), and names both alerts', () => {
    const doc = readFileSync(join(root, 'docs/monitoring.md'), 'utf8');
    expect(doc).toContain('__meta_kubernetes_pod_label_(.+)');
    expect(doc).toMatch(/\| `CwtsDown` \|/);
    expect(doc).toMatch(/\| `CwtsTargetMissing` \|/);
    expect(readFileSync(join(root, 'docs/operations.md'), 'utf8')).toContain('### CwtsTargetMissing (page)');
  });
});

describe('monitoring/grafana-dashboard.json', () => {
  type Panel = { title: string; targets?: { expr: string }[] };
  const panels: Panel[] = JSON.parse(readFileSync(join(root, 'monitoring/grafana-dashboard.json'), 'utf8')).panels;

  it('a panel title that quotes an alert threshold quotes a rule that exists, on that panel\'s metric', () => {
    const quoting = panels.filter((p) => /\balert\s*[<>]/i.test(p.title));
    expect(quoting.length).toBeGreaterThan(0);
    for (const p of quoting) {
      const m = /alert\s*([<>]=?)\s*([\d.]+)\s*(k?)/i.exec(p.title);
      expect(m, `"${p.title}": a threshold after "alert"`).not.toBeNull();
      const threshold = Number(m![2]) * (m![3] ? 1000 : 1);
      const exprs = (p.targets ?? []).map((t) => t.expr);
      const match = rules.find((r) => exprs.some((e) => r.expr.replace(/\s+/g, ' ').includes(`${e} ${m![1]} ${threshold}`)));
      expect(match, `"${p.title}": no rule in alerts.yml is ${exprs.join(', ')} ${m![1]} ${threshold}`).toBeDefined();
    }
  });
});
