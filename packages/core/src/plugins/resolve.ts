import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const isPathSpec = (spec: string): boolean => spec.startsWith('./') || spec.startsWith('../') || isAbsolute(spec);

/**
 * Resolves a plugin specifier to a file URL: a path relative to the config file's directory, or
 * an npm package name looked up from the config directory, the working directory and core's own
 * install location (so plugins installed next to core are found). Returns the places searched
 * when nothing matches.
 */
export function locatePlugin(spec: string, baseDir: string): { url: string } | { searched: string[] } {
  if (isPathSpec(spec)) {
    const file = resolvePath(baseDir, spec);
    return existsSync(file) ? { url: pathToFileURL(file).href } : { searched: [file] };
  }
  const coreDir = dirname(fileURLToPath(import.meta.url));
  const bases = [...new Set([baseDir, process.cwd(), coreDir])];
  for (const base of bases) {
    try {
      const req = createRequire(resolvePath(base, '__cwts_resolve__.js'));
      return { url: pathToFileURL(req.resolve(spec)).href };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    }
  }
  return { searched: bases };
}
