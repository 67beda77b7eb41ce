#!/usr/bin/env node
// Before any import that takes time: a shutdown signal while the CLI loads is recorded, not
// Node's default action (killed by it, no stop line). `run` and `risk-aggregator` take it up as a
// stop once they listen; any other command re-raises it, ending as it always did (cli/main.ts).
const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let earlySignal;
const noteSignal = (sig) => { earlySignal ??= sig; };
for (const sig of SHUTDOWN_SIGNALS) process.on(sig, noteSignal);
const early = {
  release() {
    for (const sig of SHUTDOWN_SIGNALS) process.off(sig, noteSignal);
    return earlySignal;
  },
};

const { existsSync } = await import('node:fs');
const { fileURLToPath } = await import('node:url');
const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('cwts-ultra: @cwts/core is not built (dist/ is missing); run `pnpm build` at the repository root first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
main(process.argv, early).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { process.stderr.write(`cwts-ultra: ${err && err.message ? err.message : String(err)}\n`); process.exitCode = 1; },
);
