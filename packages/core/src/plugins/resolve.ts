import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve as esmResolve } from 'import-meta-resolve';

export const isPathSpec = (spec: string): boolean => spec.startsWith('./') || spec.startsWith('../') || isAbsolute(spec);

/**
 * Resolves a plugin specifier to a file URL: a path relative to the config file's directory, or
 * an npm package name looked up from the config directory, the working directory and core's own
 * install location (so plugins installed next to core are found). Returns the places searched
 * when no package of that name is installed in any of them.
 *
 * Names resolve with ESM rules (the "import" and "node" export conditions), as the `import()`
 * that then loads the file does: CommonJS `require.resolve` would refuse an ESM-only package
 * ("exports": { "import": ... }) and pick a dual package's CommonJS build. A package that is
 * found but cannot be resolved (no export for ".", a broken package.json, a missing entry file)
 * throws Node's resolution error; importPlugin reports it naming the spec and the config key.
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
      return { url: esmResolve(spec, pathToFileURL(resolvePath(base, '__cwts_resolve__.js')).href) };
    } catch (err) {
      if (!isPackageNotFound(err)) throw err;
    }
  }
  return { searched: bases };
}

/**
 * No package of that name under this base: try the next one. The ESM resolver uses the same code
 * (ERR_MODULE_NOT_FOUND) for a package that is found but whose entry file is missing; only
 * "Cannot find package" means not installed here.
 */
function isPackageNotFound(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | undefined;
  return e?.code === 'ERR_MODULE_NOT_FOUND' && /^Cannot find package /.test(e.message);
}
