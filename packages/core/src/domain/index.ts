export * from './instrument.js';
export * from './instrument-map.js';
export * from './bounded-ids.js';
export * from './events.js';
export * from './orders.js';
export * from './signal.js';
export * from './trading-status.js';
