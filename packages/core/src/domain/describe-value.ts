/**
 * Short, safe rendering of any value for an error message: never throws (a bigint, a cycle, a
 * getter that throws), never long. JSON.stringify throws on a bigint, which a report from a
 * third-party adapter or a hand-edited journal line may carry where a string belongs.
 */
export function describeValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length?: number }).length ?? v.byteLength})`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
