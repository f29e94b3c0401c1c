/**
 * Client side of the control API: one request, one response, with errors a
 * user can act on (daemon not running, permission denied, timeout).
 */
import { UsageError } from '../config/usage-error.js';
import { createConnection } from 'node:net';

export interface ControlResponse { id: unknown; ok: boolean; result?: unknown; error?: { code: string; message: string } }

export async function controlRequest(path: string, cmd: string, args: Record<string, unknown> = {}, timeoutMs = 5000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    let done = false;
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      fn();
    };
    /** A complete first line received (even if the socket failed afterwards: a busy daemon answers and closes). */
    const answered = (): boolean => {
      const nl = buf.indexOf('\n');
      if (nl < 0) return false;
      sock.end();
      finish(() => {
        try {
          resolve(JSON.parse(buf.slice(0, nl)) as ControlResponse);
        } catch {
          reject(new UsageError(`vtepd on ${path} sent a malformed response`, 1));
        }
      });
      return true;
    };
    const timer = setTimeout(() => {
      sock.destroy();
      finish(() => reject(new UsageError(`no answer from vtepd on ${path} within ${timeoutMs} ms`, 1)));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify({ id: 1, cmd, args }) + '\n'));
    sock.on('data', (d: string) => {
      buf += d;
      answered();
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (answered()) return;
      // The daemon may have answered and closed before our request went out (EPIPE): wait for what it sent.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') return;
      finish(() => reject(new UsageError(connectError(path, err), 1)));
    });
    sock.on('close', () => {
      if (answered()) return;
      finish(() => reject(new UsageError(`vtepd on ${path} closed the connection without answering`, 1)));
    });
  });
}

/** Like controlRequest, but a daemon-side error becomes a UsageError and the result is returned. */
export async function callDaemon(path: string, cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
  const res = await controlRequest(path, cmd, args);
  // `busy` already reads "vtepd is busy (N clients connected); try again later".
  if (!res.ok) throw new UsageError(res.error?.message ?? 'request failed', 1);
  return res.result;
}

function connectError(path: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
      return `no daemon is listening on ${path} (is vtepd running?); start it with "vtepd run --config FILE", or pass --socket PATH`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied on ${path}: the control socket is mode 0600, run this as the daemon's user (usually root)`;
    case 'ENOTSOCK':
      return `${path} is not a socket`;
    default:
      return `cannot reach vtepd on ${path}: ${err.code ?? ''} ${err.message}`.trim();
  }
}
