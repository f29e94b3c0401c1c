/**
 * Underlay next hop without static configuration: `ip -j route get` names the
 * next hop (gateway or the destination itself) and device; the kernel's
 * neighbour table gives its MAC. When there is no usable entry, a UDP datagram
 * to the discard port of the next hop makes the kernel resolve it (ARP / ND),
 * and the table is read again until the timeout. Control path only.
 */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { promisify } from 'node:util';
import { addressFamily } from './addr.js';

const run = promisify(execFile);
const USABLE = new Set(['REACHABLE', 'STALE', 'DELAY', 'PROBE', 'PERMANENT', 'NOARP']);

export interface NextHop { destination: string; nextHop: string; device: string; mac: string; source?: string }
export interface ResolveOptions { netns?: string; timeoutMs?: number }

async function ipJson(args: string[], netns?: string): Promise<unknown[]> {
  const full = netns ? ['-n', netns, '-j', ...args] : ['-j', ...args];
  const { stdout } = await run('ip', full, { encoding: 'utf8' });
  return stdout.trim() === '' ? [] : JSON.parse(stdout) as unknown[];
}

interface RouteJson { dst: string; gateway?: string; dev: string; prefsrc?: string }
interface NeighJson { dst: string; lladdr?: string; state?: string[] }

/** Route to `dst`: next-hop address and device. */
export async function routeTo(dst: string, netns?: string): Promise<{ nextHop: string; device: string; source?: string }> {
  if (addressFamily(dst) === 0) throw new Error(`next hop: '${dst}' is not an IP address`);
  let r: RouteJson | undefined;
  try {
    r = (await ipJson(['route', 'get', dst], netns))[0] as RouteJson | undefined;
  } catch (e) {
    throw new Error(`no route to underlay destination ${dst}: ${((e as { stderr?: string }).stderr ?? String(e)).trim()}`);
  }
  if (!r) throw new Error(`no route to underlay destination ${dst}`);
  return { nextHop: r.gateway ?? dst, device: r.dev, source: r.prefsrc };
}

/** MAC of `addr` on `device` from the neighbour table, or null. */
export async function neighbourMac(addr: string, device: string, netns?: string): Promise<string | null> {
  const list = await ipJson(['neigh', 'show', 'to', addr, 'dev', device], netns) as NeighJson[];
  for (const n of list) {
    if (n.lladdr && (n.state ?? []).some((s) => USABLE.has(s))) return n.lladdr.toLowerCase();
  }
  return null;
}

/** Datagram to the discard port: the kernel resolves the next hop to send it. */
async function poke(addr: string, netns?: string): Promise<void> {
  if (netns) {
    // dgram binds lazily (after a tick), so setns would not cover it: use a child in the namespace.
    const fam = addressFamily(addr) === 6 ? 'udp6' : 'udp4';
    const code = `const s=require('dgram').createSocket('${fam}');s.send(Buffer.alloc(1),9,${JSON.stringify(addr)},()=>s.close())`;
    await run('ip', ['netns', 'exec', netns, process.execPath, '-e', code]).catch(() => undefined);
    return;
  }
  const s = dgram.createSocket(addressFamily(addr) === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((r) => s.send(Buffer.alloc(1), 9, addr, () => r()));
  s.close();
}

/** Next-hop MAC for an underlay destination, resolving it if needed. */
export async function resolveNextHop(dst: string, opts: ResolveOptions = {}): Promise<NextHop> {
  const route = await routeTo(dst, opts.netns);
  const deadline = Date.now() + (opts.timeoutMs ?? 3000);
  let poked = false;
  for (;;) {
    const mac = await neighbourMac(route.nextHop, route.device, opts.netns);
    if (mac !== null) return { destination: dst, nextHop: route.nextHop, device: route.device, mac, source: route.source };
    if (Date.now() > deadline) {
      throw new Error(`could not resolve the MAC of next hop ${route.nextHop} on ${route.device} (for ${dst}): no ARP/ND answer`);
    }
    if (!poked) { await poke(route.nextHop, opts.netns); poked = true; }
    await new Promise((r) => setTimeout(r, 50));
  }
}
