/** A fuzz target with no bugs, for the harness's own tests (a run over it must pass). */
export async function create() {
  let i = 0;
  return {
    next: () => `frame-${i++}`,
    saved: (f) => f,
    run() {},
    reset() {},
    probe: () => 0,
    counts: () => ({}),
  };
}
