/**
 * Recorded-data replay: a synchronous, timer-free cursor over recorded market events. This file
 * merges streams and counts damage; each format is read by its own file: `jsonl` (the engine
 * recorder's, replay-jsonl.ts) and `tardis` (tardis.dev normalized CSV, replay-tardis.ts).
 *
 * Several files are merged by timestamp (stable: ties keep the order of `files`; each file's
 * records keep their file order). A trade delivered once is not delivered again, whichever file
 * repeats it (DeliveredTrades). Damage is counted, never hidden (docs/reliability.md, "Replay of
 * damaged recordings"): `malformed` records (repeated trades among them) are not replayed,
 * `skipped` ones are valid but not applicable, `outOfOrder` ones are replayed as recorded, and
 * `truncated` counts files that end inside a record. Each is reported through
 * `onError('replay', 'line N: ...')` (the first few of each kind; the counts are exact).
 */
import { basename } from 'node:path';
import type { Instrument, RecordingIntegrity } from '@cwts/core';
import { simInstrument, type InstrumentOverride, type ReplayFormat } from './options.js';
import { jsonlInstruments, jsonlRecords } from './replay-jsonl.js';
import { inferTardisInstruments, TardisStreams } from './replay-tardis.js';
import { DeliveredTrades } from './replay-trades.js';
import type { Keyed, ReplayDamageSink, ReplayItem } from './replay-types.js';

export type { ReplayItem } from './replay-types.js';
export { checkRecordedEvent, parseRecordedEvent, RECORDED_EVENT_SCHEMAS, RecordingGridChangeError } from './replay-jsonl.js';

export interface ReplaySourceOptions {
  /** One file or several, merged by timestamp. */
  files: readonly string[];
  /** Default: 'tardis' when every file ends in .csv or .csv.gz, else 'jsonl'. */
  format?: ReplayFormat;
  /** Rewrite every event's `exchange` (and the instruments') to this venue name. */
  exchange?: string;
  /** Keep only these symbols (undefined or empty: all); the others count as skipped. */
  symbols?: readonly string[];
  /** tick_size / lot_size / min_notional per symbol (tardis; also the fallback for headerless jsonl). */
  instruments?: Record<string, InstrumentOverride>;
  /** Recovered problems: malformed lines, unknown headers. */
  onError?: (component: string, message: string) => void;
  /** Rows per file scanned at the start to infer tardis tick and lot sizes and to find the exchanges of files without a header (default 5000). */
  inferRows?: number;
}

/** Messages per kind of damage before the rest are only counted (a broken file must not flood the log). */
const REPORTS_PER_KIND = 20;

/**
 * A single-pass, synchronous cursor over recorded events: `peek()`, `next()`, or iterate it.
 * Reads files lazily; `instruments()` reads the jsonl header or scans the first tardis rows.
 */
export class ReplaySource implements Iterable<ReplayItem> {
  readonly format: ReplayFormat;
  readonly files: readonly string[];
  /** Lines that are not a valid record (not JSON, binary, failing validation) or repeat a trade already delivered (from any file): not replayed. */
  malformed = 0;
  /** Valid records not replayed: an instrument the header does not declare, or not in `symbols`. */
  skipped = 0;
  /** Valid records going back in their stream (sequence or time): replayed as recorded. */
  outOfOrder = 0;
  /** Files that end inside a record (the cut record is not replayed). */
  truncated = 0;
  /** Items delivered so far. */
  delivered = 0;
  private readonly opts: ReplaySourceOptions;
  private readonly symbolFilter: Set<string> | undefined;
  private instrumentMap: Map<string, Instrument> | undefined;
  /** `exchange\0symbol` declared by jsonl headers (undefined when a file has none). */
  private declared: Set<string> | undefined;
  /** The one exchange the recording is of: from its headers or first rows, else its first record. */
  private recordedExchange: string | undefined;
  private heads: (Keyed | undefined)[] | undefined;
  private iters: Iterator<Keyed>[] = [];
  private peeked: ReplayItem | undefined;
  private tardis: TardisStreams | undefined;
  /** An item `TardisStreams.delivered` adds after the one just delivered. */
  private queued: ReplayItem | undefined;
  private done = false;
  private readonly tardisInstrumentCache = new Map<string, Instrument>();
  private readonly deliveredTrades = new DeliveredTrades();
  private readonly reported = new Map<string, number>();
  private readonly damage: ReplayDamageSink;

  constructor(opts: ReplaySourceOptions) {
    if (opts.files.length === 0) throw new Error('replay: no files given');
    this.opts = opts;
    this.files = [...opts.files];
    this.format = opts.format ?? (this.files.every((f) => /\.csv(\.gz)?$/i.test(f)) ? 'tardis' : 'jsonl');
    this.symbolFilter = opts.symbols && opts.symbols.length > 0 ? new Set(opts.symbols) : undefined;
    this.damage = {
      malformed: (file, lineNo, message) => {
        this.malformed++;
        this.report('malformed', file, lineNo, message);
      },
      skipped: (file, lineNo, message) => {
        this.skipped++;
        this.report('skipped', file, lineNo, message);
      },
      outOfOrder: (file, lineNo, message) => {
        this.outOfOrder++;
        this.report('out of order', file, lineNo, message);
      },
      truncated: (file, message) => {
        this.truncated++;
        this.report('truncated', file, -1, `recording truncated: ${message}`);
      },
      note: (file, lineNo, message) => this.report('note', file, lineNo, message),
    };
  }

  /** The damage counts so far (final once the source has ended). */
  integrity(): RecordingIntegrity {
    return { malformed: this.malformed, skipped: this.skipped, outOfOrder: this.outOfOrder, truncated: this.truncated };
  }

  private report(kind: string, file: string, lineNo: number, message: string): void {
    const n = (this.reported.get(kind) ?? 0) + 1;
    this.reported.set(kind, n);
    if (n > REPORTS_PER_KIND + 1) return;
    const where = this.files.length > 1 || lineNo <= 0 ? ` (${basename(file)})` : '';
    const text = n > REPORTS_PER_KIND ? `further ${kind} lines are counted, not reported one by one` : lineNo < 0 ? message : `line ${lineNo}: ${message}`;
    this.opts.onError?.('replay', `${text}${where}`);
  }

  /** Instruments of the recording, keyed by symbol (exchange rewritten when asked). */
  instruments(): Instrument[] {
    return [...this.instrumentsBySymbol().values()];
  }

  /** The instrument of a symbol: recorded, configured, or inferred; undefined if never seen. */
  instrument(symbol: string): Instrument | undefined {
    return this.instrumentsBySymbol().get(symbol) ?? this.tardisInstrumentCache.get(symbol);
  }

  /** Reads the headers (or first rows) once; throws when they name more than one exchange. */
  private instrumentsBySymbol(): Map<string, Instrument> {
    if (this.instrumentMap) return this.instrumentMap;
    const limit = this.opts.inferRows ?? 5000;
    if (this.format === 'tardis') {
      const { map, exchanges } = inferTardisInstruments(this.files, { exchange: this.opts.exchange, instruments: this.opts.instruments, limit });
      this.recordedExchange = mostRows(exchanges);
      this.instrumentMap = map;
      return map;
    }
    const { map, declared, exchanges, rowExchanges } = jsonlInstruments(this.files, { exchange: this.opts.exchange, instruments: this.opts.instruments, damage: this.damage, limit });
    this.recordedExchange = this.oneExchange(exchanges) ?? mostRows(rowExchanges);
    this.declared = declared;
    this.instrumentMap = map;
    return map;
  }

  /**
   * A replay is of one venue: every event is renamed to the replaying venue and applied to its
   * book of the symbol, so two venues' books of one symbol would be merged into one that neither
   * showed (each venue's quantities read in the lots of the first). Headers that declare several
   * exchanges are refused, as the CLI's `replay` refuses them, until a recording can be replayed
   * on one venue per recorded exchange. Rows are not headers: in a file without one (or a tardis
   * file) the exchange most of the first rows name is the recording's, and a row naming another
   * (a damaged cell, or another venue's data) is skipped and counted, as damage is; one bad cell
   * refused the whole file.
   */
  private oneExchange(exchanges: ReadonlySet<string>): string | undefined {
    if (exchanges.size <= 1) return exchanges.values().next().value;
    const names = [...exchanges].sort();
    const files = this.files.map((f) => basename(f)).join(', ');
    throw new MultiExchangeRecordingError(`replay: ${files} holds ${names.length} exchanges (${names.join(', ')}); replay of multi-exchange recordings is not supported yet: record one venue per file`);
  }

  [Symbol.iterator](): Iterator<ReplayItem> {
    return {
      next: (): IteratorResult<ReplayItem> => {
        const v = this.next();
        return v === undefined ? { done: true, value: undefined } : { done: false, value: v };
      },
    };
  }

  /** Timestamp of the next item (venue ms), or undefined at the end. */
  peekTs(): number | undefined {
    return this.peek()?.ts;
  }

  peek(): ReplayItem | undefined {
    if (this.peeked === undefined && !this.done) {
      this.peeked = this.pull();
      if (this.peeked === undefined) this.done = true;
    }
    return this.peeked;
  }

  next(): ReplayItem | undefined {
    const v = this.peek();
    this.peeked = undefined;
    if (v !== undefined) this.delivered++;
    return v;
  }

  get ended(): boolean {
    return this.peek() === undefined;
  }

  private pull(): ReplayItem | undefined {
    if (!this.heads) {
      this.instrumentsBySymbol();
      const tardis = (this.tardis = this.format === 'tardis' ? new TardisStreams((s, x) => this.tardisInstrument(s, x), this.damage) : undefined);
      this.iters = this.files.map((f) => (tardis ? tardis.records(f) : jsonlRecords(f, { declared: this.declared, damage: this.damage })));
      this.heads = this.iters.map((it) => {
        const r = it.next();
        return r.done ? undefined : r.value;
      });
    }
    if (this.queued) {
      const q = this.queued;
      this.queued = undefined;
      return q;
    }
    for (;;) {
      let bi = -1;
      for (let i = 0; i < this.heads.length; i++) {
        const h = this.heads[i];
        if (h && (bi < 0 || h.key < this.heads[bi]!.key)) bi = i;
      }
      if (bi < 0) return undefined;
      const head = this.heads[bi]!;
      const item = head.item;
      const r = this.iters[bi]!.next();
      this.heads[bi] = r.done ? undefined : r.value;
      if (this.symbolFilter && item.symbol !== '' && !this.symbolFilter.has(item.symbol)) {
        // a status says nothing lost about a pair not replayed: only its market records are counted
        if (item.type !== 'trading_status') this.skipped++;
        continue;
      }
      this.recordedExchange ??= item.exchange;
      if (item.exchange !== this.recordedExchange) {
        // A second exchange past the rows read at the start (a file with a header refuses it
        // earlier, as undeclared): its records are not merged into the first one's books.
        this.damage.skipped(this.files[bi]!, head.lineNo ?? 0, `${item.type} of exchange ${JSON.stringify(item.exchange).slice(0, 60)} in a recording of ${this.recordedExchange}: multi-exchange recordings are not replayed`);
        continue;
      }
      if (item.type === 'trade' && this.deliveredTrades.repeated(item)) {
        // The same trade again (a block a recorder or a copy wrote twice, overlapping rotated
        // recordings, a file given twice) is not a second trade: paper matching would fill
        // resting orders against it twice. Dropped, and counted as damage.
        this.damage.malformed(this.files[bi]!, head.lineNo ?? 0, `trade ${item.symbol} tradeId ${JSON.stringify(item.tradeId).slice(0, 60)} repeated at ts ${item.ts}: a duplicate line`);
        continue;
      }
      if (head.late !== undefined) this.damage.outOfOrder(this.files[bi]!, head.lineNo ?? 0, head.late);
      if (this.opts.exchange !== undefined) item.exchange = this.opts.exchange;
      if (this.tardis) this.queued = this.tardis.delivered(head);
      return item;
    }
  }

  private tardisInstrument(symbol: string, exchange: string): Instrument {
    let i = this.instrumentsBySymbol().get(symbol) ?? this.tardisInstrumentCache.get(symbol);
    if (!i) {
      // a symbol first seen after the inference rows: configured or default increments
      i = simInstrument(this.opts.exchange ?? exchange, symbol, { instruments: this.opts.instruments ?? {} });
      this.tardisInstrumentCache.set(symbol, i);
    }
    return i;
  }
}

/** The exchange most rows name (the first seen of equals), undefined when none. */
function mostRows(counts: ReadonlyMap<string, number>): string | undefined {
  let best: string | undefined;
  let n = 0;
  for (const [exchange, c] of counts) {
    if (c > n) {
      best = exchange;
      n = c;
    }
  }
  return best;
}

/** A recording whose headers declare more than one exchange: refused as a whole, before any record is replayed. */
export class MultiExchangeRecordingError extends Error {
  override readonly name = 'MultiExchangeRecordingError';
}
