/**
 * Structured JSON logs (pino). The daemon logs rarely (start, reload, stop,
 * errors), so a synchronous destination is fine and means the last line
 * (final counters on SIGTERM) is on disk before the process exits.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export function createLogger(level: string, dest?: DestinationStream): Logger {
  return pino(
    { level, base: { pid: process.pid, name: 'vtepd' }, timestamp: pino.stdTimeFunctions.isoTime },
    dest ?? pino.destination({ fd: 1, sync: true }),
  );
}
