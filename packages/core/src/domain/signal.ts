/** A detector's finding, with the evidence that fired it. Floats are fine here: not money. */
export interface Signal {
  /** Unique and deterministic for a given input stream: `${detector}:${exchange}:${symbol}:${n}`. */
  id: string;
  detector: string;
  kind: string;
  exchange: string;
  symbol: string;
  /** Timestamp of the event that fired it (venue time, epoch ms). */
  ts: number;
  /** +1 bullish / buy flow, -1 bearish / sell flow, 0 neutral. */
  direction: 1 | -1 | 0;
  /** Detector-specific magnitude, e.g. a robust z-score. */
  strength: number;
  /** What fired it: trade ids, levels, scores; JSON-serializable. */
  evidence: Record<string, unknown>;
}
