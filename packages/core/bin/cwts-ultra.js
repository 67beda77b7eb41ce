#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('cwts-ultra: @cwts/core is not built (dist/ is missing); run `pnpm build` at the repository root first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
main(process.argv).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { process.stderr.write(`cwts-ultra: ${err && err.message ? err.message : String(err)}\n`); process.exitCode = 1; },
);
