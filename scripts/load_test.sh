#!/usr/bin/env bash
# The seed's load test: `cwts-ultra load-test` with whatever arguments are given, e.g.
#   scripts/load_test.sh                                  # 10k -> 50k -> 100k -> max, 10 s each
#   scripts/load_test.sh --steps 10k,50k --step-seconds 30 --json > load-test.json
#   scripts/load_test.sh --url http://127.0.0.1:9090/metrics --windows 6   # watch a running app
# Exit code: 0 every step PASS, 1 a target missed, 2 the load test could not run.
# docs/operations.md ("Load test") says what each figure and verdict means.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ ! -f packages/core/dist/cli/main.js ]; then
  echo "load_test.sh: building first (pnpm build)" >&2
  pnpm build >&2
fi
exec node packages/core/bin/cwts-ultra.js load-test "$@"
