#!/usr/bin/env node
/**
 * Tiny traffic tool run inside a "VM" namespace (`ip netns exec NS node netns-tool.js ...`)
 * so the demo and the tests need neither ping nor nc on the host:
 *   ping DST COUNT TIMEOUT_MS [INTERVAL_MS]  ICMP / ICMPv6 echo via raw-socket (one at a time, INTERVAL_MS apart); prints JSON {sent, received, rttMs}
 *   sink PORT                     TCP server: counts bytes of one connection, prints JSON {bytes, sha}
 *   send DST PORT BYTES           TCP client: sends BYTES pseudo-random bytes, prints JSON {bytes, sha}
 */
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { createServer, connect, isIPv6 } from 'node:net';
import { internetChecksum } from '../packet/checksum.js';

const require = createRequire(import.meta.url);
/**
 * raw-socket's native wrap is a weak ObjectWrap and its uv_poll does not root the
 * JS socket: a socket reachable only from pending callbacks gets garbage-collected
 * (the poll stops and node exits mid-ping). A module-level reference prevents that.
 */
const liveSockets: unknown[] = [];

interface RawSocket {
  on(ev: 'message', cb: (buf: Buffer, source: string) => void): void;
  on(ev: 'error', cb: (err: Error) => void): void;
  send(buf: Buffer, off: number, len: number, addr: string, cb: (err: Error | null) => void): void;
  close(): void;
}

function csum(b: Buffer): number {
  return internetChecksum(b, 0, b.length);
}

async function ping(dst: string, count: number, timeoutMs: number, intervalMs = 0): Promise<void> {
  const raw = require('raw-socket') as { createSocket(o: object): RawSocket; Protocol: Record<string, number>; AddressFamily: Record<string, number> };
  const v6 = isIPv6(dst);
  const sock = v6
    ? raw.createSocket({ protocol: raw.Protocol.ICMPv6, addressFamily: raw.AddressFamily.IPv6 })
    : raw.createSocket({ protocol: raw.Protocol.ICMP });
  liveSockets.push(sock);
  const ident = process.pid & 0xffff;
  const sentAt = new Map<number, bigint>();
  const rtt: number[] = [];
  let received = 0;
  sock.on('error', (e) => { process.stderr.write(`ping: ${e.message}\n`); });
  sock.on('message', (buf) => {
    // IPv4 raw sockets deliver the IP header too; IPv6 ones do not.
    const off = v6 ? 0 : (buf[0] & 0x0f) * 4;
    if (buf.length < off + 8) return;
    const type = buf[off];
    if (type !== (v6 ? 129 : 0) || buf.readUInt16BE(off + 4) !== ident) return;
    const seq = buf.readUInt16BE(off + 6);
    const t0 = sentAt.get(seq);
    if (t0 === undefined) return;
    sentAt.delete(seq);
    received++;
    rtt.push(Number(process.hrtime.bigint() - t0) / 1e6);
  });
  for (let seq = 1; seq <= count; seq++) {
    const b = Buffer.alloc(8 + 56);
    b[0] = v6 ? 128 : 8;
    b.writeUInt16BE(ident, 4);
    b.writeUInt16BE(seq, 6);
    for (let i = 8; i < b.length; i++) b[i] = i;
    if (!v6) b.writeUInt16BE(csum(b), 2); // the kernel fills the ICMPv6 checksum
    sentAt.set(seq, process.hrtime.bigint());
    // A send whose callback never comes (the socket failed and closed under load) must not end the process
    // silently with nothing printed: the echo counts as lost after its timeout.
    await new Promise<void>((r) => {
      const guard = setTimeout(r, timeoutMs);
      try {
        sock.send(b, 0, b.length, dst, () => { clearTimeout(guard); r(); });
      } catch (e) {
        process.stderr.write(`ping: ${(e as Error).message}\n`);
        clearTimeout(guard);
        r();
      }
    });
    const until = Date.now() + timeoutMs;
    while (sentAt.has(seq) && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    if (intervalMs > 0 && seq < count) await new Promise((r) => setTimeout(r, intervalMs));
  }
  try { sock.close(); } catch { /* already closed by an error */ }
  process.stdout.write(JSON.stringify({ sent: count, received, rttMs: rtt.map((x) => Math.round(x * 1000) / 1000) }) + '\n');
}

function sink(port: number): void {
  const srv = createServer((c) => {
    const h = createHash('sha256');
    let bytes = 0;
    c.on('data', (d: Buffer) => { bytes += d.length; h.update(d); });
    c.on('end', () => {
      process.stdout.write(JSON.stringify({ bytes, sha: h.digest('hex') }) + '\n');
      c.end();
      srv.close();
    });
  });
  srv.listen(port, '::', () => process.stdout.write('listening\n'));
}

function send(dst: string, port: number, total: number): void {
  const h = createHash('sha256');
  const chunk = Buffer.alloc(65536);
  let x = 12345;
  for (let i = 0; i < chunk.length; i++) { x = (x * 1103515245 + 12345) >>> 0; chunk[i] = x >>> 24; }
  const c = connect({ host: dst, port });
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      const n = Math.min(chunk.length, total - sent);
      const part = n === chunk.length ? chunk : chunk.subarray(0, n);
      h.update(part);
      sent += n;
      if (!c.write(part)) { c.once('drain', pump); return; }
    }
    c.end();
  };
  c.on('connect', pump);
  c.on('error', (e) => { process.stderr.write(`send: ${e.message}\n`); process.exitCode = 1; });
  c.on('close', () => process.stdout.write(JSON.stringify({ bytes: sent, sha: h.digest('hex') }) + '\n'));
}

const [cmd, a, b, c] = process.argv.slice(2);
if (cmd === 'ping') void ping(a, Number(b ?? 3), Number(c ?? 1000), Number(process.argv[6] ?? 0));
else if (cmd === 'sink') sink(Number(a));
else if (cmd === 'send') send(a, Number(b), Number(c));
else { process.stderr.write('usage: netns-tool ping DST COUNT TIMEOUT_MS | sink PORT | send DST PORT BYTES\n'); process.exitCode = 2; }
