/**
 * Control API: newline-delimited JSON over a Unix socket (mode 0600, so only
 * the owner, normally root, may steer the data plane).
 *
 *   request:  {"id": 1, "cmd": "fdb.show", "args": {"vni": 5001}}
 *   response: {"id": 1, "ok": true, "result": ...}
 *             {"id": 1, "ok": false, "error": {"code": "unknown-command", "message": "..."}}
 *
 * A bad request gets an error response and the connection stays usable; only an
 * oversized line closes it (we cannot find the next line boundary cheaply).
 * Handlers run on the event loop between batches, so they see a consistent table.
 * Backpressure, streamed replies and clients that go away: control-conn.ts.
 * Beyond MAX_CONNECTIONS a client gets one `busy` error and is closed.
 *
 * The socket file: a stale one (nothing listening) is replaced, anything else
 * at the path is refused and left alone, and close() unlinks the path only if
 * it is still the very socket this server bound (same device and inode).
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { chmodSync, linkSync, mkdirSync, unlinkSync, lstatSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ControlConn, ListReply, MAX_REQUEST_BYTES, MAX_UNSENT_BYTES, type RequestContext } from './control-conn.js';

export { ListReply, MAX_REQUEST_BYTES, MAX_UNSENT_BYTES, type RequestContext };
export const MAX_CONNECTIONS = 32;
const IDLE_TIMEOUT_MS = 60_000;
/** A client over MAX_UNSENT_BYTES for this long without reading is dropped. */
export const STALL_TIMEOUT_MS = 10_000;
/** A refused (busy) client gets this long to read its answer. */
const BUSY_LINGER_MS = 2000;

export const ERROR_CODES = ['bad-json', 'bad-request', 'unknown-command', 'too-large', 'invalid-args', 'failed', 'busy'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Thrown by handlers for a request the user got wrong (shown as-is, code invalid-args). */
export class ControlError extends Error {
  constructor(message: string, readonly code: ErrorCode = 'invalid-args') {
    super(message);
  }
}

export type Handler = (args: Record<string, unknown>, ctx: RequestContext) => unknown;
export type Handlers = Record<string, Handler>;

export interface ControlServerOptions {
  path: string;
  handlers: Handlers;
  onError?: (err: Error, cmd: string) => void;
  /** Connections served at once (default MAX_CONNECTIONS). */
  maxConnections?: number;
  /** Default STALL_TIMEOUT_MS. */
  stallMs?: number;
}

type Inode = Pick<Stats, 'dev' | 'ino'>;

export class ControlServer {
  private server: Server | null = null;
  /** The socket file this server bound: only that one is ever unlinked. */
  private bound: Inode | null = null;
  private readonly conns = new Set<ControlConn>();
  private readonly refused = new Set<Socket>();
  constructor(private readonly opts: ControlServerOptions) {}

  get path(): string { return this.opts.path; }
  /** Clients connected now. */
  get connections(): number { return this.conns.size; }

  async listen(): Promise<void> {
    const path = this.opts.path;
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    await removeStaleSocket(path);
    // Bound under a private name, then hard-linked into place: link() never replaces what is
    // there (a daemon that got there first keeps its socket), and the private name is what
    // libuv unlinks when the server closes, so closing never removes the public path by name.
    const tmp = privateName(path);
    if (tmp !== path && isSocketFile(tmp)) unlinkSync(tmp); // left by a crash of a process with our pid
    // Half-open: a client may send its requests and shut down its side, and still get every answer.
    const server = createServer({ allowHalfOpen: true }, (s) => this.accept(s));
    // umask covers the window between bind() and chmod(); bind happens inside listen().
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(tmp, () => { server.off('error', reject); resolve(); });
      });
    } finally {
      process.umask(old);
    }
    this.server = server;
    try {
      chmodSync(tmp, 0o600);
      if (tmp !== path) {
        try {
          linkSync(tmp, path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`another vtepd is already listening on ${path}`, { cause: err });
          throw err;
        } finally {
          unlinkSync(tmp);
        }
      }
      const st = lstatSync(path);
      this.bound = { dev: st.dev, ino: st.ino };
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const c of this.conns) c.destroy();
    for (const s of this.refused) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
    const mine = this.bound;
    this.bound = null;
    if (mine !== null && sameSocket(this.opts.path, mine)) {
      try { unlinkSync(this.opts.path); } catch { /* already gone */ }
    }
  }

  private accept(sock: Socket): void {
    const max = this.opts.maxConnections ?? MAX_CONNECTIONS;
    if (this.conns.size >= max) return this.busy(sock, max);
    const c = new ControlConn(sock, {
      dispatch: (line, ctx) => this.dispatch(line, ctx),
      stallMs: this.opts.stallMs ?? STALL_TIMEOUT_MS,
      idleMs: IDLE_TIMEOUT_MS,
    });
    this.conns.add(c);
    sock.on('close', () => this.conns.delete(c));
  }

  /** Over the limit: one `busy` answer, then close (the client's request is read and dropped so it can read the answer). */
  private busy(sock: Socket, max: number): void {
    if (this.refused.size >= max) { sock.destroy(); return; }
    this.refused.add(sock);
    sock.on('close', () => this.refused.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.on('data', () => undefined);
    sock.setTimeout(BUSY_LINGER_MS, () => sock.destroy());
    const n = this.conns.size;
    sock.end(JSON.stringify({ id: null, ok: false, error: { code: 'busy', message: `vtepd is busy (${n} clients connected); try again later`, clients: n } }) + '\n');
  }

  /** One request line → one response object; never throws. */
  async dispatch(line: string, ctx: RequestContext = { signal: new AbortController().signal }): Promise<Record<string, unknown>> {
    let req: unknown;
    try {
      req = JSON.parse(line);
    } catch (err) {
      return fail(null, 'bad-json', `request is not valid JSON: ${(err as Error).message}`);
    }
    if (req === null || typeof req !== 'object' || Array.isArray(req)) {
      return fail(null, 'bad-request', 'request must be a JSON object like {"id":1,"cmd":"stats"}');
    }
    const r = req as Record<string, unknown>;
    const id = typeof r.id === 'number' || typeof r.id === 'string' ? r.id : null;
    if (typeof r.cmd !== 'string') return fail(id, 'bad-request', 'missing "cmd" (a string)');
    if (r.args !== undefined && (r.args === null || typeof r.args !== 'object' || Array.isArray(r.args))) {
      return fail(id, 'bad-request', '"args" must be an object');
    }
    const h = Object.hasOwn(this.opts.handlers, r.cmd) ? this.opts.handlers[r.cmd] : undefined;
    if (!h) {
      return fail(id, 'unknown-command', `unknown command "${r.cmd.slice(0, 64)}"; known: ${Object.keys(this.opts.handlers).join(', ')}`);
    }
    try {
      const result = await h((r.args ?? {}) as Record<string, unknown>, ctx);
      return { id, ok: true, result: result ?? null };
    } catch (err) {
      if (err instanceof ControlError) return fail(id, err.code, err.message);
      this.opts.onError?.(err as Error, r.cmd);
      return fail(id, 'failed', `${r.cmd} failed: ${(err as Error).message}`);
    }
  }
}

function fail(id: unknown, code: ErrorCode, message: string): Record<string, unknown> {
  return { id, ok: false, error: { code, message } };
}

/** Unix socket paths are at most 107 bytes. */
const MAX_SOCKET_PATH = 107;

/** Where to bind before linking into `path` (beside it, so link() stays on one filesystem); `path` itself when too long. */
function privateName(path: string): string {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}`);
  if (Buffer.byteLength(tmp) <= MAX_SOCKET_PATH) return tmp;
  const short = join(dirname(path), `.vtepd.${process.pid}`);
  return Buffer.byteLength(short) <= MAX_SOCKET_PATH ? short : path;
}

function isSocketFile(p: string): boolean {
  try { return lstatSync(p).isSocket(); } catch { return false; }
}

/** Whether `path` is still the socket `inode` (not replaced by another daemon's socket or a file). */
function sameSocket(path: string, inode: Inode): boolean {
  try {
    const st = lstatSync(path);
    return st.isSocket() && st.dev === inode.dev && st.ino === inode.ino;
  } catch {
    return false;
  }
}

/** A socket file left by a crashed daemon is removed; a live daemon's socket, or anything that is not a socket, is an error. */
async function removeStaleSocket(path: string): Promise<void> {
  let st: Stats;
  try { st = lstatSync(path); } catch { return; }
  if (!st.isSocket()) throw new Error(`control.socket ${path} exists and is not a socket; vtepd leaves it alone (remove it or choose another path)`);
  const probe = await new Promise<string>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => { c.destroy(); resolve('alive'); });
    c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  if (probe === 'alive') throw new Error(`another vtepd is already listening on ${path}`);
  if (probe === 'ENOENT') return;
  if (probe !== 'ECONNREFUSED') throw new Error(`control.socket ${path}: cannot tell whether a daemon listens on it (${probe}); vtepd leaves it alone`);
  // Nobody listens: stale. Unlink it only if it is still the socket probed.
  if (sameSocket(path, st)) unlinkSync(path);
}
