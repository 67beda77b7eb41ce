#!/usr/bin/env bash
# What a release would do, without publishing: `changeset version` (versions, changelogs,
# internal ranges), a rebuild, then `pnpm publish -r --dry-run` (packs every public package and
# checks its publishConfig). The version step rewrites tracked files, so this runs only on a clean
# work tree and restores it afterwards, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "error: release-dry-run rewrites package.json files and changelogs; commit or stash first" >&2
  exit 2
fi
restore() {
  git checkout -q -- .
  # changelogs created by the version step (never tracked before a real release)
  git ls-files --others --exclude-standard -- '*CHANGELOG.md' | xargs -r rm -f
}
trap restore EXIT

pnpm changeset status
pnpm changeset version
echo "== versions after changeset version"
for f in packages/*/package.json examples/*/package.json; do
  node -e 'const p=require("./'"$f"'"); if(!p.private) console.log(`  ${p.name}@${p.version}`)'
done
# A 0.x minor of core must not major-bump every plugin (peer ranges stay inside 0.x; the
# loader's coreApi check is what refuses an incompatible plugin): fail if anything reached 1.0.
if grep -l '"version": "[1-9]' packages/*/package.json >/dev/null 2>&1; then
  echo "error: changeset version produced a 1.x version; see docs/versioning.md" >&2
  grep -H '"version"' packages/*/package.json >&2
  exit 1
fi
pnpm build
pnpm publish -r --dry-run --no-git-checks
