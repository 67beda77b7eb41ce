import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FeedStatusEvent, MarketEvent } from '../domain/events.js';
import type { Instrument, InstrumentSpec } from '../domain/instrument.js';

export const RECORDING_KIND = 'cwts-recording';
export const RECORDING_VERSION = 1;

export function instrumentSpec(i: Instrument): InstrumentSpec {
  return { exchange: i.exchange, symbol: i.symbol, base: i.base, quote: i.quote, tickSize: i.tickSize, lotSize: i.lotSize, minNotional: i.minNotional };
}

/**
 * `run --record FILE`: every normalized market event (resync snapshots included) and feed
 * status change as JSON lines after a header naming the instruments, so `replay` can rebuild
 * the same books. Buffered; written out every 64 KiB and at close.
 */
export class Recorder {
  private fd: number | undefined;
  private buf: string[] = [];
  private bytes = 0;
  events = 0;

  constructor(readonly path: string) {}

  open(instruments: readonly Instrument[]): void {
    mkdirSync(dirname(this.path), { recursive: true });
    this.fd = openSync(this.path, 'w');
    const header = { kind: RECORDING_KIND, version: RECORDING_VERSION, createdAt: new Date().toISOString(), instruments: instruments.map(instrumentSpec) };
    writeSync(this.fd, JSON.stringify(header) + '\n');
  }

  write(ev: MarketEvent | FeedStatusEvent): void {
    if (this.fd === undefined) return;
    const line = JSON.stringify(ev);
    this.buf.push(line);
    this.bytes += line.length + 1;
    if (ev.type !== 'feed_status') this.events++;
    if (this.bytes >= 65536) this.flush();
  }

  flush(): void {
    if (this.fd === undefined || this.buf.length === 0) return;
    writeSync(this.fd, this.buf.join('\n') + '\n');
    this.buf = [];
    this.bytes = 0;
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
