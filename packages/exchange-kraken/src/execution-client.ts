/**
 * Kraken's ExecutionClient: the adapter kit's PolledExecutionClient (orders over REST through
 * ccxt, polling as the reference and the safety net) with the private `executions` stream on
 * top, so order updates and fills arrive in push. Without credentials, or with
 * `executions_stream = false`, it is the polled client alone.
 */
import type { ExecutionReport } from '@cwts/core';
import { PolledExecutionClient, type PolledExecutionDeps } from '@cwts/core/adapter-kit';
import type { KrakenExecutionStream } from './executions-stream.js';

export class KrakenExecutionClient extends PolledExecutionClient {
  /** The push stream, when enabled (tests read its stats). */
  readonly stream: KrakenExecutionStream | undefined;

  constructor(deps: PolledExecutionDeps, stream: (client: KrakenExecutionClient) => KrakenExecutionStream | undefined) {
    super(deps);
    this.stream = stream(this);
  }

  override async start(onReport: (r: ExecutionReport) => void): Promise<void> {
    await super.start(onReport);
    // the poll is running already: the stream only makes fills earlier, so it connects in the background
    if (this.availability().canTrade) this.stream?.start();
  }

  override async stop(): Promise<void> {
    await this.stream?.stop();
    await super.stop();
  }

  override pendingTimers(): number {
    return super.pendingTimers() + (this.stream?.pendingTimers ?? 0);
  }
}
