/** JSON that carries bigints as strings tagged with a trailing 'n' (money is bigint). */
export function journalStringify(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

export function journalParse(line: string): unknown {
  return JSON.parse(line, (_k, v) => (typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v));
}
