import Database from 'better-sqlite3';

/** What an operator does when the journal's SQLite addon cannot be loaded (docs/native-packages.md). */
export const SQLITE_BINDING_FIX =
  'approve better-sqlite3\'s install script, which builds its addon: in pnpm-workspace.yaml `allowBuilds:` add `better-sqlite3: true`, then reinstall (`pnpm install`; `pnpm rebuild better-sqlite3` after a Node.js upgrade); npm runs it without asking. Building needs a compiler or internet access to its prebuilt binaries (docs/native-packages.md, "better-sqlite3 (core\'s journal)")';

/**
 * Why `run` could not open the journal whatever its path, or undefined when it could: the
 * addon better-sqlite3 loads on its first `new Database` (not at import). pnpm 10+ skips the
 * install script that builds it unless approved, and nothing else fails until `run` opens the
 * journal. Probed through the same package the journal imports (its writer thread loads the
 * same addon file), on an in-memory database so no file is touched.
 */
export function sqliteBindingProblem(): string | undefined {
  try {
    new Database(':memory:').close();
    return undefined;
  } catch (err) {
    // better-sqlite3's "Tried:" list of a dozen paths adds nothing the fix does not say
    const first = String((err as Error)?.message ?? err).replace(/\n[\s\S]*$/, '').trim();
    return `better-sqlite3's native addon cannot be loaded (${first}): \`run\` cannot open the journal`;
  }
}
