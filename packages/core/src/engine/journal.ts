import { existsSync, readFileSync } from 'node:fs';

import { journalParse } from '../journal/json.js';

export { journalParse, journalStringify } from '../journal/json.js';

/**
 * The JSON-lines journal of earlier versions, now an export format (`cwts-ultra journal
 * export`) and an import source (`journal import`); the store is SQLite (journal/store.ts).
 * Every entry of a file, oldest first. Damaged lines (a torn last line after a crash) come back
 * as errors with their line number, never glued to the next record.
 */
export function readJsonLines(path: string): { entries: unknown[]; lineNumbers: number[]; errors: string[] } {
  if (!existsSync(path)) return { entries: [], lineNumbers: [], errors: [] };
  const entries: unknown[] = [];
  const lineNumbers: number[] = [];
  const errors: string[] = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      entries.push(journalParse(line));
      lineNumbers.push(i + 1);
    } catch (err) {
      errors.push(`${path}:${i + 1}: ${(err as Error).message}`);
    }
  });
  return { entries, lineNumbers, errors };
}
