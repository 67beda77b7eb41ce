/** One finding of `cwts-ultra doctor`. */
export type CheckStatus = 'PASS' | 'WARN' | 'FAIL' | 'SKIP';

export interface CheckResult {
  /** Stable id (JSON consumers, tests), e.g. "cpu-governor". */
  id: string;
  /** What was checked, in words. */
  title: string;
  status: CheckStatus;
  /** What was found, always with the reason when the check could not run. */
  detail: string;
  /** What to do about a WARN or FAIL. */
  fix?: string;
}

/**
 * How checks read the host, so tests can play any machine: file contents (/proc, /sys) and
 * commands (timedatectl, chronyc) with a bound on their run time.
 */
export interface HostProbe {
  /** The file's text, or undefined when it cannot be read (missing, permission). */
  readFile(path: string): string | undefined;
  /** Lists a directory; undefined when it cannot be read. */
  listDir(path: string): string[] | undefined;
  /** Runs a command; undefined when it is not installed. */
  run(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } | undefined;
}

/** Exit code of `doctor`: the worst result (SKIP counts as PASS). */
export const DOCTOR_EXIT: Record<Exclude<CheckStatus, 'SKIP'>, number> = { PASS: 0, WARN: 1, FAIL: 2 };

export function worstExit(results: readonly CheckResult[]): number {
  let code = 0;
  for (const r of results) if (r.status !== 'SKIP') code = Math.max(code, DOCTOR_EXIT[r.status]);
  return code;
}
