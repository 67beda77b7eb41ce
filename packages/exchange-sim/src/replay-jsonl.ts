/**
 * The engine recorder's format (`run --record`): line 1 is a header
 * `{"kind":"cwts-recording","version":1,"instruments":[InstrumentSpec,...]}` (each spec with the
 * pair's `trading` status at load; older recordings have none), then one MarketEvent
 * or FeedStatusEvent JSON object per line, in the order the engine received them, and a
 * `trading_status` line before the market event at which the engine first saw a pair's status
 * change.
 */
import { basename } from 'node:path';
import { z } from 'zod';
import { defineInstrument, INSTRUMENT_TRADING_VALUES, parseDecimal, type Instrument, type InstrumentSpec, type InstrumentTrading, type MarketEvent } from '@cwts/core';
import { simInstrument, type InstrumentOverride } from './options.js';
import { LINE_TOO_LONG, readLines, type LineReaderEvents } from './replay-lines.js';
import type { Keyed, ReplayDamageSink, ReplayItem, ReplayTradingStatus } from './replay-types.js';

export const RECORDING_HEADER_KIND = 'cwts-recording';

// Precompiled once: parsing a plain object against these is a few hundred ns per record.
const ticks = z.int({ error: 'must be an integer number of ticks' }).positive({ error: 'must be a positive number of ticks' });
const lots = z.int({ error: 'must be an integer number of lots' }).nonnegative({ error: 'must not be negative' });
const positiveLots = z.int({ error: 'must be an integer number of lots' }).positive({ error: 'must be a positive number of lots' });
const sequence = z.int({ error: 'must be an integer' }).nonnegative({ error: 'must not be negative' });
const time = z.number({ error: 'must be a number (epoch ms)' }).nonnegative({ error: 'must not be negative' });
const levels = z.array(z.object({ price: ticks, qty: lots }));
const side = z.enum(['buy', 'sell']);
const market = { exchange: z.string(), symbol: z.string().min(1, { error: 'must not be empty' }), ts: time, recvTs: time };

/** One schema per record type: the domain event shape, integer ticks and lots, nothing else kept. */
export const RECORDED_EVENT_SCHEMAS = {
  trade: z.object({ type: z.literal('trade'), ...market, tradeId: z.string(), price: ticks, qty: positiveLots, side }),
  liquidation: z.object({ type: z.literal('liquidation'), ...market, side, price: ticks, qty: positiveLots }),
  book_snapshot: z.object({ type: z.literal('book_snapshot'), ...market, seq: sequence, bids: levels, asks: levels, reason: z.enum(['initial', 'resync']) }),
  book_delta: z
    .object({ type: z.literal('book_delta'), ...market, firstSeq: sequence, seq: sequence, bids: levels, asks: levels })
    .refine((d) => d.firstSeq <= d.seq, { error: 'must not exceed seq', path: ['firstSeq'] }),
  feed_status: z.object({
    type: z.literal('feed_status'),
    exchange: z.string(),
    symbol: z.string(),
    state: z.enum(['connecting', 'synced', 'resyncing', 'stale', 'crossed', 'disconnected', 'stopped']),
    reason: z.string(),
    ts: time,
  }),
  trading_status: z.object({ type: z.literal('trading_status'), ...market, trading: z.enum(INSTRUMENT_TRADING_VALUES as [InstrumentTrading, ...InstrumentTrading[]]) }),
} as const;

/**
 * A header's `trading` of an instrument: undefined when absent (a recording older than the field:
 * replayed as before, open unless the options say otherwise), `closed` when it is not a status
 * this version knows (as an adapter maps a venue word it does not know: not tradable).
 */
export function headerTrading(spec: InstrumentSpec): InstrumentTrading | undefined {
  const t: unknown = spec.trading;
  if (t === undefined) return undefined;
  return (INSTRUMENT_TRADING_VALUES as readonly unknown[]).includes(t) ? (t as InstrumentTrading) : 'closed';
}

const recordingHeaderSchema = z.object({
  kind: z.literal(RECORDING_HEADER_KIND),
  version: z.unknown(),
  instruments: z.array(z.looseObject({})),
});

type ParsedRecord = { ok: true; item: ReplayItem } | { ok: false; message: string };

/** Validates one parsed JSON value as a recorded event; the item keeps only the domain fields. */
export function parseRecordedEvent(o: unknown): ParsedRecord {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { ok: false, message: 'not a JSON object' };
  const type = (o as { type?: unknown }).type;
  const schema = typeof type === 'string' && Object.hasOwn(RECORDED_EVENT_SCHEMAS, type) ? RECORDED_EVENT_SCHEMAS[type as keyof typeof RECORDED_EVENT_SCHEMAS] : undefined;
  if (!schema) return { ok: false, message: `unknown event type ${JSON.stringify(type)?.slice(0, 40)}` };
  const r = schema.safeParse(o);
  if (r.success) return { ok: true, item: r.data as ReplayItem };
  const issue = r.error.issues[0]!;
  return { ok: false, message: `${type} ${issue.path.join('.') || 'record'}: ${issue.message}` };
}

/** Error message for a parsed JSONL object, or undefined when it is a valid recorded event. */
export function checkRecordedEvent(o: unknown): string | undefined {
  const r = parseRecordedEvent(o);
  return r.ok ? undefined : r.message;
}

export interface RecordingHeader {
  version: unknown;
  instruments: InstrumentSpec[];
}

/** The header on line 1, or undefined when line 1 is not one. */
export function parseRecordingHeader(line: string): RecordingHeader | undefined {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  const r = recordingHeaderSchema.safeParse(o);
  return r.success ? { version: r.data.version, instruments: r.data.instruments as unknown as InstrumentSpec[] } : undefined;
}

export interface JsonlFileOptions {
  /** `exchange\0symbol` of the instruments the header declares; records of others are skipped. Undefined: no header, nothing skipped. */
  declared: ReadonlySet<string> | undefined;
  damage: ReplayDamageSink;
}

/**
 * The longest a book delta may lie ahead of its stream's previous delta (no snapshot between)
 * before its time counts as damaged: one hour. A depth stream that stays silent that long
 * without a disconnect, and so without a resync snapshot that starts the stream over, does not
 * occur on a listed instrument; a corrupted time does, and would move the replay's clock (and
 * every order sent after it) by as much.
 */
export const MAX_BOOK_TIME_JUMP_MS = 60 * 60_000;

/**
 * How far a recorded feed status's time may lie ahead of the venue's time before a replay stops
 * waiting for it: one hour, as for book deltas. A status carries the time of the host that
 * recorded it, not the venue's, and never moves the replay's clock (SimVenue); one stamped
 * further ahead is merged and delivered right after the market record before it in its file.
 * Not damage: a feed that stays down for hours records statuses that far ahead, legitimately.
 */
export const MAX_STATUS_TIME_LEAD_MS = MAX_BOOK_TIME_JUMP_MS;

/**
 * How far a market record's receive time `recvTs` may lie from its venue time `ts`, and how much
 * further ahead than its venue time it may move from its stream's previous record, before it
 * counts as damaged (far ahead: unless a later record vouches for it, ReceiveTimes): one hour, as
 * for book deltas. The replayed engine's clock follows receive
 * times and never goes back, so one corrupted a day ahead stopped the strategy for the rest of
 * the replay (every later signal "a day old") while the counts said clean. A live host's
 * receive lag is milliseconds to seconds; a host clock an hour off the venue's is not a
 * recording a backtest can judge time by either.
 */
export const MAX_RECEIVE_LAG_MS = MAX_BOOK_TIME_JUMP_MS;

/**
 * Feed statuses a file may hold before its first market record (they wait for it, to be merged
 * no later than it): past this many the rest go first in the merge, so memory stays bounded.
 */
const MAX_LEADING_STATUSES = 1024;

/**
 * The time a recorded event is replayed at: its venue time `ts`, except a book snapshot without
 * one. Binance spot's REST depth snapshot carries no event time, and the engine records it with
 * ts 0; it became the book when it arrived, so it takes its arrival time `recvTs`. Everything
 * that orders or clocks a replay (the merge of files, the virtual clock, timed replay, the
 * session's start in reports) reads this one time: the snapshot is delivered with it as `ts`.
 */
export function replayTime(item: ReplayItem): number {
  return item.type === 'book_snapshot' && item.ts === 0 ? item.recvTs : item.ts;
}

/**
 * The records of one file, in file order. Ordering is checked per stream of an instrument: book
 * deltas by sequence (`seq` not above the last book sequence; a gap, `firstSeq` past the last
 * `seq` + 1, that no later snapshot of the stream resyncs) and by venue time (going back, or
 * more than MAX_BOOK_TIME_JUMP_MS ahead; a snapshot starts both over), trades and liquidations
 * by venue time `ts`; every market record's receive time `recvTs` per stream too (ReceiveTimes,
 * which holds a record whose receive time is far ahead, and the ones after it, until a later
 * record vouches for it or not: their findings are reported when they are yielded, in file order).
 * Out-of-order records are replayed as recorded and counted, except that a delta too far ahead
 * is replayed at its stream's previous time and a damaged receive time is replaced; a trade's
 * disorder is counted when ReplaySource delivers it, which drops a repeated trade (of this file
 * or another) instead.
 *
 * Records are merged with other files' by replayTime (a feed status more than
 * MAX_STATUS_TIME_LEAD_MS after its file's market record before it: at that record's time; one
 * before its file's first market record: at its own time or that record's, whichever is
 * earlier; its own time is the recording host's). The merge takes each file's records in
 * file order, so a record stamped earlier than the one before it is still delivered right after
 * it; only a file's first record could move ahead of other files for a wrong time, and a
 * snapshot without venue time (the first record of every Binance spot recording) takes its
 * arrival time for that reason.
 */
export function* jsonlRecords(file: string, opts: JsonlFileOptions): Generator<Keyed> {
  const { damage, declared } = opts;
  /** Why the line read last is not text (readLines yields it as null). */
  let badLine = LINE_TOO_LONG;
  const lineEvents: LineReaderEvents = {
    onTruncated: (detail) => damage.truncated(file, detail),
    onUnreadable: (detail) => damage.malformed(file, 0, detail),
    onBadLine: (detail) => {
      badLine = detail;
    },
  };
  const lastBookSeq = new Map<string, number>();
  /** Venue and arrival time of the stream's last delta in time order since its last snapshot. */
  const lastDeltaTime = new Map<string, { ts: number; recvTs: number }>();
  /** A sequence gap not (yet) followed by a snapshot of its stream: counted if none comes. */
  const openGaps = new Map<string, { lineNo: number; message: string }>();
  const lastTradeTs = new Map<string, number>();
  const lastLiquidationTs = new Map<string, number>();
  const receiveTimes = new ReceiveTimes();
  /** Merge key of the file's last market record: a feed status is merged right after it. */
  let lastMarketKey: number | undefined;
  /** Feed statuses before the file's first market record, waiting to be keyed no later than it. */
  const leadingStatuses: Keyed[] = [];
  /**
   * The header's trading status of each pair, delivered right before the file's first market
   * record, at its time: with several recordings, each file's pairs trade as its run loaded them.
   */
  let headerStatuses: ReplayTradingStatus[] = [];
  let lineNo = 0;
  /** The current record's findings out of order: reported when it is released, in file order. */
  let lineDamage: string[] = [];
  const outOfOrder = (message: string): void => {
    lineDamage.push(message);
  };
  /** Reports what was found wrong with records ReceiveTimes releases, in file order. */
  const released = (records: HeldRecord[]): Keyed[] =>
    records.map((r) => {
      for (const message of r.damage) damage.outOfOrder(file, r.keyed.lineNo ?? 0, message);
      const item = r.keyed.item;
      if (r.receiveDamage !== undefined && item.type !== 'feed_status') {
        if (r.deltaTime) r.deltaTime.recvTs = item.recvTs;
        // a trade's is counted when it is delivered, as its other disorder (not if it is dropped
        // as a repeat); one line, one count
        if (item.type === 'trade') r.keyed.late ??= r.receiveDamage;
        else if (r.damage.length === 0) damage.outOfOrder(file, r.keyed.lineNo ?? 0, r.receiveDamage);
      }
      return r.keyed;
    });
  for (const line of readLines(file, lineEvents)) {
    lineNo++;
    if (line === null) {
      damage.malformed(file, lineNo, badLine);
      continue;
    }
    if (line.trim() === '') continue;
    if (lineNo === 1) {
      const header = parseRecordingHeader(line);
      if (header) {
        if (header.version !== 1) damage.note(file, lineNo, `unsupported recording version ${JSON.stringify(header.version)} (expected 1); reading on`);
        headerStatuses = header.instruments.flatMap((spec): ReplayTradingStatus[] => {
          const trading = headerTrading(spec);
          if (trading === undefined || typeof spec.exchange !== 'string' || typeof spec.symbol !== 'string') return [];
          // a spec jsonlInstruments refused (counted there) has no instrument to apply it to
          if (declared && !declared.has(`${spec.exchange}\u0000${spec.symbol}`)) return [];
          return [{ type: 'trading_status', exchange: spec.exchange, symbol: spec.symbol, trading, ts: 0, recvTs: 0 }];
        });
        continue;
      }
    }
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (e) {
      damage.malformed(file, lineNo, `invalid JSON: ${(e as Error).message.slice(0, 120)}`);
      continue;
    }
    if (lineNo === 1) damage.note(file, 0, 'no cwts-recording header on line 1; instruments come from options');
    const r = parseRecordedEvent(o);
    if (!r.ok) {
      damage.malformed(file, lineNo, r.message);
      continue;
    }
    const item = r.item;
    /** A snapshot without venue time: its time is its receive time, nothing to check it against. */
    const timedByArrival = item.type === 'book_snapshot' && item.ts === 0;
    item.ts = replayTime(item);
    let late: string | undefined;
    /** The delta's entry in lastDeltaTime when it set one: it takes the receive time as replayed. */
    let deltaTime: { ts: number; recvTs: number } | undefined;
    const stream = `${item.exchange}\u0000${item.symbol}`;
    if (declared && item.symbol !== '' && !declared.has(stream)) {
      damage.skipped(file, lineNo, `${item.type} for ${item.exchange}:${item.symbol}, which the header does not declare`);
      continue;
    }
    switch (item.type) {
      case 'book_snapshot':
        // A fetched snapshot's venue time may be older than the updates already seen (or
        // missing, replaced by its arrival time above): it is not checked, and the stream's time
        // starts over with the next delta.
        lastBookSeq.set(stream, item.seq);
        lastDeltaTime.delete(stream);
        // the live engine saw the gap too and resynced: the replay follows it faithfully
        openGaps.delete(stream);
        break;
      case 'book_delta': {
        const last = lastBookSeq.get(stream);
        if (last !== undefined && item.seq <= last) outOfOrder(`book_delta ${item.symbol} seq ${item.seq} after ${last}`);
        else {
          // A lost update leaves the engine's book resyncing until a snapshot, and the engine
          // only ever records its adapters' updates in sequence, so without a snapshot after
          // it the gap is the file's.
          if (last !== undefined && item.firstSeq > last + 1 && !openGaps.has(stream)) {
            openGaps.set(stream, { lineNo, message: `book_delta ${item.symbol} ${item.firstSeq}..${item.seq} after ${last}: updates lost, and no snapshot of ${item.symbol} follows` });
          }
          lastBookSeq.set(stream, item.seq);
        }
        const prev = lastDeltaTime.get(stream);
        if (prev !== undefined && item.ts < prev.ts) outOfOrder(`book_delta ${item.symbol} ts ${item.ts} before ${prev.ts}`);
        else if (prev !== undefined && item.ts - prev.ts > MAX_BOOK_TIME_JUMP_MS) {
          // Its levels and sequence keep the book whole; its time is not let move the clock.
          outOfOrder(`book_delta ${item.symbol} ts ${item.ts} is ${item.ts - prev.ts} ms after ${prev.ts} (bound ${MAX_BOOK_TIME_JUMP_MS}): replayed at ${prev.ts}`);
          item.ts = prev.ts;
          item.recvTs = prev.recvTs;
        } else lastDeltaTime.set(stream, (deltaTime = { ts: item.ts, recvTs: item.recvTs }));
        break;
      }
      case 'trade': {
        // A repeat of a trade is recognized where files meet, in ReplaySource; its disorder is
        // counted there too, unless it is dropped as a repeat.
        const last = lastTradeTs.get(stream);
        if (last !== undefined && item.ts < last) late = `trade ${item.symbol} ts ${item.ts} before ${last}`;
        else lastTradeTs.set(stream, item.ts);
        break;
      }
      case 'liquidation': {
        const last = lastLiquidationTs.get(stream);
        if (last !== undefined && item.ts < last) outOfOrder(`liquidation ${item.symbol} ts ${item.ts} before ${last}`);
        else lastLiquidationTs.set(stream, item.ts);
        break;
      }
    }
    // A status's time is the recording host's, not the venue's: one stamped far ahead is merged
    // right after the market record before it in its file (it held back every later record of
    // its file until the other files had passed its time), and one before the file's first
    // market record no later than that record (it has none before it to follow).
    const key = item.ts * 1000;
    const keyed: Keyed = late === undefined ? { key, item, lineNo } : { key, item, lineNo, late };
    const record: HeldRecord = { keyed, stream, checked: false, damage: lineDamage };
    lineDamage = [];
    if (item.type === 'feed_status') {
      // none before the file's first market record: ReceiveTimes holds nothing then either
      if (lastMarketKey === undefined) {
        leadingStatuses.push(keyed);
        // past the bound they go first: they must not wait unbounded, nor be held at their host time
        if (leadingStatuses.length > MAX_LEADING_STATUSES) yield* keyedNoLaterThan(leadingStatuses, 0);
        continue;
      }
      if (key - lastMarketKey > MAX_STATUS_TIME_LEAD_MS * 1000) keyed.key = lastMarketKey;
    } else {
      lastMarketKey = key;
      if (leadingStatuses.length > 0) yield* keyedNoLaterThan(leadingStatuses, key);
      if (headerStatuses.length > 0) {
        for (const st of headerStatuses) {
          st.ts = item.ts;
          st.recvTs = item.recvTs;
          yield { key, item: st };
        }
        headerStatuses = [];
      }
      // a status's times are those of the market event it came before, checked with that one
      record.checked = item.type !== 'trading_status' && item.recvTs !== 0 && !timedByArrival;
      if (deltaTime) record.deltaTime = deltaTime;
    }
    // every record passes through ReceiveTimes, which may hold a run of them (file order kept)
    yield* released(receiveTimes.admit(record));
  }
  yield* released(receiveTimes.finish());
  // A file of statuses only: nothing of it is behind them to hold back.
  yield* keyedNoLaterThan(leadingStatuses, Infinity);
  for (const gap of openGaps.values()) damage.outOfOrder(file, gap.lineNo, gap.message);
}

/** Yields and empties `statuses`, each keyed at its own key or `key`, whichever is earlier. */
function* keyedNoLaterThan(statuses: Keyed[], key: number): Generator<Keyed> {
  for (const s of statuses) {
    if (s.key > key) s.key = key;
    yield s;
  }
  statuses.length = 0;
}

/** A record of one file on its way through ReceiveTimes. */
interface HeldRecord {
  keyed: Keyed;
  /** `exchange\0symbol` of its instrument. */
  stream: string;
  /**
   * Its receive time is checked: a market record with one recorded (0: none) and a venue time to
   * check it against (a snapshot with `ts` 0 was given its receive time as venue time).
   */
  checked: boolean;
  /** What its sequence and venue-time checks found out of order: reported when it is released. */
  damage: string[];
  /** The delta's entry in lastDeltaTime when it set one: it takes the receive time as replayed. */
  deltaTime?: { ts: number; recvTs: number };
  /** Set when its receive time is damaged: why, and the receive time it is replayed at. */
  receiveDamage?: string;
}

/** A record's receive time (a feed status has none: 0). */
function receiveTime(record: HeldRecord): number {
  const item = record.keyed.item;
  return item.type === 'feed_status' ? 0 : item.recvTs;
}

/**
 * Records held past the first one whose receive time is far ahead, waiting for a later record
 * whose venue time vouches for it: past this many the first is counted damaged (memory stays
 * bounded; a venue's backfill, received in one frame, is far shorter).
 */
export const MAX_RECEIVE_WITNESS_WAIT = 10_000;

/**
 * The receive times of one file's market records, checked per stream of an instrument (its
 * trades, its liquidations, its book) as venue times are. The replayed engine's clock follows
 * receive times and never goes back, so what is bounded is a receive time that could move it
 * on for good; one that is late is not (a venue backfills the trades missed in an outage,
 * received hours after their venue time, legitimately). A receive time is damaged when it:
 * - goes back in its stream (a book snapshot starts its stream over and sets no floor: the
 *   updates buffered while it was fetched come after it and were received before it);
 * - lies more than MAX_RECEIVE_LAG_MS before its record's venue time (received before the venue
 *   says it happened: one of the two clocks is wrong);
 * - is far ahead: more than MAX_RECEIVE_LAG_MS after its record's venue time, or its receive lag
 *   (`recvTs - ts`) grew by more than that since its stream's previous record (a raw jump is not
 *   the test: a trade stream may stay silent for hours). Late receipt and a corrupted receive
 *   time look alike here, so the record and the ones after it are held until a later record of
 *   the file whose receive time is within the bound of its own venue time (the venue vouches
 *   for it): the far-ahead one stands when that receive time is no more than the bound behind
 *   it (time really passed: a backfill, its newest trade comes last), and is damaged when it is
 *   (the host's clock is back where it was: the far-ahead time was wrong), or when no such
 *   record comes before the end of the file or within MAX_RECEIVE_WITNESS_WAIT records (a host
 *   clock hours off the venue's makes every record damaged: a backtest cannot judge time by it).
 *
 * A damaged receive time is replaced by the earlier of itself and the record's venue time plus
 * the stream's last sound lag (the file's for a stream's first record; none: the venue time),
 * never before the stream's previous receive time: a damaged time never moves the replayed
 * engine's clock further ahead than either time the record carries, and the first record of a
 * file sets no absurd start. Which of the two times is wrong cannot be told, so the venue time
 * is not changed here (it is checked by its stream's own rules).
 */
class ReceiveTimes {
  /** Per stream: the receive time its last record is replayed at, and its last sound receive lag. */
  private readonly streams = new Map<string, { recvTs: number; lag: number | undefined }>();
  /** The file's last sound receive lag: the reference for a stream's first record. */
  private fileLag: number | undefined;
  /** In file order: a record whose receive time is far ahead, and every record after it. */
  private readonly held: HeldRecord[] = [];

  /** Takes the file's next record; returns the records now settled, in file order. */
  admit(record: HeldRecord): HeldRecord[] {
    this.held.push(record);
    if (this.held.length === 1) return this.settleHeld(() => undefined);
    const witness = this.vouchedReceiveTime(record);
    if (witness !== undefined) {
      // only a far-ahead record is asked, and a held record is a market record
      return this.settleHeld((r) => (r === record ? undefined : witness >= receiveTime(r) - MAX_RECEIVE_LAG_MS));
    }
    if (this.held.length > MAX_RECEIVE_WITNESS_WAIT) {
      const first = this.held[0];
      return this.settleHeld((r) => (r === first ? false : undefined));
    }
    return [];
  }

  /** At the end of the file: a receive time far ahead that nothing vouched for is damaged. */
  finish(): HeldRecord[] {
    return this.settleHeld(() => false);
  }

  /** The receive time of a checked record when it is within the bound of its own venue time. */
  private vouchedReceiveTime(record: HeldRecord): number | undefined {
    const item = record.keyed.item;
    if (!record.checked || item.type === 'feed_status') return undefined;
    return Math.abs(item.recvTs - item.ts) <= MAX_RECEIVE_LAG_MS ? item.recvTs : undefined;
  }

  /**
   * Settles held records from the first on, while each can be: `vouched(r)` says whether a later
   * record vouches for r's receive time far ahead (undefined: none yet, r and the rest stay held).
   */
  private settleHeld(vouched: (r: HeldRecord) => boolean | undefined): HeldRecord[] {
    let settled = 0;
    while (settled < this.held.length && this.settle(this.held[settled], vouched)) settled++;
    return this.held.splice(0, settled);
  }

  /** Checks one record's receive time; false when it is far ahead and waits for a later record. */
  private settle(record: HeldRecord, vouched: (r: HeldRecord) => boolean | undefined): boolean {
    const item = record.keyed.item;
    if (item.type === 'feed_status') return true;
    const key = `${item.type === 'book_snapshot' || item.type === 'book_delta' ? 'book' : item.type}\u0000${record.stream}`;
    if (!record.checked) {
      if (item.type === 'book_snapshot') this.streams.delete(key);
      return true;
    }
    // a snapshot is checked against its own venue time only, and sets no floor for the updates after it
    const prev = item.type === 'book_snapshot' ? undefined : this.streams.get(key);
    const lag = item.recvTs - item.ts;
    let why: string | undefined;
    let farAhead = false;
    if (prev !== undefined && item.recvTs < prev.recvTs) why = `before ${prev.recvTs}`;
    else if (Math.abs(lag) > MAX_RECEIVE_LAG_MS) {
      why = `${lag} ms from its ts ${item.ts} (bound ${MAX_RECEIVE_LAG_MS})`;
      farAhead = lag > 0;
    } else if (prev?.lag !== undefined && lag - prev.lag > MAX_RECEIVE_LAG_MS) {
      why = `${lag - prev.lag} ms further ahead of its ts ${item.ts} than its stream's previous record (bound ${MAX_RECEIVE_LAG_MS})`;
      farAhead = true;
    }
    if (farAhead) {
      const sound = vouched(record);
      if (sound === undefined) return false;
      if (sound) why = undefined;
    }
    if (why === undefined) {
      if (item.type === 'book_snapshot') this.streams.delete(key);
      else this.streams.set(key, { recvTs: item.recvTs, lag });
      this.fileLag = lag;
      return true;
    }
    const reference = prev?.lag ?? this.fileLag ?? 0;
    const replayedAt = Math.max(prev?.recvTs ?? 0, Math.min(item.recvTs, item.ts + reference));
    record.receiveDamage = `${item.type} ${item.symbol} recvTs ${item.recvTs} is ${why}: replayed at ${replayedAt}`;
    item.recvTs = replayedAt;
    if (item.type === 'book_snapshot') this.streams.delete(key);
    else this.streams.set(key, { recvTs: replayedAt, lag: prev?.lag });
    return true;
  }
}

/**
 * Instruments of jsonl recordings, by symbol: those their headers declare (exchange rewritten
 * to `exchange` when given), then configured ones for symbols no header declares. `declared`
 * (`exchange\0symbol`) is undefined when some file has no header: nothing can be refused then.
 * `exchanges`: the exchanges the headers name; `rowExchanges`: how many of the first `limit`
 * valid records of each file without a header name each exchange (the records of a file with a
 * header are refused unless it declares them).
 */
export function jsonlInstruments(
  files: readonly string[],
  o: { exchange?: string | undefined; instruments?: Record<string, InstrumentOverride> | undefined; damage: ReplayDamageSink; limit: number },
): { map: Map<string, Instrument>; declared: Set<string> | undefined; exchanges: Set<string>; rowExchanges: Map<string, number> } {
  const map = new Map<string, Instrument>();
  const declared = new Set<string>();
  const exchanges = new Set<string>();
  const rowExchanges = new Map<string, number>();
  /** The file (and its exchange) each symbol's instrument in `map` was declared by. */
  const declaredBy = new Map<string, { file: string; exchange: string }>();
  let everyFileHasHeader = true;
  for (const f of files) {
    const lines = readLines(f, { onTruncated: () => {}, onUnreadable: () => {} });
    const first = lines.next();
    const header = first.done || first.value === null ? undefined : parseRecordingHeader(first.value);
    if (!header) {
      everyFileHasHeader = false;
      // Reading ahead is not the replay: damage is counted when the records are replayed.
      let n = 0;
      for (let line = first; !line.done && n < o.limit; line = lines.next(), n++) {
        if (line.value === null) continue;
        let rec: unknown;
        try {
          rec = JSON.parse(line.value);
        } catch {
          continue;
        }
        const r = parseRecordedEvent(rec);
        if (r.ok) rowExchanges.set(r.item.exchange, (rowExchanges.get(r.item.exchange) ?? 0) + 1);
      }
      lines.return?.(undefined);
      continue;
    }
    lines.return?.(undefined);
    for (const spec of header.instruments) {
      if (typeof spec.exchange === 'string') exchanges.add(spec.exchange);
      try {
        const trading = headerTrading(spec);
        if (trading !== spec.trading) o.damage.malformed(f, 1, `instrument ${String(spec.symbol).slice(0, 40)} in header: unknown trading status ${JSON.stringify(spec.trading)?.slice(0, 40)}, replayed as closed`);
        const venueStatus = typeof spec.venueStatus === 'string' ? spec.venueStatus : undefined;
        const i = defineInstrument({ ...spec, exchange: o.exchange ?? spec.exchange, trading, venueStatus });
        declared.add(`${spec.exchange}\u0000${spec.symbol}`);
        const first = map.get(i.symbol);
        if (first === undefined) {
          map.set(i.symbol, i);
          declaredBy.set(i.symbol, { file: f, exchange: spec.exchange });
        } else {
          const by = declaredBy.get(i.symbol)!;
          // another exchange's pair of the same name: the recording is refused as multi-exchange (ReplaySource)
          if (by.exchange === spec.exchange && !sameGrid(first, i)) throw new RecordingGridChangeError(first, by.file, i, f);
        }
      } catch (e) {
        if (e instanceof RecordingGridChangeError) throw e;
        // Its records are then all skipped as undeclared: a replay of nothing must not pass as clean.
        o.damage.malformed(f, 1, `bad instrument in header: ${(e as Error).message}`);
      }
    }
  }
  for (const [sym, spec] of Object.entries(o.instruments ?? {})) {
    if (!map.has(sym) && (spec.tickSize || spec.lotSize)) map.set(sym, simInstrument(o.exchange ?? 'replay', sym, { instruments: o.instruments ?? {} }));
  }
  return { map, declared: everyFileHasHeader ? declared : undefined, exchanges, rowExchanges };
}

/** Two decimal strings of one number ("0.10" and "0.1"); strings that are not decimals compare as text. */
function sameDecimal(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    const x = parseDecimal(a);
    const y = parseDecimal(b);
    const e = Math.max(x.exponent, y.exponent);
    return x.mantissa * 10n ** BigInt(e - x.exponent) === y.mantissa * 10n ** BigInt(e - y.exponent);
  } catch {
    return false;
  }
}

function sameGrid(a: Instrument, b: Instrument): boolean {
  return sameDecimal(a.tickSize, b.tickSize) && sameDecimal(a.lotSize, b.lotSize) && sameDecimal(a.minNotional, b.minNotional);
}

const describeGrid = (i: Instrument): string => `tick ${i.tickSize}, lot ${i.lotSize}, min notional ${i.minNotional}`;

/**
 * Recordings whose headers give one pair different grids (tick, lot or min notional), as when the
 * venue changed them between two runs (docs/venues.md, "A pair whose grid changes"). Each file's
 * prices and quantities are counted in its own header's grid, and a replay has one instrument per
 * pair: read in the other file's grid, a tenfold tick made every price a tenth, a clean-looking
 * crash. Rescaling is not offered: a strategy that worked on one tick would be replayed on another
 * grid than it met live (and a coarser grid cannot hold a finer one's prices at all). Refused as
 * a whole, before any record is replayed: replay each side of the change on its own.
 */
export class RecordingGridChangeError extends Error {
  override readonly name = 'RecordingGridChangeError';
  constructor(first: Instrument, firstFile: string, other: Instrument, otherFile: string) {
    super(
      `replay: ${first.symbol} has another grid in ${basename(otherFile)} (${describeGrid(other)}) than in ${basename(firstFile)} (${describeGrid(first)}); ` +
        'each recording counts prices and quantities in its own grid and one replay cannot recount them: replay the recordings on each side of the change separately',
    );
  }
}
