import { loadConfigFile } from '../config/index.js';

/** `cwts-ultra validate-config`: schema, env substitution and ranges, before anything connects. */
export function validateConfigCommand(path: string, out: (line: string) => void): number {
  const loaded = loadConfigFile(path);
  const c = loaded.config;
  out(`${path}: valid`);
  out(`  system ${c.system.name} (${c.system.environment}), mode ${c.system.mode}`);
  for (const v of c.venues) out(`  venue ${v.name}: plugin ${v.plugin}, ${v.hasCredentials ? 'credentials set' : 'no credentials (market data only)'}${v.symbols.length ? `, symbols ${v.symbols.join(' ')}` : ''}`);
  out(`  compute backends (in order): ${c.compute.backends.join(', ')}`);
  for (const w of loaded.warnings) out(`  warning: ${w}`);
  return 0;
}
