/**
 * Checks the compute conformance suite's sections share: a failure names the first mismatch with
 * context (instead of thousands of expect() calls), and the one way an argument error is told.
 */

export function fail(message: string): never {
  throw new Error(message);
}

export function isComputeArgumentError(e: unknown): boolean {
  return e instanceof Error && e.name === 'ComputeArgumentError';
}

/** `call` rejects (or throws) a ComputeArgumentError, or the test fails saying what it did instead. */
export async function expectArgumentError(label: string, call: () => unknown): Promise<void> {
  let error: unknown;
  try {
    await call();
  } catch (e) {
    error = e;
  }
  if (error === undefined) fail(`${label}: expected a ComputeArgumentError, but the call succeeded`);
  if (!isComputeArgumentError(error)) fail(`${label}: expected a ComputeArgumentError, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
}
