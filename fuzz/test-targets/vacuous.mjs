/**
 * A fuzz target that finds nothing because it checks nothing: its coverage floor (one check per
 * frame) is never met, so a run over it must fail as `vacuous` (fuzz/runner.mjs).
 */
export async function create() {
  let i = 0;
  return {
    next: () => `frame-${i++}`,
    saved: (f) => f,
    run() {},
    reset() {},
    probe: () => 0,
    counts: () => ({ checks: 0 }),
  };
}

export function coverage(c, frames) {
  return (c.checks ?? 0) < frames ? [{ kind: 'vacuous', message: `${c.checks ?? 0} checks in ${frames} frames` }] : [];
}
