/** A bad command line, config or request: printed as one line, exit code 2 unless the thrower says otherwise. */
export class UsageError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UsageError';
  }
}
