/**
 * Market microstructure engine: L2 books with sync state, consolidated view, L3 matching
 * engine, SPSC ring buffer for worker threads, pools and slabs. See docs/performance.md.
 */
export * from './sorted-levels.js';
export * from './l2-book.js';
export * from './book-store.js';
export * from './consolidated.js';
export * from './id-index.js';
export * from './pool.js';
export * from './matching-engine.js';
export * from './reference-engine.js';
export * from './ring-buffer.js';
export * from './feed-records.js';
export { BookStore, type BookRecord, type BookStateListener } from './venue-books.js';
