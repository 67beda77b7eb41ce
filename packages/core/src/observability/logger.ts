import { pino, type Logger as PinoLogger, type LoggerOptions } from 'pino';

export type Logger = PinoLogger;

/** Keys whose values are redacted wherever they appear in a log object. */
export const REDACT_PATHS = [
  'api_key', 'api_secret', 'apiKey', 'secret', 'passphrase', 'password', 'signature',
  '*.api_key', '*.api_secret', '*.apiKey', '*.secret', '*.passphrase', '*.password', '*.signature',
  'headers["X-MBX-APIKEY"]', '*.headers["X-MBX-APIKEY"]',
];

export interface LoggerSettings {
  level?: string;
  /** Human-readable single lines instead of JSON (the reference app's default on a TTY). */
  pretty?: boolean;
  destination?: NodeJS.WritableStream;
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const opts: LoggerOptions = {
    level: settings.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return settings.destination ? pino(opts, settings.destination as any) : pino(opts);
}

/** A logger that drops everything; for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
