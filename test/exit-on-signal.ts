/**
 * A test process stopped by a signal (tap's timeout sends SIGTERM, a user Ctrl-C)
 * runs no 'exit' handler unless it exits itself: this turns SIGTERM / SIGINT into
 * process.exit, so the namespace clean-ups registered on 'exit' still run.
 * Idempotent: every fixture that registers such a clean-up calls it.
 */
let installed = false;
export function exitOnSignals(): void {
  if (installed) return;
  installed = true;
  for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) process.once(sig, () => process.exit(code));
}
