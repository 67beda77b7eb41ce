/**
 * A command-line mistake that a command finds itself, past what commander checks: an option
 * this action needs (`journal backup` without `--out`), an unknown action, a value that is not
 * what the option takes (`report --from yesterday`), two options that contradict each other.
 * main.ts maps it to exit 2, like commander's own argument errors (docs/operations.md: 2 = a bad
 * config or bad arguments; 1 = a failure while doing the work).
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
