#!/usr/bin/env node
// Source build of @cwts/backend-metal, run when asked
// (`node node_modules/@cwts/backend-metal/scripts/build-native.mjs`), never at install: pnpm 10+
// refuses an unapproved dependency install script (pnpm 12 fails `pnpm add` on it), see
// docs/native-packages.md. Never fails. Metal exists only on macOS: elsewhere it records the
// reason and exits 0 (the probe says "Metal needs macOS" anyway). On macOS it builds the
// Objective-C++ addon with cmake-js + ninja, offline.
//   CWTS_SKIP_NATIVE=1   skip the native build
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build');
const reasonFile = join(buildDir, 'skip-reason.txt');
const require = createRequire(import.meta.url);
const label = '@cwts/backend-metal';

function has(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

function skip(reason) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(reasonFile, reason + '\n');
  console.log(`${label}: native build skipped: ${reason}`);
  process.exit(0);
}

if (process.env.CWTS_SKIP_NATIVE === '1') skip('CWTS_SKIP_NATIVE=1');
if (process.platform !== 'darwin') skip(`Metal needs macOS (this is ${process.platform})`);
if (!has('cmake')) skip('cmake not found');
let cmakeJs;
try {
  cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  require.resolve('node-addon-api');
  require.resolve('node-api-headers');
} catch {
  skip('cmake-js, node-addon-api or node-api-headers not installed');
}
const args = [cmakeJs, 'compile', '-d', root, '-O', buildDir, '-p', '2', '-l', 'error'];
if (has('ninja')) args.push('-G', 'Ninja');
const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
if (r.status !== 0) {
  const m = out.match(/CWTS_SKIP: ([\s\S]*?)(?:\n\s*\n|$)/);
  const first = m ? m[1].replace(/\s+/g, ' ').trim() : (out.split('\n').find((l) => /error/i.test(l)) ?? 'see cmake-js output').trim();
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(join(buildDir, 'build.log'), out);
  skip(m ? first : `native build failed (${first}); full log in build/build.log`);
}
rmSync(reasonFile, { force: true });
console.log(`${label}: native addon built`);
