import { JetStreamApiError } from '@nats-io/jetstream';

/**
 * The server answered and refused (a compare-and-set lost, the key exists or is gone): the
 * outcome is known. Anything else (timeout, disconnect) leaves it unknown.
 */
export function isServerRejection(err: unknown): boolean {
  return err instanceof JetStreamApiError || /wrong last sequence|key exists/i.test((err as Error)?.message ?? '');
}

export const errorText = (err: unknown): string => (err as Error)?.message ?? String(err);
