import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { FAULT_STOP_DEADLINE_MS } from '../packages/core/src/cli/run.js';
import { DEFAULT_PLUGIN_DISPOSE_TIMEOUT_MS } from '../packages/core/src/plugins/deadline.js';

// How long each deployment lets the orderly stop run before SIGKILL. Docker's default (10 s) is
// shorter than the stop's own bounds, and a kill during the stop leaves cancels under way and
// the journal unclosed (docs/operations.md, "Stop deadline").
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');

/** The engine's wait for cancel confirmations on stop (Engine.stop: cancelAllOpen('shutdown', 5000); docs/operations.md). */
const CANCEL_WAIT_S = 5;
/** Bounded steps before the journal closes, each within plugin_dispose_timeout_ms: market data, execution, a reconciliation retry. */
const STEPS_BEFORE_JOURNAL_CLOSE = 3;

const systemd = Number(/^TimeoutStopSec=(\d+)$/m.exec(read('deploy/systemd/cwts-ultra.service'))?.[1]);
const k8s = Number(
  parseAllDocuments(read('deploy/k8s/statefulset.yaml'))
    .map((d) => d.toJS())
    .find((d) => d.kind === 'StatefulSet').spec.template.spec.terminationGracePeriodSeconds,
);
/** Every `docker run` the Dockerfile's usage comment and deploy/README.md show. */
const dockerRuns = [...read('deploy/Dockerfile').matchAll(/^#\s*(docker run .*)$/gm), ...read('deploy/README.md').matchAll(/^(docker run .*)$/gm)].map((m) => m[1]!);

describe('stop deadline: every deployment allows the orderly stop the same time before SIGKILL', () => {
  it('systemd, Kubernetes and every documented `docker run` agree', () => {
    expect(systemd).toBeGreaterThan(0);
    expect(k8s).toBe(systemd);
    expect(dockerRuns.length).toBeGreaterThanOrEqual(2);
    for (const run of dockerRuns) expect(/--stop-timeout (\d+)\b/.exec(run)?.[1], `${run}: Docker's default 10 s is too short`).toBe(String(systemd));
    for (const doc of ['deploy/README.md', 'docs/operations.md']) expect(read(doc), doc).toContain(`stop_grace_period: ${systemd}s`);
    expect(read('docs/operations.md')).toContain(`\`terminationGracePeriodSeconds: ${k8s}\``);
  });

  it("covers the app's own bounds: the cancels and the steps before the journal closes, and the stop after a process fault", () => {
    expect(systemd).toBeGreaterThanOrEqual(CANCEL_WAIT_S + (STEPS_BEFORE_JOURNAL_CLOSE * DEFAULT_PLUGIN_DISPOSE_TIMEOUT_MS) / 1000);
    expect(systemd).toBeGreaterThanOrEqual(FAULT_STOP_DEADLINE_MS / 1000);
    // Docker's default is not enough.
    expect(10).toBeLessThan(CANCEL_WAIT_S + (STEPS_BEFORE_JOURNAL_CLOSE * DEFAULT_PLUGIN_DISPOSE_TIMEOUT_MS) / 1000);
  });
});
