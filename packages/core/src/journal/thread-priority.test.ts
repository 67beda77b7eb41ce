import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { JournalStore, WRITER_NICE } from './store.js';

/** nice of every thread of this process, by thread id (Linux: field 19 of /proc/self/task/<tid>/stat). */
function threadNices(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
      // Fields after the command name (which is in parentheses and may hold spaces).
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), Number(rest[16]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

describe.runIf(process.platform === 'linux')('journal writer thread priority (Linux)', () => {
  it('under batch the writer thread alone runs niced; under always it is not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-nice-'));
    // Relative to this process's nice (a test run under `nice` starts above 0).
    const mainNice = threadNices().get(process.pid)!;
    const writerNice = Math.min(19, mainNice + WRITER_NICE);
    const before = new Set(threadNices().keys());
    const batch = JournalStore.open(join(dir, 'b.db'), { fsync: 'batch' });
    const started = [...threadNices()].filter(([t]) => !before.has(t));
    // The writer thread, and nothing else, runs below the process (threads it started, too: none).
    expect(started.filter(([, n]) => n === writerNice)).toHaveLength(mainNice >= 19 ? started.length : 1);
    expect([...threadNices()].filter(([t]) => before.has(t)).every(([, n]) => n === mainNice)).toBe(true);
    batch.close();
    // That thread may still be ending (terminate is asynchronous): only threads new from here count.
    for (const [t] of started) before.add(t);

    const always = JournalStore.open(join(dir, 'a.db'), { fsync: 'always' });
    const startedAlways = [...threadNices()].filter(([t]) => !before.has(t));
    expect(startedAlways.length).toBeGreaterThan(0);
    expect(startedAlways.every(([, n]) => n === mainNice)).toBe(true);
    always.close();
  });
});
