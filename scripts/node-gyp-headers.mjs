#!/usr/bin/env node
// Runs before pnpm installs anything (`pnpm:devPreinstall`). better-sqlite3 (the journal) is
// compiled by node-gyp when no prebuilt binary can be downloaded, and node-gyp then downloads
// the Node headers from nodejs.org. Where the registry is the only reachable host (CI, air-gapped
// desks) that download fails, although the Node package on the machine ships the same headers
// (<prefix>/include/node). pnpm passes no `nodedir` setting to dependency scripts, so point
// node-gyp's own header cache at the local headers instead; node-gyp then finds them "already
// installed" and downloads nothing. Does nothing when the cache is present or the headers are not.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// node-gyp 10-12's cache layout version ("installVersion"); an older value makes it re-download.
const NODE_GYP_INSTALL_VERSION = 11;

function devDir() {
  if (process.env.npm_config_devdir) return process.env.npm_config_devdir;
  const cache = process.env.XDG_CACHE_HOME ?? (process.platform === 'darwin' ? path.join(os.homedir(), 'Library', 'Caches') : path.join(os.homedir(), '.cache'));
  return path.join(cache, 'node-gyp');
}

function main() {
  if (process.env.npm_config_nodedir) return; // node-gyp uses that directly
  const prefix = path.dirname(path.dirname(process.execPath));
  const headers = path.join(prefix, 'include', 'node');
  if (!fs.existsSync(path.join(headers, 'node_version.h')) || !fs.existsSync(path.join(headers, 'common.gypi'))) return;
  const target = path.join(devDir(), process.versions.node);
  const marker = path.join(target, 'installVersion');
  if (fs.existsSync(marker) && Number.parseInt(fs.readFileSync(marker, 'ascii'), 10) >= NODE_GYP_INSTALL_VERSION) return;
  fs.mkdirSync(path.join(target, 'include'), { recursive: true });
  const link = path.join(target, 'include', 'node');
  if (!fs.existsSync(link)) fs.symlinkSync(headers, link, 'dir');
  fs.writeFileSync(marker, `${NODE_GYP_INSTALL_VERSION}\n`);
  console.log(`node-gyp headers for Node ${process.versions.node}: ${link} -> ${headers} (no download)`);
}

try {
  main();
} catch (err) {
  // Never fail the install for this: node-gyp then tries its download as usual.
  console.warn(`node-gyp headers not prepared: ${err instanceof Error ? err.message : String(err)}`);
}
