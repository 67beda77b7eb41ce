import type { KV } from '@nats-io/kv';
import { errorText, isServerRejection } from './errors.js';
import { PEAK_KEY } from './names.js';

/**
 * The `peak` key of the control bucket: the aggregator's drawdown reference (the highest summed
 * equity, common units), so a restarted aggregator measures the drawdown from where it was.
 * `--resume` writes a reset (`peak: null`): the operator accepted the drawdown, and the peak
 * restarts at the summed equity, as a shard's own `risk resume` restarts its local peak.
 */
export interface PeakDoc {
  /** Decimal integer string; null: reset by `by`. */
  peak: string | null;
  by: string;
  ts: number;
}

/** What the key holds, when it changed since the last read or write. */
export type PeakRead =
  | { kind: 'same' }
  | { kind: 'absent' }
  | { kind: 'peak'; peak: bigint }
  | { kind: 'reset'; by: string }
  | { kind: 'unreadable'; why: string };

const INT = /^-?\d+$/;

/** Reads and writes the `peak` key by compare-and-set on the revision it last saw. */
export class PeakStore {
  /** The key's revision last read or written (0: absent). */
  private revision: number | undefined;
  /** The peak the key holds as far as this process knows (undefined: none, or a reset). */
  stored: bigint | undefined;

  constructor(
    private readonly control: KV,
    private readonly by: string,
    private readonly wallMs: () => number,
  ) {}

  /** Reads the key; `same` when its revision did not move since the last read or write. Throws on I/O errors. */
  async read(): Promise<PeakRead> {
    const e = await this.control.get(PEAK_KEY);
    const revision = e && e.operation === 'PUT' ? e.revision : 0;
    if (revision === this.revision) return { kind: 'same' };
    this.revision = revision;
    if (revision === 0) {
      this.stored = undefined;
      return { kind: 'absent' };
    }
    const r = parsePeakDoc(() => e!.json<unknown>());
    this.stored = r.kind === 'peak' ? r.peak : undefined;
    return r;
  }

  /** True when the key is still at the revision last read or written (nobody reset it meanwhile). */
  async unchanged(): Promise<boolean> {
    const e = await this.control.get(PEAK_KEY);
    return (e && e.operation === 'PUT' ? e.revision : 0) === this.revision;
  }

  /**
   * Writes `peak` by compare-and-set on the revision last seen. False when the key moved
   * meanwhile (another writer, a reset): the next read picks the change up. Never throws.
   */
  async save(peak: bigint, onError: (m: string) => void): Promise<boolean> {
    const doc: PeakDoc = { peak: peak.toString(), by: this.by, ts: this.wallMs() };
    const bytes = JSON.stringify(doc);
    try {
      this.revision = this.revision ? await this.control.update(PEAK_KEY, bytes, this.revision) : await this.control.create(PEAK_KEY, bytes);
      this.stored = peak;
      return true;
    } catch (err) {
      if (!isServerRejection(err)) onError(`saving the drawdown peak failed: ${errorText(err)}`);
      return false;
    }
  }
}

export function parsePeakDoc(json: () => unknown): Exclude<PeakRead, { kind: 'same' } | { kind: 'absent' }> {
  let raw: unknown;
  try {
    raw = json();
  } catch (err) {
    return { kind: 'unreadable', why: errorText(err) };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { kind: 'unreadable', why: `not an object (${String(JSON.stringify(raw)).slice(0, 80)})` };
  const m = raw as Record<string, unknown>;
  if (m.peak === null) return { kind: 'reset', by: typeof m.by === 'string' ? m.by : '?' };
  if (typeof m.peak === 'string' && INT.test(m.peak)) return { kind: 'peak', peak: BigInt(m.peak) };
  return { kind: 'unreadable', why: `peak ${JSON.stringify(m.peak) ?? 'missing'} is not an integer` };
}

/** `--resume`: the operator accepts the drawdown so far; the aggregator restarts its peak at the summed equity. */
export async function resetPeak(control: KV, by: string, ts: number): Promise<void> {
  const doc: PeakDoc = { peak: null, by, ts };
  await control.put(PEAK_KEY, JSON.stringify(doc));
}
