export * from './manifest.js';
export * from './errors.js';
export * from './loader.js';
export { locatePlugin } from './resolve.js';
export * from './exchange-plugin.js';
