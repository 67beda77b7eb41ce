import 'reflect-metadata';
export * from './domain/index.js';
export * from './contracts/index.js';
export * from './di/index.js';
export * from './plugins/index.js';
export * from './observability/logger.js';
export * from './observability/metrics.js';
