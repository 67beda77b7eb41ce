import { describeValue } from './describe-value.js';

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

/**
 * Why a signal cannot be taken, or undefined: its names are not strings, its time is not a
 * finite number, its direction is not -1, 0 or 1, its strength is not finite. Detectors are
 * plugins, and a plain JavaScript one is not held to the types: a NaN time once failed the
 * journal's batch, and with it every order and fill queued beside it, for good.
 */
export function signalProblem(s: Signal): string | undefined {
  if (s === null || typeof s !== 'object') return `not a signal: ${describeValue(s)}`;
  for (const k of SIGNAL_NAMES) if (typeof s[k] !== 'string') return `${k} ${describeValue(s[k])} is not a string`;
  if (!Number.isFinite(s.ts)) return `ts ${describeValue(s.ts)} is not a finite number`;
  if (s.direction !== 1 && s.direction !== -1 && s.direction !== 0) return `direction ${describeValue(s.direction)} is not -1, 0 or 1`;
  if (!Number.isFinite(s.strength)) return `strength ${describeValue(s.strength)} is not a finite number`;
  return undefined;
}

const SIGNAL_NAMES = ['id', 'detector', 'kind', 'exchange', 'symbol'] as const;
