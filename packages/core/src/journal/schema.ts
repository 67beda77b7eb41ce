import type { Database } from 'better-sqlite3';

/**
 * Forward-only migrations: index k takes the schema from version k to k + 1. A journal written
 * by a newer build (version above ours) is refused rather than guessed at. Money columns are
 * decimal TEXT (bigint atoms), never REAL, and never INTEGER where an amount can pass 2^63.
 * Every row carries `seq`, one counter across tables, so a rebuild replays them in the order
 * they happened.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE writer_lock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    run_id INTEGER NOT NULL
  );
  CREATE TABLE runs (
    run_id INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    system_name TEXT,
    config_digest TEXT,
    clean_exit INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE instruments (
    exchange TEXT NOT NULL,
    symbol TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (exchange, symbol)
  );
  CREATE TABLE orders (
    client_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    exchange TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    type TEXT NOT NULL,
    price INTEGER,
    qty INTEGER NOT NULL,
    tif TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    filled_qty INTEGER NOT NULL,
    fee_atoms TEXT NOT NULL,
    venue_order_id TEXT,
    created_ts INTEGER NOT NULL,
    updated_ts INTEGER NOT NULL,
    json TEXT NOT NULL
  );
  CREATE INDEX orders_open ON orders (status) WHERE status NOT IN ('filled', 'cancelled', 'rejected');
  CREATE TABLE execution_reports (
    seq INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL,
    exchange TEXT NOT NULL,
    kind TEXT NOT NULL,
    status_after TEXT NOT NULL,
    venue_ts INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    json TEXT NOT NULL
  );
  CREATE TABLE fills (
    seq INTEGER PRIMARY KEY,
    exchange TEXT NOT NULL,
    symbol TEXT NOT NULL,
    client_id TEXT NOT NULL,
    trade_id TEXT,
    side TEXT NOT NULL,
    price INTEGER NOT NULL,
    qty INTEGER NOT NULL,
    fee_atoms TEXT NOT NULL,
    fee_asset TEXT NOT NULL,
    liquidity TEXT,
    venue_ts INTEGER NOT NULL,
    ts INTEGER NOT NULL
  );
  -- A venue trade is booked once, whatever path (stream, poll, reconciliation) brought it.
  CREATE UNIQUE INDEX fills_trade ON fills (exchange, client_id, trade_id) WHERE trade_id IS NOT NULL;
  CREATE INDEX fills_by_exchange ON fills (exchange, venue_ts);
  CREATE TABLE risk_transitions (
    seq INTEGER PRIMARY KEY,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL,
    who TEXT NOT NULL,
    ts INTEGER NOT NULL
  );
  CREATE TABLE equity_peaks (
    seq INTEGER PRIMARY KEY,
    peak TEXT NOT NULL,
    equity TEXT NOT NULL,
    why TEXT NOT NULL,
    ts INTEGER NOT NULL
  );
  CREATE TABLE signals (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    detector TEXT NOT NULL,
    exchange TEXT NOT NULL,
    symbol TEXT NOT NULL,
    direction INTEGER NOT NULL,
    strength REAL NOT NULL,
    ts INTEGER NOT NULL,
    json TEXT NOT NULL
  );
  CREATE TABLE snapshots (
    seq INTEGER PRIMARY KEY,
    why TEXT NOT NULL,
    equity TEXT NOT NULL,
    realized TEXT NOT NULL,
    unrealized TEXT NOT NULL,
    fees TEXT NOT NULL,
    marks TEXT NOT NULL,
    ts INTEGER NOT NULL
  );
  CREATE TABLE reconcile_events (
    seq INTEGER PRIMARY KEY,
    exchange TEXT NOT NULL,
    client_id TEXT,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    ts INTEGER NOT NULL
  );
  CREATE TABLE component_state (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    value TEXT NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
  );
  `,
  // v2: the partial index on open orders made every status change of a report cost ~60 us in
  // index maintenance (measured: pnpm bench journal); the restore reads every order anyway.
  `
  DROP INDEX IF EXISTS orders_open;
  `,
  // v3: orders and execution reports carry a binary `body` (journal/record-body.ts) instead of
  // a `json` copy of the record: the JSON and the 300-byte rows it made were most of the writer
  // thread's CPU per record. Rows written before keep their `json` (body NULL) and are read as
  // before; new rows have a body and no json. `orders` becomes WITHOUT ROWID: its key is the
  // client id, which every report's status update looks up (one b-tree instead of index + table).
  `
  CREATE TABLE orders_v3 (
    client_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    exchange TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    type TEXT NOT NULL,
    price INTEGER,
    qty INTEGER NOT NULL,
    tif TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    filled_qty INTEGER NOT NULL,
    fee_atoms TEXT NOT NULL,
    venue_order_id TEXT,
    created_ts INTEGER NOT NULL,
    updated_ts INTEGER NOT NULL,
    body BLOB,
    json TEXT
  ) WITHOUT ROWID;
  INSERT INTO orders_v3 (client_id, seq, exchange, symbol, side, type, price, qty, tif, source, status, filled_qty, fee_atoms, venue_order_id, created_ts, updated_ts, json)
    SELECT client_id, seq, exchange, symbol, side, type, price, qty, tif, source, status, filled_qty, fee_atoms, venue_order_id, created_ts, updated_ts, json FROM orders;
  DROP TABLE orders;
  ALTER TABLE orders_v3 RENAME TO orders;
  CREATE TABLE execution_reports_v3 (
    seq INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL,
    exchange TEXT NOT NULL,
    kind TEXT NOT NULL,
    status_after TEXT NOT NULL,
    venue_ts INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    body BLOB,
    json TEXT
  );
  INSERT INTO execution_reports_v3 (seq, client_id, exchange, kind, status_after, venue_ts, ts, json)
    SELECT seq, client_id, exchange, kind, status_after, venue_ts, ts, json FROM execution_reports;
  DROP TABLE execution_reports;
  ALTER TABLE execution_reports_v3 RENAME TO execution_reports;
  `,
  // v4: fewer rows per order. A report that books no fill (ack, cancel, reject, expiry) of an
  // order inserted in the same commit is kept in the order's row (`reports`: length-prefixed
  // report bodies, layout 3 in record-body.ts) instead of a row of its own: an order acked and
  // cancelled within one batch is one row, not three (each row was ~3 us of the writer thread's
  // CPU, which on a two-core host competes with the engine). `last_seq` is the seq of the last
  // report kept in the row, so the next run's seq counter starts past it. With those, an order
  // row is ~300-400 bytes, past what a WITHOUT ROWID table holds well (its rows live in the
  // b-tree's key pages): `orders` goes back to a rowid table keyed by `seq` (appends at the end
  // of the b-tree) with client ids unique through their own index. Rows written before keep
  // everything they had and have no `reports`.
  `
  CREATE TABLE orders_v4 (
    seq INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    exchange TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    type TEXT NOT NULL,
    price INTEGER,
    qty INTEGER NOT NULL,
    tif TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    filled_qty INTEGER NOT NULL,
    fee_atoms TEXT NOT NULL,
    venue_order_id TEXT,
    created_ts INTEGER NOT NULL,
    updated_ts INTEGER NOT NULL,
    body BLOB,
    json TEXT,
    reports BLOB,
    last_seq INTEGER
  );
  INSERT INTO orders_v4 (seq, client_id, exchange, symbol, side, type, price, qty, tif, source, status, filled_qty, fee_atoms, venue_order_id, created_ts, updated_ts, body, json)
    SELECT seq, client_id, exchange, symbol, side, type, price, qty, tif, source, status, filled_qty, fee_atoms, venue_order_id, created_ts, updated_ts, body, json FROM orders ORDER BY seq;
  DROP TABLE orders;
  ALTER TABLE orders_v4 RENAME TO orders;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The schema version of a journal (0: a new file); refuses one written by a newer build. */
export function schemaVersion(db: Database, refuse: (message: string) => Error): number {
  const found = db.pragma('user_version', { simple: true }) as number;
  if (found > SCHEMA_VERSION) throw refuse(`schema version ${found} is newer than this build understands (${SCHEMA_VERSION}); run the newer cwts-ultra or restore a backup`);
  return found;
}

/**
 * Brings the schema to SCHEMA_VERSION in one transaction (a savepoint inside the caller's, where
 * there is one); returns the version found.
 */
export function migrate(db: Database, refuse: (message: string) => Error): number {
  const found = schemaVersion(db, refuse);
  if (found === SCHEMA_VERSION) return found;
  db.transaction(() => {
    for (let v = found; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
  return found;
}
