import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database as Db } from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import type { Order } from '../domain/orders.js';
import type { JournalError } from './errors.js';
import type { RecordRingWriter } from './record-ring.js';
import { readReportRows, type UnreadableRow } from './read-rows.js';
import { SLOT_BYTES } from './ring-records.js';
import { JournalStore } from './store.js';
import type { JournalRecord } from './records.js';

/**
 * The hand-over ring seen from the store: the journal's order is the append order whichever
 * path a record took (ring slot, postMessage, a full ring's spill), a writer killed mid-batch
 * loses nothing committed, and a slot that does not read is refused, counted and reported.
 */

const here = dirname(fileURLToPath(import.meta.url));
const DIST_STORE = resolve(here, '../../dist/journal/store.js');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'cwts-journal-ring-'));
}

/**
 * The records of step n, as the child process below also makes them: an order (every 7th with a
 * text too long for a slot: postMessage), its ack (ring), every 5th step a risk record and every
 * 6th a component state (postMessage).
 */
function step(n: number): JournalRecord[] {
  const order: Order = {
    exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 1, tif: 'GTC', source: 't', clientOrderId: `cw-${n}`,
    status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: n, updatedTs: n,
  };
  // Longer than a slot (SLOT_BYTES; a literal: this function's source also runs in the child).
  if (n % 7 === 0) order.text = 'x'.repeat(300);
  const recs: JournalRecord[] = [
    { t: 'order', order, ts: n },
    { t: 'report', report: { kind: 'ack', exchange: 'sim', symbol: 'BTCUSDT', clientOrderId: `cw-${n}`, side: 'buy', lastPrice: 0, lastQty: 0, leavesQty: 1, cumQty: 0, feeAtoms: 0n, ts: n }, order: { status: 'open', filledQty: 0, feeAtoms: 0n, venueOrderId: `v-${n}`, symbol: 'BTCUSDT' }, feeAsset: 'USDT', ts: n },
  ];
  if (n % 5 === 0) recs.push({ t: 'risk', from: 'ACTIVE', to: 'REDUCING', reason: `r${n}`, who: 't', ts: n });
  if (n % 6 === 0) recs.push({ t: 'state', scope: 'test', key: `k${n}`, value: { n }, ts: n });
  return recs;
}

function label(r: JournalRecord): string {
  switch (r.t) {
    case 'order': return `o:${r.order.clientOrderId}`;
    case 'report': return `r:${r.report.clientOrderId}:${r.report.kind}`;
    case 'risk': return `k:${r.reason}`;
    case 'state': return `s:${r.key}`;
    default: return r.t;
  }
}

const expectedLabels = (steps: number) => Array.from({ length: steps }, (_, i) => step(i + 1)).flat().map(label);

/** Every journaled record of the kinds step() makes, by seq (reports from their rows and from their orders' rows). */
function journaledLabels(db: Db): string[] {
  const rows = db
    .prepare(
      `SELECT seq, 'o:' || client_id AS l FROM orders
       UNION ALL SELECT seq, 'k:' || reason FROM risk_transitions
       UNION ALL SELECT seq, 's:' || key FROM component_state`,
    )
    .all() as { seq: number; l: string }[];
  const unreadable: UnreadableRow[] = [];
  for (const r of readReportRows(db, (u) => unreadable.push(u))) rows.push({ seq: r.seq, l: `r:${r.report.clientOrderId}:${r.report.kind}` });
  expect(unreadable).toEqual([]);
  return rows.sort((a, b) => a.seq - b.seq).map((r) => r.l);
}

describe('JournalStore hand-over ring', () => {
  // Eight slots: every hand-over here overflows the ring, and the niced writer lags behind it. 0: no ring (all by clone).
  it.each([8, 0])('commits in append order across ring slots, overflow buffers (the ring full) and cloned records, flushed or by the timer (%i slots)', async (slots) => {
    const path = join(tmp(), 'j.db');
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 2, handOverRingSlots: slots });
    let n = 0;
    for (let turn = 0; turn < 40; turn++) {
      for (let k = 0; k < 25; k++) for (const r of step(++n)) s.append(r);
      if (turn % 4 === 3) s.flush();
      else await new Promise((r) => setTimeout(r, turn % 2 === 0 ? 0 : 3));
    }
    s.flush();
    expect(s.handoverStats.posts).toBeGreaterThan(5);
    // Rare records by clone, the rest in ring slots and overflow buffers (without a ring: all by clone).
    const ho = s.handoverStats;
    expect(ho.cloned).toBeGreaterThan(0);
    expect(ho.cloned < ho.records).toBe(slots > 0);
    expect(ho.overflow > 0).toBe(slots > 0);
    expect(s.writerStats.refusedSlots).toBe(0);
    expect(journaledLabels(s.database)).toEqual(expectedLabels(n));
    const c = s.load();
    expect(c.events.filter((e) => e.t === 'order')).toHaveLength(n);
    expect(c.unreadable.orders + c.unreadable.reports).toBe(0);
    s.close();
  });

  it('a writer killed (SIGKILL) mid-batch loses nothing committed and keeps the append order', async () => {
    const path = join(tmp(), 'j.db');
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { JournalStore } from ${JSON.stringify(DIST_STORE)};
         const step = ${step.toString()};
         const s = JournalStore.open(${JSON.stringify(path)}, { fsync: 'batch', batchMs: 1, handOverRingSlots: 16 });
         let n = 0, tick = 0;
         setInterval(() => {
           for (let k = 0; k < 40; k++) for (const r of step(++n)) s.append(r);
           // Every other tick is left to the timer's hand-over (ring), the others flushed and acknowledged.
           if (++tick % 2 === 0) { s.flush(); console.log('committed ' + n); }
         }, 1);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    const acked: number[] = [];
    child.stdout!.on('data', (d: Buffer) => {
      for (const l of d.toString().split('\n')) if (l.startsWith('committed ')) acked.push(Number(l.slice(10)));
    });
    const until = Date.now() + 60_000;
    expect(300).toBeGreaterThan(SLOT_BYTES);
    while (acked.length < 15 && child.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(acked.length).toBeGreaterThanOrEqual(15);
    const s = JournalStore.open(path);
    const got = journaledLabels(s.database);
    const ackedRecords = expectedLabels(Math.max(...acked)).length;
    expect(got.length).toBeGreaterThanOrEqual(ackedRecords);
    // A prefix of what was appended, in order: nothing committed lost, nothing reordered or doubled.
    expect(got).toEqual(expectedLabels(Math.ceil(got.length / 2)).slice(0, got.length));
    expect(s.database.pragma('quick_check', { simple: true })).toBe('ok');
    expect(s.opened.uncleanPrevious).toMatchObject({ pid: child.pid });
    s.close();
  }, 90_000);

  it('a slot that does not read is refused, counted and reported as a write error; the rest commits', async () => {
    const path = join(tmp(), 'j.db');
    const errors: JournalError[] = [];
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, onError: (e) => errors.push(e) });
    // Damage the second slot of the next hand-over after it is sealed, before the writer reads it.
    const ring = (s as unknown as { writer: { ring: RecordRingWriter } }).writer.ring;
    const handOver = ring.handOver.bind(ring);
    ring.handOver = (recs) => {
      const h = handOver(recs);
      ring.ring.u8[ring.ring.slotWord(-h.slots + 1) * 4 + 90] ^= 1;
      return h;
    };
    const recs = [...step(1), ...step(2)];
    for (const r of recs) s.append(r);
    s.flush();
    expect(s.writerStats.refusedSlots).toBe(1);
    // The writer's error event arrives on the event loop.
    const until = Date.now() + 30_000;
    while (errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(errors.map((e) => e.message).join('\n')).toMatch(/hand-over ring slot 1 refused, its record is not journaled: checksum/);
    expect(journaledLabels(s.database)).toEqual(recs.map(label).filter((l) => l !== 'r:cw-1:ack'));
    s.close();
  });
});
