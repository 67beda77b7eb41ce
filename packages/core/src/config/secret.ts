import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A credential read from the config (api_key, api_secret, passphrase, ...). The value is held in
 * a private field and only `reveal()` returns it: string conversion, JSON and util.inspect (so
 * console.log, pino, template literals and error messages) all print "[redacted]".
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The plain value, for the one place that signs a request. Never log what this returns. */
  reveal(): string {
    return this.#value;
  }

  /** True for an empty string (e.g. the environment variable was set to ""). */
  get isEmpty(): boolean {
    return this.#value.length === 0;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/**
 * Whether a config key holds a secret: api_key, api_secret, passphrase, any key whose name
 * contains "secret", "password" or "token", or ends in "_key" (case-insensitive).
 */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase();
  return (
    k === 'api_key' ||
    k === 'api_secret' ||
    k === 'passphrase' ||
    k.includes('secret') ||
    k.includes('password') ||
    k.includes('token') ||
    k.endsWith('_key')
  );
}
