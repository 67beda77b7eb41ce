/**
 * Tokens of core's services whose types are core classes above the DI layer (the journal, the
 * risk manager, the engine's book store, the compute registry). Beside `TOKENS` (di/tokens.ts,
 * which holds the contract-level slots: clock, logger, metrics, router, ...) because `di` sits
 * below these folders. Composition (engine/compose.ts) registers core's default for each and
 * resolves every one from the container, so a plugin replaces one by registering its token with
 * the token listed in its manifest's `overrides`. Type-only imports: loading this file costs
 * nothing, and the root entry exports it.
 */
import type { ComputeRegistry } from '../compute/registry.js';
import type { Token } from '../di/tokens.js';
import type { Journal } from '../journal/journal.js';
import type { BookStore } from '../microstructure/venue-books.js';
import type { RiskManager } from '../risk/manager.js';

function single<T>(name: string): Token<T> {
  return Object.freeze({ symbol: Symbol.for(`cwts.${name}`), description: name, multi: false });
}

export const SERVICE_TOKENS = {
  /** The durable journal the engine appends to (core: SQLite `JournalStore`). Absent in replay. */
  Journal: single<Journal>('Journal'),
  /** Equity, drawdown, VaR, the risk state machine and the built-in pre-trade chain. */
  RiskManager: single<RiskManager>('RiskManager'),
  /** Every L2 book the engine keeps, with its sync state. */
  BookStore: single<BookStore>('BookStore'),
  /** Picks the compute backend from `[compute]` and the registered providers. */
  ComputeRegistry: single<ComputeRegistry>('ComputeRegistry'),
} as const;
