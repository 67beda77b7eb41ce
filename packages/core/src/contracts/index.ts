export * from './compute.js';
export * from './clock.js';
export * from './exchange.js';
export * from './trading.js';
export * from './listed-time.js';
