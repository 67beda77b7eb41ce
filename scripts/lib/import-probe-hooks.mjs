// Module-resolution hook for scripts/import-probe.mjs: appends every URL that Node resolves
// (ESM and the CommonJS packages that ESM imports) to a log file, one per line. A file rather
// than a message port so the log is complete the moment the probed import settles.
import { appendFileSync } from 'node:fs';

let logFile;
export function initialize(data) {
  logFile = data.logFile;
}

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(logFile, `${result.url}\n`);
  return result;
}
