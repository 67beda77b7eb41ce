import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import { defineInstrument } from '../domain/instrument.js';
import { Engine } from '../engine/engine.js';
import { OrderManager } from '../engine/order-manager.js';
import { restoreFromJournal } from '../engine/rebuild.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { journalStringify } from '../journal/json.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { JournalError } from '../journal/errors.js';
import { JournalStore } from '../journal/store.js';
import { journalCommand } from './journal.js';

const order = (n: number) => ({
  exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 't',
  clientOrderId: `cw-${n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: n, updatedTs: n,
});
const report = (n: number, kind: string, extra: object = {}) => ({
  kind, exchange: 'sim', symbol: 'BTCUSDT', clientOrderId: `cw-${n}`, side: 'buy', lastPrice: 0, lastQty: 0, leavesQty: 10, cumQty: 0, feeAtoms: 0n, ts: 10 + n, ...extra,
});

describe('cwts-ultra journal import / export', () => {
  it('imports a JSON-lines journal of earlier versions (torn last line reported), exports it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-cli-'));
    const old = join(dir, 'journal.jsonl');
    const lines = [
      { t: 'order', order: order(1), ts: 1 },
      { t: 'report', report: report(1, 'ack'), ts: 2 },
      { t: 'report', report: report(1, 'fill', { lastPrice: 100, lastQty: 10, leavesQty: 0, cumQty: 10, feeAtoms: 42n, tradeId: 'x1', liquidity: 'taker' }), ts: 3 },
      { t: 'order', order: order(2), ts: 4 },
      { t: 'reconcile', clientOrderId: 'cw-2', status: 'cancelled', ts: 5 },
    ].map((l) => journalStringify(l));
    writeFileSync(old, lines.join('\n') + '\n{"t":"order","order":{"clientOr');
    const db = join(dir, 'j.db');
    const out: string[] = [];
    expect(await journalCommand('import', { from: old, journal: db }, (l) => out.push(l))).toBe(1);
    expect(out[0]).toBe(`journal ${db}: imported 5 records from ${old}`);
    // An old journal says nothing of the ids it reserved: the sequence moves as a restore's does.
    expect(out[1]).toBe('client ids continue at 1000000003 (no reservation in the file: 1000000000 past its highest id, clear of any id it does not show)');
    expect(out[2]).toMatch(new RegExp(`^skipped damaged line ${old}:6: `));

    const s = JournalStore.open(db);
    expect(s.database.prepare('SELECT client_id, status, filled_qty, fee_atoms FROM orders ORDER BY seq').all()).toEqual([
      { client_id: 'cw-1', status: 'filled', filled_qty: 10, fee_atoms: '42' },
      { client_id: 'cw-2', status: 'cancelled', filled_qty: 0, fee_atoms: '0' },
    ]);
    expect(s.database.prepare('SELECT trade_id, fee_atoms, liquidity FROM fills').all()).toEqual([{ trade_id: 'x1', fee_atoms: '42', liquidity: 'taker' }]);
    s.close();
    // Importing twice would mix two histories: refused.
    await expect(journalCommand('import', { from: old, journal: db }, () => {})).rejects.toThrow(/already holds 2 orders; import only into a new journal/);

    const exported = join(dir, 'out.jsonl');
    const o2: string[] = [];
    expect(await journalCommand('export', { journal: db, out: exported }, (l) => o2.push(l))).toBe(0);
    const recs = readFileSync(exported, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { t: string; seq?: number });
    expect(recs.filter((r) => r.t !== 'run').map((r) => r.t)).toEqual(['client_ids_reserved', 'order', 'report', 'report', 'order', 'reconcile']);
    expect(recs.find((r) => r.t === 'client_ids_reserved')).toEqual({ t: 'client_ids_reserved', upTo: 1_000_000_002 });
    // The export imports again into a fresh journal.
    const again = join(dir, 'again.db');
    expect(await journalCommand('import', { from: exported, journal: again }, () => {})).toBe(0);
    const a = JournalStore.open(again);
    expect(a.database.prepare('SELECT client_id, status FROM orders ORDER BY seq').all()).toEqual([
      { client_id: 'cw-1', status: 'filled' },
      { client_id: 'cw-2', status: 'cancelled' },
    ]);
    a.close();
  });

  it('a journal rebuilt from its export (the repair path for a damaged journal) keeps the client id reservation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-cli-'));
    const db = join(dir, 'j.db');
    // A run reserved cw-1..cw-1000 and journaled cw-1..cw-3; cw-4 left for the venue but its
    // record was still queued when the process died (batch).
    const s = JournalStore.open(db);
    s.reserveClientIds(1000);
    for (let n = 1; n <= 3; n++) s.append({ t: 'order', order: order(n) as never, ts: n });
    s.close();

    const exported = join(dir, 'export.jsonl');
    expect(await journalCommand('export', { journal: db, out: exported }, () => {})).toBe(0);
    const rebuilt = join(dir, 'rebuilt.db');
    const out: string[] = [];
    expect(await journalCommand('import', { from: exported, journal: rebuilt }, (l) => out.push(l))).toBe(0);
    expect(out[1]).toBe("client ids continue at 1001 (the file's reservation)");

    const r = JournalStore.open(rebuilt);
    const contents = r.load();
    r.close();
    const after = new OrderManager();
    for (const ev of contents.events) if (ev.t === 'order') after.restore({ ...ev.order });
    after.useReservations(contents.reservedClientIds, () => {});
    expect(after.nextIdNumber).toBe(1001);
  });

  it('a late report of an order closed long before (past the live engine\'s window) keeps its order\'s state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-cli-'));
    const old = join(dir, 'journal.jsonl');
    const lines: string[] = [];
    // 1,100 orders cancelled a second apart: more than 10 minutes and more than 1,000 closed orders.
    for (let n = 1; n <= 1100; n++) {
      lines.push(journalStringify({ t: 'order', order: order(n), ts: n * 1000 }));
      lines.push(journalStringify({ t: 'report', report: report(n, 'cancelled', { leavesQty: 0 }), ts: n * 1000 + 1 }));
    }
    // The venue's late word on the first one: a fill that happened before its cancel.
    lines.push(journalStringify({ t: 'report', report: report(1, 'fill', { lastPrice: 100, lastQty: 4, leavesQty: 0, cumQty: 4, tradeId: 'late1' }), ts: 1_200_000 }));
    writeFileSync(old, lines.join('\n') + '\n');
    const db = join(dir, 'j.db');
    expect(await journalCommand('import', { from: old, journal: db }, () => {})).toBe(0);
    const s = JournalStore.open(db);
    const first = s.database.prepare("SELECT status, filled_qty FROM orders WHERE client_id = 'cw-1'").get() as { status: string; filled_qty: number };
    s.close();
    // Known to the state machine: a cancelled order that turns out partly filled, not a fallback 'open'.
    expect(first.status).not.toBe('open');
    expect(first.filled_qty).toBe(4);
  });

  it('a line the engine could not have written is skipped and named, never imported (what is imported is restored as positions)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-cli-'));
    const old = join(dir, 'journal.jsonl');
    const fill = (n: number, extra: object) => report(n, 'fill', { lastPrice: 100, lastQty: 10, leavesQty: 0, cumQty: 10, tradeId: `t${n}`, ...extra });
    const lines: [object, RegExp | undefined][] = [
      [{ t: 'order', order: order(1), ts: 1 }, undefined],
      [{ t: 'order', order: { ...order(2), qty: '10' }, ts: 2 }, /order: qty: /],
      [{ t: 'order', order: { ...order(3), price: undefined }, ts: 3 }, /order: price: a limit order has a price/],
      [{ t: 'order', order: null, ts: 4 }, /order: value: /],
      [{ t: 'report', report: fill(1, { lastQty: -5, cumQty: -5 }), ts: 5 }, /report: fill quantity -5 lots is not a positive whole number/],
      [{ t: 'report', report: fill(1, { side: 'sell' }), ts: 6 }, /report of cw-1: a sell fill of a buy order/],
      [{ t: 'report', report: fill(9, { lastPrice: 0 }), ts: 7 }, /report: fill price 0 ticks is not a positive whole number/],
      [{ t: 'report', report: fill(1, { feeAtoms: 5 }), ts: 8 }, /report: feeAtoms: /],
      [{ t: 'report', report: null, ts: 9 }, /report: value: /],
      [{ t: 'risk', from: 'ACTIVE', to: 'LOL', reason: 'x', who: 'y', ts: 10 }, /risk: to: /],
      [{ t: 'peak', peak: 5, equity: 5n, why: 'x', ts: 11 }, /peak: peak: /],
      [{ t: 'instrument', instrument: { exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '-0.01', lotSize: '0.001' } }, /instrument: .*positive/],
      [{ t: 'state', scope: '', key: 'k', value: 1, ts: 12 }, /state: scope: /],
      [{ t: 'reconcile', clientOrderId: 'cw-404', status: 'cancelled', ts: 13 }, /reconcile: no exchange/],
      [{ t: 'client_ids_reserved', upTo: -5 }, /client_ids_reserved: upTo: /],
      [{ t: 'toString' }, /unknown record kind "toString"/],
      [[1, 2], /not a record/],
      [{ t: 'report', report: fill(1, {}), ts: 14 }, undefined],
      [{ t: 'risk', from: 'ACTIVE', to: 'HALTED', reason: 'drawdown', who: 'risk', ts: 15 }, undefined],
      // the same fill line again: the restore would book it twice
      [{ t: 'report', report: fill(1, {}), ts: 16 }, /report of cw-1: fill "t1" was already imported \(a repeated line\)/],
    ];
    writeFileSync(old, lines.map(([l]) => journalStringify(l)).join('\n') + '\n');
    const db = join(dir, 'j.db');
    const out: string[] = [];
    expect(await journalCommand('import', { from: old, journal: db }, (l) => out.push(l))).toBe(1);
    expect(out[0]).toBe(`journal ${db}: imported 3 records from ${old}`);
    const skipped = out.slice(2);
    const refused = lines.map(([, why], k) => [k + 1, why] as const).filter(([, why]) => why !== undefined);
    expect(skipped).toHaveLength(refused.length);
    refused.forEach(([line, why], k) => expect(skipped[k], `line ${line}`).toMatch(new RegExp(`^skipped line ${old}:${line}: ${why!.source}`)));

    const s = JournalStore.open(db);
    expect(s.database.prepare('SELECT client_id, status, filled_qty FROM orders').all()).toEqual([{ client_id: 'cw-1', status: 'filled', filled_qty: 10 }]);
    expect(s.database.prepare('SELECT trade_id, qty FROM fills').all()).toEqual([{ trade_id: 't1', qty: 10 }]);
    expect(s.load().lastRisk).toMatchObject({ to: 'HALTED', reason: 'drawdown' });
    s.close();
  });

  it('any line, any field replaced by any JSON value: the import never throws, and what it stores reads back and restores', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-cli-'));
    const fill = (n: number) => report(n, 'fill', { lastPrice: 100, lastQty: 4, leavesQty: 6, cumQty: 4, tradeId: `t${n}` });
    const good: Record<string, unknown>[] = [
      { t: 'order', order: order(1), ts: 1 },
      { t: 'report', report: report(1, 'ack'), ts: 2 },
      { t: 'report', report: fill(1), ts: 3 },
      { t: 'risk', from: 'ACTIVE', to: 'HALTED', reason: 'r', who: 'w', ts: 4 },
      { t: 'peak', peak: 10n, equity: 9n, why: 'fill', ts: 5 },
      { t: 'signal', signal: { id: 's1', detector: 'd', kind: 'k', exchange: 'sim', symbol: 'BTCUSDT', ts: 6, direction: 1, strength: 2.5, evidence: {} }, ts: 6 },
      { t: 'snapshot', why: 'timer', equity: 1n, realized: 0n, unrealized: 0n, fees: 0n, marks: { 'sim:BTCUSDT': 201 }, ts: 7 },
      { t: 'state', scope: 'whale', key: 'last', value: { at: 5 }, ts: 8 },
      { t: 'reconcile', exchange: 'sim', clientOrderId: 'cw-1', kind: 'closed', detail: 'd', ts: 9 },
      { t: 'instrument', instrument: { exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001', minNotional: '5' } },
    ];
    /** A field of a record (or of its order/report/signal/instrument) replaced by any value, or removed. */
    const edit = fc.record({ rec: fc.nat(good.length - 1), path: fc.nat(40), value: fc.oneof(fc.jsonValue(), fc.bigInt(), fc.constant(undefined), fc.constantFrom(-5, 0, 2 ** 60, 0.5, '', 'toString')) });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 6 }), async (edits) => {
        const recs = good.map((r) => structuredClone(r));
        for (const e of edits) {
          const r = recs[e.rec]!;
          const inner = ['order', 'report', 'signal', 'instrument'].find((k) => typeof r[k] === 'object' && r[k] !== null);
          const target = (inner !== undefined && e.path % 2 === 0 ? r[inner] : r) as Record<string, unknown>;
          const keys = Object.keys(target);
          const key = keys[e.path % keys.length]!;
          if (e.value === undefined) delete target[key];
          else target[key] = e.value;
        }
        const file = join(dir, `p${++n}.jsonl`);
        writeFileSync(file, recs.map((r) => journalStringify(r)).join('\n') + '\n');
        const db = join(dir, `p${n}.db`);
        const rc = await journalCommand('import', { from: file, journal: db }, () => {});
        expect([0, 1]).toContain(rc);
        const s = JournalStore.open(db);
        try {
          const c = s.load();
          expect(c.unreadable).toMatchObject({ orders: 0, reports: 0 });
          for (const ev of c.events) if (ev.t === 'report' && ev.report.kind === 'fill') expect(ev.report.lastQty).toBeGreaterThan(0);
        } finally {
          s.close();
        }
      }),
      { numRuns: 25 },
    );
  });

  it('unlock needs --force', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'cwts-journal-cli-')), 'j.db');
    JournalStore.open(db, { owner: { pid: 1, host: 'elsewhere' } }).close({ clean: false });
    await expect(journalCommand('unlock', { journal: db }, () => {})).rejects.toThrow(/--force/);
    const out: string[] = [];
    expect(await journalCommand('unlock', { journal: db, force: true }, (l) => out.push(l))).toBe(0);
    expect(out).toEqual([`journal ${db}: removed the lock of pid 1 on elsewhere`]);
  });
});

describe('journal unlock --force and a writer on this host', () => {
  // A second process on this host holding the journal's writer lock, as `cwts-ultra run` does.
  const storeModule = pathToFileURL(fileURLToPath(new URL('../journal/store.ts', import.meta.url))).href;
  let holder: ChildProcess | undefined;
  afterEach(() => {
    if (holder && holder.exitCode === null) holder.kill('SIGKILL');
    holder = undefined;
  });
  function holdLock(path: string): Promise<ChildProcess> {
    const code = `const { JournalStore } = await import(${JSON.stringify(storeModule)}); JournalStore.open(${JSON.stringify(path)}, { fsync: 'batch' }); process.stdout.write('held\\n'); setInterval(() => {}, 1000);`;
    const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new Promise((resolve, reject) => {
      c.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('held')) resolve(c); });
      c.on('exit', (exitCode) => reject(new Error(`lock holder exited ${exitCode}`)));
    });
  }

  it('refuses to remove the lock of a writer alive on this host, naming its pid; the journal keeps one writer', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-journal-cli-')), 'j.db');
    holder = await holdLock(path);
    const err = await journalCommand('unlock', { journal: path, force: true }, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalError);
    expect((err as JournalError).code).toBe('LOCKED');
    expect((err as Error).message).toContain(`pid ${holder.pid} on this host (${hostname()})`);
    expect((err as Error).message).toContain('--force removes only a lock whose process is gone');
    // The lock is still there: a second writer is still refused while the first one runs.
    expect(() => JournalStore.open(path)).toThrow(`in use by another cwts-ultra process: pid ${holder.pid} on this host`);
  }, 30_000);

  it('removes the lock of a process on this host that is gone', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-journal-cli-')), 'j.db');
    const deadPid = 2 ** 22 + 12345; // above Linux's pid_max default: never a live process
    JournalStore.open(path, { owner: { pid: deadPid, host: hostname() } }).close({ clean: false });
    const out: string[] = [];
    expect(await journalCommand('unlock', { journal: path, force: true }, (l) => out.push(l))).toBe(0);
    expect(out).toEqual([`journal ${path}: removed the lock of pid ${deadPid} on ${hostname()}`]);
  });

  it.runIf(existsSync('/proc/stat'))('a lock whose pid now names a process started after it (pid reused after a reboot) is stale: the start takes it over, unlock removes it', async () => {
    // The unrelated process that got the dead writer's pid, started now; the lock is an hour old.
    holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    await new Promise((r) => holder!.once('spawn', r));
    const pid = holder.pid!;
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-cli-reused-'));
    const hourAgo = () => Date.now() - 3_600_000;
    const unlocked = join(dir, 'unlock.db');
    JournalStore.open(unlocked, { owner: { pid, host: hostname() }, now: hourAgo }).close({ clean: false });
    const out: string[] = [];
    expect(await journalCommand('unlock', { journal: unlocked, force: true }, (l) => out.push(l))).toBe(0);
    expect(out).toEqual([`journal ${unlocked}: removed the lock of pid ${pid} on ${hostname()}`]);
    // And the start needs no unlock (docs/journal.md: a dead process's lock is taken over).
    const started = join(dir, 'start.db');
    JournalStore.open(started, { owner: { pid, host: hostname() }, now: hourAgo }).close({ clean: false });
    const s = JournalStore.open(started);
    expect(s.opened.staleLock).toMatchObject({ pid, host: hostname() });
    s.close();
  });

  it('a writer that takes a stale lock over just before the delete keeps it: unlock refuses, a second writer is still refused', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-journal-cli-race-')), 'j.db');
    const deadPid = 2 ** 22 + 777; // above pid_max: never alive
    JournalStore.open(path, { owner: { pid: deadPid, host: hostname() } }).close({ clean: false });
    // A live process on this host (the test runner's parent) stands for the engine a supervisor restarts;
    // it takes the stale lock over once the unlock command has decided to unlock, right before the removal.
    const live = { pid: process.ppid, host: hostname() };
    let engine: JournalStore | undefined;
    const realForceUnlock = JournalStore.forceUnlock.bind(JournalStore);
    const spy = vi.spyOn(JournalStore, 'forceUnlock').mockImplementation((p, o) => {
      engine ??= JournalStore.open(path, { owner: live });
      return realForceUnlock(p, o);
    });
    let second: JournalStore | undefined;
    try {
      const err = await journalCommand('unlock', { journal: path, force: true }, () => {}).catch((e: unknown) => e);
      spy.mockRestore();
      expect(engine).toBeDefined();
      expect((err as JournalError).code).toBe('LOCKED');
      expect(() => (second = JournalStore.open(path, { owner: { pid: 1, host: hostname() } }))).toThrow(`in use by another cwts-ultra process: pid ${live.pid} on this host`);
    } finally {
      spy.mockRestore();
      second?.close({ clean: false });
      engine?.close({ clean: false });
    }
  });
});

describe('cwts-ultra journal backup / restore', () => {
  const DEAD = { pid: 2 ** 22 + 4242, host: hostname() };

  it('backs up a journal while its writer runs, verified; restore is refused while a writer holds the journal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-backup-'));
    const db = join(dir, 'live', 'j.db');
    const live = JournalStore.open(db, { fsync: 'batch', batchMs: 60_000 });
    for (let n = 1; n <= 3; n++) live.append({ t: 'order', order: order(n) as never, ts: n });
    live.flush();
    live.append({ t: 'order', order: order(4) as never, ts: 4 }); // queued, not committed: not in the backup
    const out: string[] = [];
    const backup = join(dir, 'backups', 'b1.db');
    expect(await journalCommand('backup', { journal: db, out: backup }, (l) => out.push(l))).toBe(0);
    expect(out[0]).toMatch(new RegExp(`^journal ${db}: backed up to ${backup} \\(\\d+ bytes, schema v\\d+, 3 orders, 0 fills, 1 runs, last run started \\d{4}-.*\\); integrity check ok$`));
    // One self-contained file, no partial left behind; the writer went on undisturbed.
    expect(readdirSync(join(dir, 'backups'))).toEqual(['b1.db']);
    const b = new Database(backup, { readonly: true });
    expect(b.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(b.prepare('SELECT client_id FROM orders ORDER BY seq').pluck().all()).toEqual(['cw-1', 'cw-2', 'cw-3']);
    b.close();
    expect(live.flush()).toBe(1);
    // Never over an existing file.
    await expect(journalCommand('backup', { journal: db, out: backup }, () => {})).rejects.toThrow(`backup target ${backup} exists`);

    // The writer still holds the journal: restore refuses, naming it.
    await expect(journalCommand('restore', { journal: db, from: backup }, () => {})).rejects.toThrow(`journal ${db}: restore refused: in use by another cwts-ultra process: pid ${process.pid} on this host`);
    live.close();

    const r: string[] = [];
    expect(await journalCommand('restore', { journal: db, from: backup }, (l) => r.push(l))).toBe(0);
    expect(r[0]).toMatch(new RegExp(`^journal ${db}: the journal it replaces is kept as ${db}\\.before-restore-`));
    expect(r[1]).toMatch(new RegExp(`^journal ${db}: restored from ${backup} \\(3 orders, 0 fills, last run started .*\\); integrity check ok$`));
    expect(r[2]).toBe('client ids continue at 1000000004 (clear of any id issued after the backup); the next start reconciles with the venues, which recovers what happened since the backup');
    // The journal it replaced (4 orders) is kept; the restored one opens without a lock and issues ids above the gap.
    const kept = r[0]!.split(' kept as ')[1]!;
    const k = new Database(kept, { readonly: true });
    expect(k.prepare('SELECT count(*) FROM orders').pluck().get()).toBe(4);
    k.close();
    const s = JournalStore.open(db);
    expect(s.opened.staleLock).toBeUndefined();
    const c = s.load();
    expect(c.events.filter((e) => e.t === 'order')).toHaveLength(3);
    expect(c.reservedClientIds).toBe(1_000_000_003);
    expect(JSON.parse(s.database.prepare("SELECT value FROM meta WHERE key = 'restored_from'").pluck().get() as string)).toMatchObject({ backup });
    s.close();
  });

  it('restore into an empty data directory (the disaster case), and a damaged backup is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-backup-'));
    const src = join(dir, 'src.db');
    const w = JournalStore.open(src, { owner: DEAD });
    w.append({ t: 'order', order: order(7) as never, ts: 7 });
    w.flush();
    const backup = join(dir, 'b.db');
    expect(await journalCommand('backup', { journal: src, out: backup }, () => {})).toBe(0);
    w.close({ clean: false });
    const target = join(dir, 'new-data', 'j.db');
    const out: string[] = [];
    expect(await journalCommand('restore', { journal: target, from: backup }, (l) => out.push(l))).toBe(0);
    expect(out[0]).toMatch(/^journal .*: restored from/);
    const s = JournalStore.open(target);
    // The copy carries no lock (the dead writer's lock row is gone): no takeover reported.
    expect(s.opened.staleLock).toBeUndefined();
    expect(s.load().events).toHaveLength(1);
    s.close();
    expect(existsSync(`${target}.before-restore`)).toBe(false);

    const bad = join(dir, 'bad.db');
    writeFileSync(bad, readFileSync(backup));
    truncateSync(bad, 3000);
    await expect(journalCommand('restore', { journal: join(dir, 'other', 'j.db'), from: bad }, () => {})).rejects.toThrow(/journal .*other\/j\.db: .*bad\.db( fails the integrity check| cannot be opened|: the database file is corrupt)/);
    expect(existsSync(join(dir, 'other', 'j.db'))).toBe(false);
  });
});

/**
 * docs/operations.md ships a backup unit (deploy/systemd/cwts-ultra-backup.service) that runs
 * `journal backup --config /etc/cwts-ultra/production.toml` with only CWTS_DATA_DIR set: the venue
 * keys live in the trading service's secrets.env, which the backup job does not get. The journal
 * commands need the journal's location only, so an unset ${BINANCE_API_KEY} must not fail them.
 */
describe('journal backup / restore --config without the venue keys in the environment', () => {
  const PRODUCTION = fileURLToPath(new URL('../../../../examples/reference-app/config/production.toml', import.meta.url));
  const KEY_VARS = ['BINANCE_API_KEY', 'BINANCE_API_SECRET', 'KRAKEN_API_KEY', 'KRAKEN_API_SECRET'];
  const saved = { ...process.env };
  beforeEach(() => {
    for (const k of KEY_VARS) delete process.env[k];
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it('backs up and restores the journal production.toml names (<data dir>/<system.name>.db)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-nokeys-'));
    const data = join(dir, 'data');
    process.env.CWTS_DATA_DIR = data;
    const journal = join(data, 'cwts-ultra-prod.db');
    const live = JournalStore.open(journal);
    live.append({ t: 'order', order: order(1) as never, ts: 1 });
    live.flush();
    live.close();
    const backup = join(dir, 'backups', 'b.db');
    const out: string[] = [];
    expect(await journalCommand('backup', { config: PRODUCTION, out: backup }, (l) => out.push(l))).toBe(0);
    expect(out[0]).toMatch(new RegExp(`^journal ${journal}: backed up to ${backup} .*1 orders.*integrity check ok$`));
    expect(existsSync(backup)).toBe(true);
    expect(await journalCommand('restore', { config: PRODUCTION, from: backup }, (l) => out.push(l))).toBe(0);
    expect(out[out.length - 2]).toMatch(new RegExp(`^journal ${journal}: restored from ${backup}`));
  });

  it('restore --config refuses a backup last written under another [system] name, unless --other-system; after that, its own backups restore', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-nokeys-'));
    const data = join(dir, 'data');
    process.env.CWTS_DATA_DIR = data;
    const journal = join(data, 'cwts-ultra-prod.db');
    // another deployment's journal (its runs carry its name), backed up
    const other = JournalStore.open(join(dir, 'desk-b.db'), { systemName: 'desk-b' });
    other.append({ t: 'order', order: order(1) as never, ts: 1 });
    other.flush();
    other.close();
    const backup = join(dir, 'backups', 'desk-b.db');
    expect(await journalCommand('backup', { journal: join(dir, 'desk-b.db'), out: backup }, () => {})).toBe(0);
    await expect(journalCommand('restore', { config: PRODUCTION, from: backup }, () => {})).rejects.toThrow(
      `journal ${journal}: restore refused: ${backup} was last written by system "desk-b", not "cwts-ultra-prod" (the config's [system] name)`,
    );
    expect(existsSync(journal)).toBe(false);
    // by path there is no name to compare; by config, --other-system says the rename is intended
    const out: string[] = [];
    expect(await journalCommand('restore', { config: PRODUCTION, from: backup, otherSystem: true }, (l) => out.push(l))).toBe(0);
    expect(out[0]).toMatch(new RegExp(`^journal ${journal}: restored from ${backup}`));
    // once it has run under this name, its backups are this deployment's and restore without the flag
    const own = JournalStore.open(journal, { systemName: 'cwts-ultra-prod' });
    own.close();
    const ownBackup = join(dir, 'backups', 'own.db');
    expect(await journalCommand('backup', { config: PRODUCTION, out: ownBackup }, () => {})).toBe(0);
    expect(await journalCommand('restore', { config: PRODUCTION, from: ownBackup }, () => {})).toBe(0);
  });

  it('still refuses a config with any other problem (an unset variable outside a credential)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-nokeys-'));
    process.env.CWTS_DATA_DIR = join(dir, 'data');
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, readFileSync(PRODUCTION, 'utf8').replace('name = "cwts-ultra-prod"', 'name = "${SYSTEM_NAME}"'));
    await expect(journalCommand('backup', { config: cfg, out: join(dir, 'b.db') }, () => {})).rejects.toThrow(/system\.name: environment variable SYSTEM_NAME is not set/);
    expect(existsSync(join(dir, 'b.db'))).toBe(false);
  });
});

const importedOrder = (n: number) => ({
  exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 't',
  clientOrderId: `cw-${n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: n, updatedTs: n,
});

describe('journal import without a reservation line, ids past a restore gap', () => {
  // A journal that once went through `journal restore` (or an earlier import) continues its ids
  // RESTORE_CLIENT_ID_GAP (1e9) past its highest: cw-1, cw-2, then cw-1000000003. An export of it
  // without the `client_ids_reserved` line (an export by a build before today's, or one whose
  // meta row could not be read: the warning promises "an import of this file reserves 1e9 ids
  // past its highest") must continue past cw-1000000003, not at it.
  it('continues client ids past the highest imported id, not at an id the file already holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-review-import-'));
    const file = join(dir, 'old-export.jsonl');
    const lines = [
      { t: 'order', order: importedOrder(1), ts: 1 },
      { t: 'order', order: importedOrder(2), ts: 2 },
      { t: 'order', order: importedOrder(1_000_000_003), ts: 3 },
    ].map((l) => journalStringify(l));
    writeFileSync(file, lines.join('\n') + '\n');
    const db = join(dir, 'j.db');
    const out: string[] = [];
    expect(await journalCommand('import', { from: file, journal: db }, (l) => out.push(l))).toBe(0);

    const s = JournalStore.open(db);
    const contents = s.load();
    s.close();
    // What the next start does (rebuild.ts attachJournal): restore every order, then the reservation.
    const after = new OrderManager();
    for (const ev of contents.events) if (ev.t === 'order') after.restore({ ...ev.order });
    after.useReservations(contents.reservedClientIds, () => {});
    const next = `cw-${after.nextIdNumber}`;
    const imported = contents.events.filter((e) => e.t === 'order').map((e) => (e as { order: { clientOrderId: string } }).order.clientOrderId);
    // the next order's client id must not be one the imported journal already sent to a venue
    expect(imported).not.toContain(next);
    expect(after.nextIdNumber).toBeGreaterThan(1_000_000_003);
  });
});

describe('journal import: only ids of the engine form move the sequence', () => {
  it("an adopted trade's id (adopted-<venue>-<trade id>) does not move client ids by the venue's trade id", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-import-adopted-'));
    const file = join(dir, 'export.jsonl');
    const lines = [
      { t: 'client_ids_reserved', upTo: 1000 },
      { t: 'order', order: importedOrder(5), ts: 1 },
      { t: 'order', order: { ...importedOrder(0), clientOrderId: 'adopted-binance-4123456789' }, ts: 2 },
    ].map((l) => journalStringify(l));
    writeFileSync(file, lines.join('\n') + '\n');
    const db = join(dir, 'j.db');
    const out: string[] = [];
    expect(await journalCommand('import', { from: file, journal: db }, (l) => out.push(l))).toBe(0);
    const s = JournalStore.open(db);
    const contents = s.load();
    s.close();
    expect(contents.reservedClientIds).toBe(1000);
    expect(out.join('\n')).toContain('client ids continue at 1001');
  });
});

describe('journal import: a repeated fill line', () => {
  const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
  const vOrder = (n: number, ts: number) => ({ ...order(n), exchange: 'v', createdTs: ts, updatedTs: ts });
  const vReport = (n: number, kind: string, ts: number, extra: object = {}) => ({ ...report(n, kind), exchange: 'v', ts, ...extra });

  it('is skipped and named (exit 1), and the restored position counts the fill once, even once the replay has forgotten its order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-import-dup-'));
    const fill = vReport(1, 'fill', 1_000, { lastPrice: 100, lastQty: 10, leavesQty: 0, cumQty: 10, feeAtoms: 5n, tradeId: 'T1', liquidity: 'taker' });
    const lines: object[] = [{ t: 'instrument', instrument: BTC }, { t: 'order', order: vOrder(1, 900), ts: 900 }, { t: 'report', report: fill, feeAsset: 'USDT', ts: 1_000 }];
    // 1,001 later orders, cancelled 11 minutes on: past the replay's closed-order window (1,000 closed and 10 min),
    // where the restore books a journaled fill of an order it has forgotten (a duplicate never reached the journal live)
    const later = 1_000 + 11 * 60_000;
    for (let n = 2; n <= 1_002; n++) {
      lines.push({ t: 'order', order: vOrder(n, later), ts: later });
      lines.push({ t: 'report', report: vReport(n, 'cancelled', later, { leavesQty: 0 }), feeAsset: 'USDT', ts: later });
    }
    lines.push({ t: 'report', report: { ...fill, ts: later + 1 }, feeAsset: 'USDT', ts: later + 1 });
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, lines.map((l) => journalStringify(l)).join('\n') + '\n');
    const db = join(dir, 'j.db');
    const out: string[] = [];
    const rc = await journalCommand('import', { from: file, journal: db }, (l) => out.push(l));
    expect(rc).toBe(1);
    expect(out).toContain(`skipped line ${file}:${lines.length}: report of cw-1: fill "T1" was already imported (a repeated line)`);

    const store = JournalStore.open(db, { fsync: 'batch', batchMs: 60_000 });
    const fillRows = store.database.prepare("SELECT count(*) FROM execution_reports WHERE kind = 'fill'").pluck().get() as number;
    const venue = new ScriptedVenue('v', [BTC]);
    const engine = new Engine({
      clock: new ManualClock(2_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, journal: store, onShutdown: 'keep',
      venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    });
    const summary = restoreFromJournal(engine, store.load(), db, silentLogger());
    const lots = engine.portfolio.find('v', 'BTCUSDT')?.qty;
    store.close();
    expect({ fillRows, restoredFills: summary.fills, lots }).toEqual({ fillRows: 1, restoredFills: 1, lots: 10 });
  });

  it('of an order the file does not hold (an export of a window) is skipped too, and the restore books the fill once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-import-dup-orphan-'));
    const fill = vReport(7, 'fill', 1_000, { lastPrice: 100, lastQty: 10, leavesQty: 0, cumQty: 10, feeAtoms: 5n, tradeId: 'T7', liquidity: 'taker' });
    const other = vReport(7, 'fill', 1_001, { lastPrice: 100, lastQty: 2, leavesQty: 0, cumQty: 12, feeAtoms: 1n, tradeId: 'T8', liquidity: 'taker' });
    const lines: object[] = [
      { t: 'instrument', instrument: BTC },
      { t: 'report', report: fill, feeAsset: 'USDT', ts: 1_000 },
      { t: 'report', report: other, feeAsset: 'USDT', ts: 1_001 },
      { t: 'report', report: { ...fill, ts: 1_002 }, feeAsset: 'USDT', ts: 1_002 },
    ];
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, lines.map((l) => journalStringify(l)).join('\n') + '\n');
    const db = join(dir, 'j.db');
    const out: string[] = [];
    expect(await journalCommand('import', { from: file, journal: db }, (l) => out.push(l))).toBe(1);
    expect(out).toContain(`skipped line ${file}:4: report of cw-7: fill "T7" of an order not in the file was already imported (a repeated line)`);
    const store = JournalStore.open(db, { fsync: 'batch', batchMs: 60_000 });
    const venue = new ScriptedVenue('v', [BTC]);
    const engine = new Engine({
      clock: new ManualClock(2_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, journal: store, onShutdown: 'keep',
      venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    });
    const summary = restoreFromJournal(engine, store.load(), db, silentLogger());
    const lots = engine.portfolio.find('v', 'BTCUSDT')?.qty;
    store.close();
    expect({ restoredFills: summary.fills, lots }).toEqual({ restoredFills: 2, lots: 12 });
  });

  it('of two orders the file does not hold that share a venue trade id (a self-trade: our buy crossed our sell) is not a repeat: both fills are imported and restored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-import-selftrade-'));
    const fillOf = (n: number, side: 'buy' | 'sell') => ({ ...vReport(n, 'fill', 1_000, { lastPrice: 100, lastQty: 10, leavesQty: 0, cumQty: 10, feeAtoms: 5n, tradeId: 'T42', liquidity: side === 'buy' ? 'taker' : 'maker' }), side });
    // The order rows were unreadable at export (the repair path): only their fills are in the file.
    const lines: object[] = [
      { t: 'instrument', instrument: BTC },
      { t: 'report', report: fillOf(7, 'buy'), feeAsset: 'USDT', ts: 1_000 },
      { t: 'report', report: fillOf(8, 'sell'), feeAsset: 'USDT', ts: 1_000 },
    ];
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, lines.map((l) => journalStringify(l)).join('\n') + '\n');
    const db = join(dir, 'j.db');
    const out: string[] = [];
    const rc = await journalCommand('import', { from: file, journal: db }, (l) => out.push(l));
    const store = JournalStore.open(db, { fsync: 'batch', batchMs: 60_000 });
    const venue = new ScriptedVenue('v', [BTC]);
    const engine = new Engine({
      clock: new ManualClock(2_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, journal: store, onShutdown: 'keep',
      venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    });
    const summary = restoreFromJournal(engine, store.load(), db, silentLogger());
    const lots = engine.portfolio.find('v', 'BTCUSDT')?.qty;
    store.close();
    // Both fills happened (one trade id, two of our orders): the buy and the sell net to 0 lots.
    expect({ rc, skipped: out.filter((l) => l.startsWith('skipped')), restoredFills: summary.fills, lots }).toEqual({ rc: 0, skipped: [], restoredFills: 2, lots: 0 });
  });
});

describe('journal export --out naming a file the export must not overwrite', () => {
  it('refuses the journal itself (by any path to it), its -wal and another SQLite database, leaving each intact; a .jsonl is overwritten as before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-export-target-'));
    const db = join(dir, 'prod.db');
    const s = JournalStore.open(db, { fsync: 'batch', batchMs: 60_000 });
    for (let n = 1; n <= 200; n++) s.append({ t: 'order', order: order(n) as never, ts: n });
    s.flush();
    const bytes = () => readFileSync(db).length;
    const before = bytes();
    const exportTo = (out: string) => journalCommand('export', { journal: db, out }, () => {});
    // --journal and --out mixed up: opened for writing with truncation, the journal was emptied.
    await expect(exportTo(db)).rejects.toThrow(`journal ${db}: export refused: --out ${db} is the journal itself, which the export would overwrite; name a new .jsonl file`);
    symlinkSync(db, join(dir, 'link.db'));
    await expect(exportTo(join(dir, 'link.db'))).rejects.toThrow(/is the journal itself/);
    // The writer is running: its -wal holds the commits not yet checkpointed.
    await expect(exportTo(`${db}-wal`)).rejects.toThrow(/is the journal's -wal file/);
    expect(bytes()).toBe(before);
    expect(s.database.pragma('quick_check', { simple: true })).toBe('ok');
    s.close();
    // Another SQLite file (a backup named by mistake) is never overwritten with JSON lines.
    const backup = join(dir, 'b.db');
    expect(await journalCommand('backup', { journal: db, out: backup }, () => {})).toBe(0);
    const backupBytes = readFileSync(backup);
    await expect(exportTo(backup)).rejects.toThrow(`journal ${db}: export refused: --out ${backup} is an SQLite database (a journal or a backup), which the export would overwrite; name a .jsonl file`);
    expect(readFileSync(backup).equals(backupBytes)).toBe(true);
    // A text file is replaced by the export, as before (truncated, not appended to).
    const jsonl = join(dir, 'e.jsonl');
    writeFileSync(jsonl, 'x'.repeat(1_000_000));
    expect(await exportTo(jsonl)).toBe(0);
    const lines = readFileSync(jsonl, 'utf8').trim().split('\n');
    expect(lines.filter((l) => l.includes('"t":"order"'))).toHaveLength(200);
    expect(lines.every((l) => l.startsWith('{'))).toBe(true);
  });
});
