/**
 * A failure a target detected itself (as opposed to an uncaught exception, which is a crash).
 * kind: 'wrong-synced-book' | 'invalid-event' | 'secret-leak' | 'lost-data'
 */
export class FuzzFailure extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'FuzzFailure';
    this.kind = kind;
  }
}
