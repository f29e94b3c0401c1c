/**
 * Structured JSON logs (pino), shaped for log pipelines (Loki, journald, jq):
 *  - `level` is the name ("info"), not pino's number;
 *  - `err` is an object {message, code?, type?}, whether the caller passed an
 *    Error or a message string;
 *  - every line has an `event` (a short kebab-case name to filter on); lines
 *    logged without one get a name made from their message.
 * The daemon logs rarely (start, reload, stop, FDB changes, errors), so a
 * synchronous destination is fine and means the last line (final counters on
 * SIGTERM) is on disk before the process exits.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggedError { message: string; code?: string | number; type?: string }

/** `err` as an object: message, the errno/ControlError code when there is one, the class name. */
export function errObject(err: unknown): LoggedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      message: err.message,
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
      ...(err.name !== 'Error' ? { type: err.name } : {}),
    };
  }
  if (err !== null && typeof err === 'object' && 'message' in err) return err as LoggedError;
  return { message: String(err) };
}

/** An event name from a message: "static FDB entry added" → "static-fdb-entry-added". */
export function eventName(msg: string): string {
  const s = msg.toLowerCase().replace(/\(.*?\)|:.*$/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return s.slice(0, 48).replace(/-+$/, '') || 'log';
}

export function createLogger(level: string, dest?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, name: 'vtepd' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: errObject },
      hooks: {
        // Fill in `event` where the call has none (pino calls: (obj, msg), (msg), (err, msg)).
        logMethod(args, method) {
          const [a0, a1] = args as unknown[];
          if (typeof a0 === 'string') {
            return method.apply(this, [{ event: eventName(a0) }, ...args] as unknown as Parameters<typeof method>);
          }
          if (a0 instanceof Error) {
            return method.apply(this, [{ event: eventName(typeof a1 === 'string' ? a1 : a0.message), err: a0 }, ...args.slice(1)] as unknown as Parameters<typeof method>);
          }
          if (a0 !== null && typeof a0 === 'object' && !('event' in a0)) {
            const msg = typeof a1 === 'string' ? a1 : 'log';
            return method.apply(this, [{ event: eventName(msg), ...a0 }, ...args.slice(1)] as unknown as Parameters<typeof method>);
          }
          return method.apply(this, args);
        },
      },
    },
    dest ?? pino.destination({ fd: 1, sync: true }),
  );
}
