export { DirectRouter } from './direct.js';
