import { existsSync, readFileSync, statSync } from 'node:fs';
import { jsBackendProvider } from '../compute/js-backend.js';
import { computeVaR, VAR_METHODS, VaRInputError, type VaRMethod } from '../risk/var.js';

/** A problem with the `var` command's input: one clear line, exit code 2. */
export class VarCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VarCommandError';
  }
}

export interface VarCommandOptions {
  returns: string;
  weights?: string;
  confidence?: string;
  method?: string;
  horizon?: string;
  paths?: string;
  seed?: string;
  json?: boolean;
}

export interface ReturnsTable {
  assets: string[];
  rows: number[][];
}

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * CSV of returns: a header with one asset name per column, then one row per period of numbers
 * (simple returns, e.g. 0.0123). Comma separated; blank lines at the end are ignored; a UTF-8 BOM
 * is allowed. Every problem names the line and column.
 */
export function parseReturnsCsv(text: string, file = 'returns'): ReturnsTable {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) throw new VarCommandError(`${file}: empty file (expected a header with asset names, then one row of returns per period)`);
  const assets = lines[0]!.split(',').map((s) => s.trim());
  assets.forEach((a, j) => {
    if (a === '') throw new VarCommandError(`${file} line 1: column ${j + 1} has no asset name`);
    if (NUMBER_RE.test(a)) throw new VarCommandError(`${file} line 1: the first line must be a header of asset names, got the number ${a} in column ${j + 1}`);
  });
  const seen = new Set<string>();
  for (const a of assets) {
    if (seen.has(a)) throw new VarCommandError(`${file} line 1: asset ${a} appears twice in the header`);
    seen.add(a);
  }
  const rows: number[][] = [];
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '') throw new VarCommandError(`${file} line ${n + 1}: blank line between rows`);
    const cells = line.split(',');
    if (cells.length !== assets.length) {
      throw new VarCommandError(`${file} line ${n + 1}: ${cells.length} value${cells.length === 1 ? '' : 's'}, but the header has ${assets.length} column${assets.length === 1 ? '' : 's'} (ragged CSV)`);
    }
    const row = cells.map((c, j) => {
      const s = c.trim();
      if (!NUMBER_RE.test(s)) throw new VarCommandError(`${file} line ${n + 1}, column ${assets[j]}: ${s === '' ? 'empty cell' : JSON.stringify(s) + ' is not a number'}`);
      const v = Number(s);
      if (!Number.isFinite(v)) throw new VarCommandError(`${file} line ${n + 1}, column ${assets[j]}: ${s} is out of range`);
      return v;
    });
    rows.push(row);
  }
  if (rows.length < 2) throw new VarCommandError(`${file}: ${rows.length} row${rows.length === 1 ? '' : 's'} of returns; at least 2 are needed`);
  return { assets, rows };
}

/** `--weights 0.6,0.4` (in header order) or `--weights BTC=0.6,ETH=0.4`; default equal weights summing to 1. */
export function parseWeights(spec: string | undefined, assets: string[]): number[] {
  if (spec === undefined) return assets.map(() => 1 / assets.length);
  const parts = spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const num = (s: string, what: string) => {
    if (!NUMBER_RE.test(s)) throw new VarCommandError(`--weights: ${what} ${JSON.stringify(s)} is not a number`);
    return Number(s);
  };
  if (parts.length > 0 && parts.every((p) => p.includes('='))) {
    const w = assets.map(() => Number.NaN);
    for (const p of parts) {
      const [name, value] = p.split('=', 2).map((s) => s.trim()) as [string, string];
      const j = assets.indexOf(name);
      if (j < 0) throw new VarCommandError(`--weights: no asset ${name} in the CSV header (assets: ${assets.join(', ')})`);
      w[j] = num(value, `weight of ${name}`);
    }
    const missing = assets.filter((_, j) => Number.isNaN(w[j]));
    if (missing.length > 0) throw new VarCommandError(`--weights: no weight for ${missing.join(', ')}`);
    return w;
  }
  if (parts.some((p) => p.includes('='))) throw new VarCommandError('--weights: use either all NAME=VALUE pairs or plain values in header order');
  if (parts.length !== assets.length) throw new VarCommandError(`--weights: ${parts.length} weight${parts.length === 1 ? '' : 's'} for ${assets.length} asset${assets.length === 1 ? '' : 's'} (${assets.join(', ')})`);
  return parts.map((p, j) => num(p, `weight ${j + 1}`));
}

function parseConfidence(s: string | undefined): number {
  if (s === undefined) return 0.99;
  const c = NUMBER_RE.test(s.trim()) ? Number(s) : Number.NaN;
  if (!(c > 0 && c < 1)) throw new VarCommandError(`--confidence must be a number strictly between 0 and 1 (e.g. 0.99), got ${s}`);
  return c;
}

function parseWhole(s: string | undefined, flag: string, dflt: number, min: number): number {
  if (s === undefined) return dflt;
  const v = /^\d+$/.test(s.trim()) ? Number(s) : Number.NaN;
  if (!Number.isSafeInteger(v) || v < min) throw new VarCommandError(`${flag} must be a whole number >= ${min}, got ${s}`);
  return v;
}

/**
 * `cwts-ultra var --returns FILE.csv [--weights ...] [--confidence 0.99] [--method historical|
 * parametric|montecarlo] [--horizon N] [--paths N] [--seed N] [--json]`.
 */
export async function varCommand(o: VarCommandOptions, out: (line: string) => void): Promise<number> {
  const method = (o.method ?? 'historical') as VaRMethod;
  if (!VAR_METHODS.includes(method)) throw new VarCommandError(`--method must be one of ${VAR_METHODS.join(', ')}, got ${o.method}`);
  const confidence = parseConfidence(o.confidence);
  const horizon = parseWhole(o.horizon, '--horizon', 1, 1);
  const paths = parseWhole(o.paths, '--paths', 100_000, 1);
  const seed = parseWhole(o.seed, '--seed', 1, 0);
  if (!existsSync(o.returns)) throw new VarCommandError(`--returns: file not found: ${o.returns}`);
  if (statSync(o.returns).isDirectory()) throw new VarCommandError(`--returns: ${o.returns} is a directory, not a CSV file`);
  const table = parseReturnsCsv(readFileSync(o.returns, 'utf8'), o.returns);
  const weights = parseWeights(o.weights, table.assets);
  const backend = method === 'montecarlo' ? await jsBackendProvider.create({}) : undefined;
  let r;
  try {
    r = await computeVaR(method, table.rows, weights, confidence, { horizon, backend, paths, seed });
  } catch (err) {
    if (err instanceof VaRInputError) throw new VarCommandError(err.message);
    throw err;
  } finally {
    await backend?.dispose();
  }
  const report = { ...r, assets: table.assets, weights, periods: table.rows.length };
  if (o.json) {
    out(JSON.stringify(report));
    return 0;
  }
  const pct = `${+(confidence * 100).toPrecision(10)}%`;
  out(`${method} VaR at ${pct}, horizon ${horizon} period${horizon === 1 ? '' : 's'}, ${table.rows.length} periods of ${table.assets.length} asset${table.assets.length === 1 ? '' : 's'} (${table.assets.map((a, j) => `${a} ${weights[j]}`).join(', ')})`);
  out(`  VaR   ${fmt(r.var)}`);
  out(`  CVaR  ${fmt(r.cvar)}`);
  out(`  mean loss ${fmt(r.meanLoss)}, std ${fmt(r.stdLoss)}, ${method === 'montecarlo' ? `${r.paths} paths, seed ${r.seed}, VaR standard error ${fmt(r.standardError!)}` : `${r.observations} ${method === 'historical' ? 'scenarios' : 'observations'}`}`);
  out('  (losses are positive; in the units of weight x return)');
  return 0;
}

const fmt = (x: number): string => (Math.abs(x) >= 1e-4 || x === 0 ? x.toFixed(6) : x.toExponential(4));
