// Which glibc a Linux binary needs, read from its ELF version-needed table (.gnu.version_r): the
// table the dynamic loader checks before anything runs ("version `GLIBC_2.36' not found").
// A small reader, so the check needs no binutils (objdump -T shows the same thing).
import { readFileSync } from 'node:fs';

const SHT_DYNSYM = 11;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;

/** Compares dotted versions numerically: 2.9 < 2.28. */
export function compareVersions(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The versions a 64-bit little-endian ELF shared object needs from other libraries:
 * [{ file: 'libc.so.6', version: 'GLIBC_2.14', symbols: ['memcpy'] }]. Throws on anything else.
 */
export function neededVersions(path) {
  const b = readFileSync(path);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path}: not an ELF file`);
  if (b[4] !== 2 || b[5] !== 1) throw new Error(`${path}: not a 64-bit little-endian ELF file`);
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    sections.push({
      type: b.readUInt32LE(o + 4),
      offset: Number(b.readBigUInt64LE(o + 0x18)),
      size: Number(b.readBigUInt64LE(o + 0x20)),
      link: b.readUInt32LE(o + 0x28),
      info: b.readUInt32LE(o + 0x2c),
    });
  }
  const cstr = (table, at) => {
    const start = table.offset + at;
    return b.toString('latin1', start, b.indexOf(0, start));
  };

  // Symbols by version index (the vna_other of a Vernaux), from .dynsym and .gnu.version.
  const byIndex = new Map();
  const dynsym = sections.find((s) => s.type === SHT_DYNSYM);
  const versym = sections.find((s) => s.type === SHT_GNU_VERSYM);
  if (dynsym && versym) {
    const names = sections[dynsym.link];
    for (let i = 0; i < dynsym.size / 24; i++) {
      const o = dynsym.offset + i * 24;
      if (b.readUInt16LE(o + 6) !== 0) continue; // defined here: not a need
      const index = b.readUInt16LE(versym.offset + i * 2) & 0x7fff;
      if (index < 2) continue;
      if (!byIndex.has(index)) byIndex.set(index, []);
      byIndex.get(index).push(cstr(names, b.readUInt32LE(o)));
    }
  }

  const out = [];
  const verneed = sections.find((s) => s.type === SHT_GNU_VERNEED);
  if (!verneed) return out;
  const strings = sections[verneed.link];
  let need = verneed.offset;
  for (let n = 0; n < verneed.info; n++) {
    const count = b.readUInt16LE(need + 2);
    const file = cstr(strings, b.readUInt32LE(need + 4));
    let aux = need + b.readUInt32LE(need + 8);
    for (let a = 0; a < count; a++) {
      const index = b.readUInt16LE(aux + 6) & 0x7fff;
      out.push({ file, version: cstr(strings, b.readUInt32LE(aux + 8)), symbols: (byIndex.get(index) ?? []).sort() });
      aux += b.readUInt32LE(aux + 12);
    }
    const next = b.readUInt32LE(need + 12);
    if (next === 0) break;
    need += next;
  }
  return out;
}

/**
 * The glibc versions a binary needs newer than `floor` ('2.28'), newest first, each with the
 * symbols that need it: [] when the binary loads on that glibc.
 */
export function glibcNeedsAbove(path, floor) {
  return neededVersions(path)
    .filter((v) => v.version.startsWith('GLIBC_') && /^GLIBC_[0-9.]+$/.test(v.version))
    .map((v) => ({ ...v, glibc: v.version.slice('GLIBC_'.length) }))
    .filter((v) => compareVersions(v.glibc, floor) > 0)
    .sort((x, y) => compareVersions(y.glibc, x.glibc));
}

/** The newest glibc version a binary needs ('2.25'), or undefined when it needs none. */
export function newestGlibcNeeded(path) {
  return neededVersions(path)
    .map((v) => /^GLIBC_([0-9.]+)$/.exec(v.version)?.[1])
    .filter(Boolean)
    .sort(compareVersions)
    .at(-1);
}
