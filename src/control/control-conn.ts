/**
 * One control-API client connection, with backpressure both ways:
 *
 *  - requests are taken one line at a time from a bounded buffer; reading from
 *    the socket stops while that buffer holds a full request's worth, or while
 *    the replies the client has not read yet exceed MAX_UNSENT_BYTES;
 *  - a reply that is a `ListReply` (fdb.show of a big table) is written piece
 *    by piece, waiting for the client to read between pieces, instead of as
 *    one string of the whole table;
 *  - a client that stays over MAX_UNSENT_BYTES for `stallMs` without reading is
 *    dropped; a client that has gone stops its requests: the ones not started
 *    are discarded, the running one sees `ctx.signal` aborted;
 *  - one request at a time per connection, answered in order, and the event
 *    loop gets a turn at least every millisecond of requests (the data path
 *    runs on the same loop).
 */
import type { Socket } from 'node:net';

export const MAX_REQUEST_BYTES = 64 * 1024;
/** Reply bytes a client has not read yet above which its requests are no longer read. */
export const MAX_UNSENT_BYTES = 1 << 20;
/** Longest run of requests answered without letting the event loop turn (the data path shares it). */
const YIELD_MS = 1;
/** Items of a streamed reply serialised per socket write. */
const CHUNK_BYTES = 16 * 1024;

/** What a handler learns about the request it serves. */
export interface RequestContext {
  /** Aborted when the client has gone: long handlers stop, queued work is skipped. */
  signal: AbortSignal;
}

/** A reply made of many items, sent as one JSON array (the wire format is unchanged) but written as the client reads. */
export class ListReply {
  constructor(readonly items: Iterable<unknown>) {}
}

export interface ConnOptions {
  /** Answer one request line (never throws). */
  dispatch(line: string, ctx: RequestContext): Promise<Record<string, unknown>>;
  /** Drop the connection after this long over MAX_UNSENT_BYTES without the client reading. */
  stallMs: number;
  idleMs: number;
}

export class ControlConn {
  private buf = '';
  private ended = false;
  private running = false;
  private readonly abort = new AbortController();
  private stallTimer: NodeJS.Timeout | null = null;
  /** When this connection last let the event loop turn. */
  private turn = performance.now();

  constructor(readonly sock: Socket, private readonly o: ConnOptions) {
    sock.setEncoding('utf8');
    sock.setTimeout(o.idleMs, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.gone());
    sock.on('end', () => { this.ended = true; void this.pump(); });
    sock.on('drain', () => { this.clearStall(); this.flow(); });
    sock.on('data', (chunk: string) => {
      this.buf += chunk;
      this.flow();
      void this.pump();
    });
  }

  get closed(): boolean { return this.abort.signal.aborted; }

  /** Close from the server's side (the daemon stops): the running request is told, the rest dropped. */
  destroy(): void {
    this.gone();
    this.sock.destroy();
  }

  /** Read from the socket only while the request buffer and the unsent replies are under their bounds. */
  private flow(): void {
    if (this.closed) return;
    // More than a request's worth buffered holds a full line or an over-long one: either way, read no further.
    if (this.buf.length <= MAX_REQUEST_BYTES && this.sock.writableLength <= MAX_UNSENT_BYTES) this.sock.resume();
    else this.sock.pause();
  }

  private gone(): void {
    this.clearStall();
    this.buf = '';
    this.abort.abort();
  }

  /** Answer buffered requests one by one until none is complete. */
  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.closed) {
        const nl = this.buf.indexOf('\n');
        if (nl < 0) {
          if (Buffer.byteLength(this.buf) > MAX_REQUEST_BYTES) return this.tooLarge();
          if (this.ended) this.sock.end();
          return;
        }
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.flow();
        if (line.trim() === '') continue;
        if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) return this.tooLarge();
        const res = await this.o.dispatch(line, { signal: this.abort.signal });
        if (this.closed) return;
        if (res.result instanceof ListReply) {
          // Half a line is on the wire already: a failure now can only close the connection.
          try { await this.stream(res, res.result); } catch { this.sock.destroy(); return; }
        } else {
          this.sock.write(JSON.stringify(res) + '\n');
        }
        await this.writable();
        // A turn of the event loop at least every YIELD_MS of requests: the data path and other
        // clients run meanwhile, and a client that has gone is noticed (its write error) soon.
        if (performance.now() - this.turn >= YIELD_MS) {
          await new Promise<void>((r) => setImmediate(r));
          this.turn = performance.now();
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** `{"id":..,"ok":true,"result":[item,...]}` written in pieces, waiting for the client between them. */
  private async stream(res: Record<string, unknown>, list: ListReply): Promise<void> {
    const head = JSON.stringify({ ...res, result: [] });
    // head ends with `[]}`: write up to the `[`, then the items, then `]}`.
    let chunk = head.slice(0, -2);
    let first = true;
    for (const item of list.items) {
      chunk += (first ? '' : ',') + JSON.stringify(item);
      first = false;
      if (chunk.length >= CHUNK_BYTES) {
        this.sock.write(chunk);
        chunk = '';
        await this.writable();
        if (this.closed) return;
      }
    }
    this.sock.write(chunk + ']}\n');
  }

  /** Resolves once the unsent bytes are under the bound (or the client has gone); starts the stall clock meanwhile. */
  private writable(): Promise<void> {
    if (this.closed || this.sock.writableLength <= MAX_UNSENT_BYTES) return Promise.resolve();
    this.sock.pause();
    this.stallTimer ??= setTimeout(() => this.sock.destroy(), this.o.stallMs);
    return new Promise((resolve) => {
      const done = (): void => {
        this.sock.off('drain', done);
        this.sock.off('close', done);
        resolve();
      };
      this.sock.on('drain', done);
      this.sock.on('close', done);
    });
  }

  private clearStall(): void {
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }

  /** An over-long request: one error, then the connection closes (the next line boundary cannot be found cheaply). */
  private tooLarge(): void {
    this.buf = '';
    this.sock.pause();
    this.sock.end(JSON.stringify({ id: null, ok: false, error: { code: 'too-large', message: `request larger than ${MAX_REQUEST_BYTES} bytes` } }) + '\n');
  }
}
