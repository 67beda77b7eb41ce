import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Lowers the calling thread's scheduling priority by `niceness` (Linux nice, relative to what
 * the thread has: a process started under `nice` stays below it, capped at 19), leaving the rest
 * of the process as it is. Linux schedules threads as tasks, and setpriority() on a thread
 * id renices that thread alone; the id is the last part of `/proc/thread-self`. Elsewhere
 * (setpriority takes only process ids there) nothing is done. Returns whether it was applied.
 */
export function niceThisThread(niceness: number): boolean {
  if (process.platform !== 'linux' || niceness <= 0) return false;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0 || tid === process.pid) return false;
    setPriority(tid, Math.min(19, getPriority(tid) + niceness));
    return true;
  } catch {
    return false;
  }
}
