/** Marks a UsageError from any copy of this module (the CLI launcher bundles one copy, the commands it imports load another). */
const BRAND = Symbol.for('vtepd.UsageError');

/** A bad command line, config or request: printed as one line, exit code 2 unless the thrower says otherwise. */
export class UsageError extends Error {
  readonly [BRAND] = true;

  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UsageError';
  }

  /** `instanceof` by brand, so an error thrown by one copy is recognised by the other. */
  static override [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[BRAND] === true;
  }
}
