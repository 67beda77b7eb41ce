/**
 * The control endpoint's credential. The engine takes it from `CWTS_CONTROL_TOKEN`, or makes a
 * fresh random one at every start and writes it to `<data dir>/control.token` (mode 0600), where
 * `cwts-ultra risk` on the same host finds it. The value never reaches a log or an error message.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEPLOY_DATA_DIR, resolveDataDir } from '../config/data-dir.js';

export const CONTROL_TOKEN_ENV = 'CWTS_CONTROL_TOKEN';
export const CONTROL_TOKEN_FILE = 'control.token';
/** An operator-chosen token shorter than this is refused: it could be guessed. */
export const MIN_CONTROL_TOKEN_LENGTH = 16;

export interface ControlToken {
  token: string;
  /** Where it came from: the environment, or the file it was written to / read from. */
  source: { kind: 'env' } | { kind: 'file'; path: string };
}

/**
 * Why the engine would refuse `CWTS_CONTROL_TOKEN` at start, or undefined (unset, or usable).
 * Reads nothing but `env` and writes nothing: validate-config and doctor report it, and `run`
 * asks before composing, so a token it refuses stops the start before any plugin connects.
 * The message never contains the value.
 */
export function controlTokenProblem(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const token = env[CONTROL_TOKEN_ENV]?.trim();
  if (token && token.length < MIN_CONTROL_TOKEN_LENGTH) return `${CONTROL_TOKEN_ENV} is too short (at least ${MIN_CONTROL_TOKEN_LENGTH} characters; e.g. \`openssl rand -base64 32\`)`;
  return undefined;
}

function fromEnv(env: NodeJS.ProcessEnv): ControlToken | undefined {
  const problem = controlTokenProblem(env);
  if (problem !== undefined) throw new Error(problem);
  const token = env[CONTROL_TOKEN_ENV]?.trim();
  if (!token) return undefined;
  return { token, source: { kind: 'env' } };
}

/**
 * Engine side, at start: the token from the environment, else a new one (256 random bits) written
 * to `<dataDir>/control.token` with mode 0600 (written to a temporary file first, so a reader
 * never sees half a token and the file is never readable by others, even for a moment).
 */
export function establishControlToken(opts: { env?: NodeJS.ProcessEnv; dataDir?: string } = {}): ControlToken {
  const env = opts.env ?? process.env;
  const given = fromEnv(env);
  const dir = opts.dataDir ?? resolveDataDir(env);
  const path = join(dir, CONTROL_TOKEN_FILE);
  if (given) {
    // A file left by an earlier start without the variable would be what `cwts-ultra risk` sends
    // from an operator's shell (which lacks the service's environment): a 401 at the kill switch.
    // Without the file the client says to set CWTS_CONTROL_TOKEN. Called only once the journal's
    // writer lock is held, so a refused second instance removes nothing of the running engine's.
    try {
      rmSync(path, { force: true });
    } catch {
      /* not ours to remove (permissions): the client then still reads it, as before */
    }
    return given;
  }
  const token = randomBytes(32).toString('base64url');
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, token + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* nothing was written there */
    }
    throw new Error(`risk control endpoint: cannot write the control token to ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (set ${CONTROL_TOKEN_ENV}, or CWTS_DATA_DIR to a writable directory)`);
  }
  return { token, source: { kind: 'file', path } };
}

/**
 * Client side (`cwts-ultra risk`): `CWTS_CONTROL_TOKEN`, else the token file in the data
 * directory, else in the deploy files' `/var/lib/cwts-ultra` (an operator's shell does not carry
 * the service's environment). The error names every place looked at.
 */
export function readControlToken(opts: { env?: NodeJS.ProcessEnv; dataDir?: string } = {}): ControlToken {
  const env = opts.env ?? process.env;
  const given = fromEnv(env);
  if (given) return given;
  const dirs = [...new Set([opts.dataDir ?? resolveDataDir(env), DEPLOY_DATA_DIR])];
  const problems: string[] = [];
  for (const dir of dirs) {
    const path = join(dir, CONTROL_TOKEN_FILE);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      problems.push(`${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    const token = text.trim();
    if (token) return { token, source: { kind: 'file', path } };
    problems.push(`${path}: empty`);
  }
  throw new Error(`no control token: ${CONTROL_TOKEN_ENV} is not set and no token file could be read (${problems.join('; ')}); run this on the engine's host as its user, with the engine's CWTS_DATA_DIR`);
}

/** Constant-time comparison: both sides are hashed first, so neither length nor content leaks through timing. */
export function tokensEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
