import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A credential read from the config (api_key, api_secret, passphrase, ...). The value is held in
 * a private field and only `reveal()` returns it: string conversion, JSON and util.inspect (so
 * console.log, pino, template literals and error messages) all print "[redacted]".
 */
export class Secret {
  readonly #value: string;
  /** Set when the value was not loaded (see Secret.notLoaded): why, without the value. */
  #notLoaded: string | undefined;

  constructor(value: string) {
    this.#value = value;
  }

  /**
   * A credential the config names but this process did not load: its `${VAR}` is unset, in a
   * load for a command that talks to no venue (config/load.ts, `credentials: 'not-needed'`).
   * It counts as configured (the deployment has it; `run` will load it), prints as
   * "[redacted]" like any Secret, and `reveal()` throws: nothing can sign with it.
   *
   * @param why names the key and the variable, e.g. "binance.api_key: environment variable
   *   BINANCE_API_KEY is not set"
   */
  static notLoaded(why: string): Secret {
    const s = new Secret('');
    s.#notLoaded = why;
    return s;
  }

  /** The plain value, for the one place that signs a request. Never log what this returns. */
  reveal(): string {
    if (this.#notLoaded !== undefined) throw new Error(`credential not loaded (${this.#notLoaded}): this command loaded the config without credentials`);
    return this.#value;
  }

  /** False for a credential that was not loaded (Secret.notLoaded): reveal() throws. */
  get isLoaded(): boolean {
    return this.#notLoaded === undefined;
  }

  /**
   * True for an empty string (e.g. the environment variable was set to ""). A credential that
   * was not loaded is not empty: it is configured, only not here.
   */
  get isEmpty(): boolean {
    return this.#notLoaded === undefined && this.#value.length === 0;
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
