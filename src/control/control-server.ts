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
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { chmodSync, mkdirSync, unlinkSync, lstatSync } from 'node:fs';
import { dirname } from 'node:path';

export const MAX_REQUEST_BYTES = 64 * 1024;
export const MAX_CONNECTIONS = 32;
const IDLE_TIMEOUT_MS = 60_000;

export const ERROR_CODES = ['bad-json', 'bad-request', 'unknown-command', 'too-large', 'invalid-args', 'failed', 'busy'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Thrown by handlers for a request the user got wrong (shown as-is, code invalid-args). */
export class ControlError extends Error {
  constructor(message: string, readonly code: ErrorCode = 'invalid-args') {
    super(message);
  }
}

export type Handler = (args: Record<string, unknown>) => unknown;
export type Handlers = Record<string, Handler>;

export interface ControlServerOptions {
  path: string;
  handlers: Handlers;
  onError?: (err: Error, cmd: string) => void;
}

export class ControlServer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  constructor(private readonly opts: ControlServerOptions) {}

  get path(): string { return this.opts.path; }

  async listen(): Promise<void> {
    const path = this.opts.path;
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    await removeStaleSocket(path);
    const server = createServer((s) => this.accept(s));
    server.maxConnections = MAX_CONNECTIONS;
    // umask covers the window between bind() and chmod(); bind happens inside listen().
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => { server.off('error', reject); resolve(); });
      });
    } finally {
      process.umask(old);
    }
    chmodSync(path, 0o600);
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
    try { unlinkSync(this.opts.path); } catch { /* already gone */ }
  }

  private accept(sock: Socket): void {
    this.sockets.add(sock);
    sock.setEncoding('utf8');
    sock.setTimeout(IDLE_TIMEOUT_MS, () => sock.destroy());
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = '';
    let chain = Promise.resolve();
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim() === '') continue;
        if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) return this.tooLarge(sock);
        // Answer in order even when a handler is async.
        chain = chain.then(() => this.answer(sock, line));
      }
      if (Buffer.byteLength(buf) > MAX_REQUEST_BYTES) this.tooLarge(sock);
    });
  }

  private tooLarge(sock: Socket): void {
    sock.end(JSON.stringify({ id: null, ok: false, error: { code: 'too-large', message: `request larger than ${MAX_REQUEST_BYTES} bytes` } }) + '\n');
    sock.pause();
  }

  private async answer(sock: Socket, line: string): Promise<void> {
    const res = await this.dispatch(line);
    if (!sock.destroyed && sock.writable) sock.write(JSON.stringify(res) + '\n');
  }

  /** One request line → one response object; never throws. */
  async dispatch(line: string): Promise<Record<string, unknown>> {
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
      const result = await h((r.args ?? {}) as Record<string, unknown>);
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

/** A socket file left by a crashed daemon is removed; a live daemon's socket is an error. */
async function removeStaleSocket(path: string): Promise<void> {
  let isSock = false;
  try { isSock = lstatSync(path).isSocket(); } catch { return; }
  if (!isSock) throw new Error(`control.socket ${path} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another vtepd is already listening on ${path}`);
  unlinkSync(path);
}
