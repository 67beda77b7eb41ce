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
  /** Applied to every serialized record before it is written, e.g. to mask config secrets. */
  scrub?: (line: string) => string;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };

/**
 * One readable line per record for people at a terminal: `17:38:43.567 INFO  message`.
 * Machines (journald, Loki, CI) get pino's JSON; CWTS_LOG_FORMAT=json|pretty overrides.
 */
export function prettyLine(json: string): string {
  try {
    const r = JSON.parse(json) as { level: number; time?: string; msg?: string; err?: string };
    const t = typeof r.time === 'string' ? r.time.slice(11, 23) : '';
    const err = r.err ? `\n  ${String(r.err).replace(/\n/g, '\n  ')}` : '';
    return `${t} ${LEVEL_NAMES[r.level] ?? r.level} ${r.msg ?? ''}${err}\n`;
  } catch {
    return json;
  }
}

class PrettyStream {
  constructor(private readonly out: NodeJS.WritableStream) {}
  write(chunk: string): boolean {
    return this.out.write(prettyLine(chunk));
  }
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const opts: LoggerOptions = {
    level: settings.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (settings.scrub) opts.hooks = { streamWrite: settings.scrub };
  const format = process.env.CWTS_LOG_FORMAT;
  const pretty = settings.pretty ?? (format === 'pretty' || (format !== 'json' && !settings.destination && process.stdout.isTTY === true));
  const dest = settings.destination ?? process.stdout;
  return pretty ? pino(opts, new PrettyStream(dest) as any) : settings.destination ? pino(opts, settings.destination as any) : pino(opts);
}

/** A logger that drops everything; for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
