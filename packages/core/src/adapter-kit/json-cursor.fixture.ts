/**
 * Test fixture (loaded in a guarded worker by json-cursor.test.ts): walks any JSON text with
 * every JsonCursor reader (integers through readInt, strings through readString, the rest
 * through skipValue), so a frame cut at any offset exercises each reader's end-of-text path.
 */
import { JsonCursor, isScanFailure } from './json-cursor.js';

function walk(c: JsonCursor): void {
  const ch = c.peek();
  if (ch === 123) {
    c.beginObject();
    for (let first = true; c.nextKey(first); first = false) walk(c);
  } else if (ch === 34) retry(c, () => c.readString());
  else if (ch === 116 || ch === 102) c.readBool();
  else if (ch === 45 || (ch >= 48 && ch <= 57)) {
    retry(c, () => c.readInt());
  } else c.skipValue();
}

/** The specific reader, or skipValue where it declines (escapes, fractions). */
function retry(c: JsonCursor, read: () => unknown): void {
  const save = c.i;
  try {
    read();
  } catch (err) {
    if (!isScanFailure(err)) throw err;
    c.i = save;
    c.skipValue();
  }
}

export function createCursorWalker(): { walk(text: string): 'ok' | 'failed' } {
  const c = new JsonCursor();
  return {
    walk(text: string) {
      try {
        walk(c.reset(text));
        c.end_();
        return 'ok';
      } catch (err) {
        if (isScanFailure(err)) return 'failed';
        throw err;
      }
    },
  };
}
