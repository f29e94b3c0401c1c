/**
 * The Prometheus endpoint's HTTP side. The daemon forwards frames on the same
 * event loop, so a scrape storm must not be able to take it:
 *
 * - one rendering at a time, reused for CACHE_MS: 200 concurrent scrapes cost
 *   one snapshot and one text rendering, not 200 (the figures are at most
 *   CACHE_MS old, well under any scrape interval);
 * - at most MAX_CLIENTS scrapes in flight; one more gets `503 busy` (connection
 *   closed), and past 4 x MAX_CLIENTS open connections new ones are dropped;
 * - a client has REQUEST_TIMEOUT_MS to send its request, and idle keep-alive
 *   connections are closed after a few seconds.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export const CACHE_MS = 500;
export const MAX_CLIENTS = 16;
const REQUEST_TIMEOUT_MS = 5000;

export interface MetricsServerCounters {
  /** Times the registry was rendered, scrapes served, and clients turned away busy. */
  renders: number;
  scrapes: number;
  busy: number;
}

export class MetricsServer {
  private server: Server | null = null;
  private body: Promise<string> | null = null;
  private bodyAt = 0;
  private inflight = 0;
  readonly counters: MetricsServerCounters = { renders: 0, scrapes: 0, busy: 0 };

  constructor(private readonly reg: Registry, private readonly cacheMs = CACHE_MS, private readonly maxClients = MAX_CLIENTS) {}

  /** The rendered registry: one rendering in flight at a time, reused for cacheMs after it finished. */
  private render(): Promise<string> {
    const now = Date.now();
    if (this.body !== null && (this.bodyAt === 0 || now - this.bodyAt < this.cacheMs)) return this.body;
    this.counters.renders++;
    this.bodyAt = 0; // in flight: every scrape until it resolves shares it
    const p = this.reg.metrics().then(
      (text) => { this.bodyAt = Date.now(); return text; },
      (err: unknown) => { this.body = null; throw err; },
    );
    this.body = p;
    return p;
  }

  /** Listen on host:port; resolves to the bound address (port 0 picks a free one). */
  async listen(host: string, port: number): Promise<AddressInfo> {
    const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: 2000 }, (req, res) => {
      if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('vtepd: try GET /metrics\n');
        return;
      }
      if (this.inflight >= this.maxClients) {
        this.counters.busy++;
        res.writeHead(503, { 'content-type': 'text/plain', connection: 'close', 'retry-after': '1' }).end(`vtepd: busy, ${this.inflight} metrics scrapes in flight\n`);
        return;
      }
      this.counters.scrapes++;
      this.inflight++;
      res.once('close', () => { this.inflight--; });
      this.render().then(
        (body) => res.writeHead(200, { 'content-type': this.reg.contentType }).end(body),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
      );
    });
    server.maxConnections = 4 * this.maxClients;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { server.off('error', reject); resolve(); });
    });
    this.server = server;
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
