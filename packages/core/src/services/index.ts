export { SERVICE_TOKENS } from './tokens.js';
