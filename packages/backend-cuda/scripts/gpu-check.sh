#!/usr/bin/env bash
# One command for a machine with an NVIDIA GPU: build the CUDA addon, run every CUDA test
# (the conformance suite and the device tests included), then time sgemm (ours and cuBLAS),
# bandwidth and launch latency. Prints one JSON object: {build, tests, bench}. Run from
# anywhere inside the repository after `pnpm install`:
#   packages/backend-cuda/scripts/gpu-check.sh
set -uo pipefail
pkg="$(cd "$(dirname "$0")/.." && pwd)"
repo="$(cd "$pkg/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Only this machine's GPU architecture unless told otherwise: the build is part of a short
# device loan, and every sgemm variant multiplies the kernels nvcc compiles per architecture.
if [ -z "${CWTS_CUDA_ARCHS:-}" ] && command -v nvidia-smi >/dev/null 2>&1; then
  cap="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n1 | tr -d ' .')"
  if [[ "$cap" =~ ^[0-9]+$ ]]; then export CWTS_CUDA_ARCHS="${cap}-real"; fi
fi

t0=$(date +%s)
rm -rf "$pkg/build"
(cd "$pkg" && node scripts/build-native.mjs) >"$tmp/build.txt" 2>&1
build_s=$(( $(date +%s) - t0 ))
(cd "$repo" && pnpm exec tsc -b packages/backend-cuda) >>"$tmp/build.txt" 2>&1
(cd "$repo" && pnpm exec vitest run packages/backend-cuda --reporter=json --outputFile="$tmp/tests.json") >"$tmp/tests.txt" 2>&1
tests_rc=$?
(cd "$pkg" && node scripts/gpu-bench.mjs) >"$tmp/bench.json" 2>"$tmp/bench.err"
bench_rc=$?

node - "$tmp" "$build_s" "$tests_rc" "$bench_rc" <<'NODE'
const fs = require('node:fs');
const [dir, buildS, testsRc, benchRc] = process.argv.slice(2);
const read = (f) => { try { return fs.readFileSync(`${dir}/${f}`, 'utf8'); } catch { return ''; } };
let tests = { rc: Number(testsRc) };
try {
  const j = JSON.parse(read('tests.json'));
  const failed = [];
  const skipped = new Map();
  for (const f of j.testResults) for (const a of f.assertionResults) {
    if (a.status === 'failed') failed.push({ file: f.name.replace(/.*packages\//, 'packages/'), test: a.fullName, message: (a.failureMessages[0] || '').split('\n')[0] });
    if (a.status === 'skipped' || a.status === 'pending') skipped.set(f.name.replace(/.*packages\//, 'packages/'), (skipped.get(f.name.replace(/.*packages\//, 'packages/')) || 0) + 1);
  }
  tests = { rc: Number(testsRc), passed: j.numPassedTests, failed: j.numFailedTests, skipped: j.numPendingTests + (j.numTodoTests || 0), failures: failed.slice(0, 20), skippedByFile: Object.fromEntries(skipped) };
} catch (e) {
  tests.output = read('tests.txt').split('\n').slice(-30).join('\n');
}
let bench;
try { bench = JSON.parse(read('bench.json')); } catch { bench = { rc: Number(benchRc), stderr: read('bench.err').split('\n').slice(-20).join('\n'), stdout: read('bench.json') }; }
const build = { seconds: Number(buildS), output: read('build.txt').trim().split('\n').slice(-5).join('\n') };
console.log(JSON.stringify({ build, tests, bench }, null, 2));
NODE
