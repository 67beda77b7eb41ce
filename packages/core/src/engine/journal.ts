import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

import type { FsyncPolicy } from '../config/types.js';

/** JSON that carries bigints as strings tagged with a trailing 'n'. */
export function journalStringify(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

export function journalParse(line: string): unknown {
  return JSON.parse(line, (_k, v) => (typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v));
}

/**
 * Append-only JSON-lines journal of order activity. Appends go to an in-memory buffer (no I/O
 * on the hot path); `flush` writes them out and, by policy, fsyncs. 'always' flushes on every
 * append, 'batch' on a short timer and at shutdown.
 */
export class Journal {
  private fd: number | undefined;
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly path: string,
    private readonly policy: FsyncPolicy = 'batch',
    private readonly batchMs = 50,
  ) {}

  open(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    this.fd = openSync(this.path, 'a');
  }

  /** Every entry written so far (by earlier runs too), oldest first. Damaged lines are returned as errors. */
  static read(path: string): { entries: unknown[]; errors: string[] } {
    if (!existsSync(path)) return { entries: [], errors: [] };
    const entries: unknown[] = [];
    const errors: string[] = [];
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        entries.push(journalParse(line));
      } catch (err) {
        // A torn last line after a crash is expected; anything else is worth shouting about.
        errors.push(`${path}:${i + 1}: ${(err as Error).message}`);
      }
    });
    return { entries, errors };
  }

  append(entry: Record<string, unknown>): void {
    this.pending.push(journalStringify(entry));
    if (this.policy === 'always') this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.batchMs);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    writeSync(this.fd, text);
    if (this.policy !== 'never') fsyncSync(this.fd);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
