// The framing both ends of the emulated-engine channel use (engine-server.mjs under the arm64
// Node, engine-host.ts in the x86-64 test): u32 little-endian header length, the JSON header
// (its `blobs` lists byte lengths), then the blobs: typed-array arguments travel as bytes.

// JSON has no NaN, Infinity or -0: they travel as {"$num": "NaN"}.
const replacer = (_k, v) => (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? { $num: Object.is(v, -0) ? '-0' : String(v) } : v);
const reviver = (_k, v) => (v !== null && typeof v === 'object' && '$num' in v ? Number(v.$num) : v);

/** One frame as bytes. */
export function encodeFrame(header, blobs = []) {
  const json = Buffer.from(JSON.stringify({ ...header, blobs: blobs.map((b) => b.length) }, replacer), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  return Buffer.concat([len, json, ...blobs]);
}

/** One frame through `readExactly(n)` (a Buffer, or null at end of input); null at end of input. */
export function readFrame(readExactly) {
  const len = readExactly(4);
  if (len === null) return null;
  const json = readExactly(len.readUInt32LE(0));
  if (json === null) throw new Error('the channel closed inside a frame');
  const header = JSON.parse(json.toString('utf8'), reviver);
  const blobs = (header.blobs ?? []).map((n) => {
    const b = readExactly(n);
    if (b === null) throw new Error('the channel closed inside a frame');
    return b;
  });
  return { header, blobs };
}

/** The bytes a typed array or DataView covers (no copy). */
export const bytesOf = (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** Arguments as they travel: views replaced by {$view: kind, blob: i}, their bytes in `blobs`. */
export function encodeArgs(args) {
  const blobs = [];
  const encoded = args.map((a) => {
    if (!ArrayBuffer.isView(a)) return a === undefined ? null : a;
    blobs.push(bytesOf(a));
    return { $view: a.constructor.name, blob: blobs.length - 1 };
  });
  return { args: encoded, blobs };
}

/** The arguments back: each view a private, aligned copy of its bytes, of the same kind. */
export function decodeArgs(args, blobs) {
  return args.map((a) => {
    if (a === null || typeof a !== 'object' || !('$view' in a)) return a;
    const bytes = blobs[a.blob];
    const ab = new ArrayBuffer(bytes.length);
    new Uint8Array(ab).set(bytes);
    if (a.$view === 'DataView') return new DataView(ab);
    const Ctor = globalThis[a.$view];
    return new Ctor(ab, 0, bytes.length / Ctor.BYTES_PER_ELEMENT);
  });
}
