/**
 * Whether AF_XDP (`backend: afxdp`, `underlay.transport: afxdp`) can attach on
 * this host, per interface, and why not. Interfaces are only looked at (XDP
 * features, queues, the program attached now), never attached to; the one real
 * attempt happens on a veth pair in a throwaway namespace, so the kernel's own
 * answer backs the verdict.
 */
import { existsSync } from 'node:fs';
import { loadAfXdp, xskObjectPath, type XdpProbeNative } from '../native/af-xdp-native.js';
import { AfPacketPort } from '../ports/af-packet-port.js';
import { AfXdpPort } from '../ports/af-xdp-port.js';
import { PacketBatch } from '../batch/packet-batch.js';
import { createNetns, deleteNetns, iproute, iprouteJson } from './iproute.js';
import type { Avail } from './host-probe.js';

export interface AfXdpInterface {
  interface: string;
  driver: string;
  queues: number;
  /** XDP in the driver (fast); otherwise generic (skb) XDP, which any device has. */
  native: Avail;
  generic: Avail;
  zeroCopy: Avail;
  /** Whether vtepd may attach now (nothing attached, or a leftover of its own). */
  attach: Avail;
  attached: XdpProbeNative['attached'];
}

export interface AfXdpCapabilities {
  /** The kernel has AF_XDP sockets and we may open them. */
  sockets: Avail;
  /** vtepd's XDP program object is built. */
  program: Avail;
  /** An AF_XDP port on a veth in a throwaway namespace received a frame. */
  trial: Avail;
  interfaces: AfXdpInterface[];
}

const no = (reason: string): Avail => ({ ok: false, reason });
const yes = (reason: string): Avail => ({ ok: true, reason });

/** The verdicts for one interface, from the addon's look at it (pure: tests feed it any answer). */
export function judgeInterface(p: XdpProbeNative, sockets: Avail): AfXdpInterface {
  const driver = p.driver || 'unknown';
  const f = p.features;
  const base = { interface: p.interface, driver, queues: p.queues ?? 0, attached: p.attached ?? null };
  if (p.ifindex === 0) return { ...base, native: no('no such interface'), generic: no('no such interface'), zeroCopy: no('no such interface'), attach: no('no such interface') };
  if (!sockets.ok) return { ...base, native: sockets, generic: sockets, zeroCopy: sockets, attach: sockets };
  const native = !f?.known ? no(`unknown: ${f?.why ?? 'no answer'}; vtepd tries native first, then generic`)
    : f.native ? yes(`driver ${driver} has native XDP with redirect`) : no(`driver ${driver} has no native XDP: generic (skb) mode only, slower`);
  const zeroCopy = !f?.known ? no('unknown (no XDP feature report); mode auto tries zero-copy, then copy')
    : f.zeroCopy ? yes(`driver ${driver} offers AF_XDP zero-copy`) : no(`driver ${driver} has no AF_XDP zero-copy: copy mode (frames are copied once each way)`);
  const a = p.attached;
  let attach: Avail;
  if (p.queryErrno) attach = no(`cannot read its XDP state (${p.queryErrno}): needs root or CAP_NET_ADMIN`);
  else if (!a) attach = yes('no XDP program attached');
  else if (a.ours && !a.viaLink) attach = yes(`a leftover vtepd_xsk (id ${a.id}) is attached: vtepd replaces it`);
  else if (a.ours) attach = no(`in use by a running vtepd (vtepd_xsk id ${a.id}, held by a bpf_link)`);
  else if (a.name.startsWith('vtepd_xdp')) attach = no(`in use by a running vtepd in the xdp plan (${a.name}, id ${a.id}; gone when that daemon stops)`);
  else attach = no(`XDP program '${a.name}' (id ${a.id}, ${a.mode}) is attached and is not vtepd's; ${a.remove}`);
  return { ...base, native, generic: yes('generic (skb) XDP works on any device'), zeroCopy, attach };
}

/** Open an AF_XDP port on a veth in a throwaway namespace and receive one frame on it. */
async function trial(): Promise<Avail> {
  let ns: string;
  try {
    ns = await createNetns('vtepd-xsk');
  } catch (e) {
    return no(`cannot create a probe namespace (root needed): ${(e as Error).message}`);
  }
  try {
    await iproute('ip', ['link', 'add', 'xa', 'type', 'veth', 'peer', 'name', 'xb'], { netns: ns });
    for (const i of ['xa', 'xb']) await iproute('ip', ['link', 'set', i, 'up'], { netns: ns });
    const rx = new AfXdpPort({ interface: 'xb', netns: ns, rxSize: 64, txSize: 64, fillSize: 64, compSize: 64 });
    const tx = new AfPacketPort({ interface: 'xa', netns: ns });
    try {
      const b = new PacketBatch({ capacity: 4 });
      const f = new Uint8Array(60).fill(0xee, 0, 6);
      f[12] = 0x88; f[13] = 0xb5;
      b.append(f, 0, 60, 60, 0, 0);
      tx.transmit(b);
      b.clear();
      for (let k = 0; k < 50 && b.count === 0; k++) { rx.receive(b); await new Promise((r) => setTimeout(r, 10)); }
      const d = rx.details();
      if (b.count === 0) return no('an AF_XDP port opened on a veth but received nothing');
      return yes(`an AF_XDP port on a veth received a frame (${d.xdpMode} XDP, ${d.socketMode} mode, attached by ${d.attachedVia})`);
    } finally {
      await rx.close();
      await tx.close();
    }
  } catch (e) {
    return no((e as Error).message);
  } finally {
    await deleteNetns(ns);
  }
}

/** Probe AF_XDP on `ifaces` (default: every interface of this namespace). */
export async function probeAfXdp(ifaces?: string[]): Promise<AfXdpCapabilities> {
  let native: ReturnType<typeof loadAfXdp>;
  try {
    native = loadAfXdp();
  } catch (e) {
    const r = no((e as Error).message);
    return { sockets: r, program: r, trial: r, interfaces: [] };
  }
  const names = ifaces ?? (await iprouteJson<{ ifname: string }>('ip', ['link', 'show']).catch(() => [])).map((l) => l.ifname);
  const looks = names.map((n) => native.xdpProbe(n));
  const sockErr = looks[0]?.socketErrno ?? native.xdpProbe('lo').socketErrno;
  const sockets = sockErr === null ? yes('the kernel has AF_XDP sockets')
    : sockErr === 'EAFNOSUPPORT' ? no('this kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS, Linux 4.18+)')
      : no(`opening an AF_XDP socket failed (${sockErr}): needs root or CAP_NET_RAW`);
  const obj = xskObjectPath();
  const program = existsSync(obj) ? yes(`${obj} built`) : no(`${obj} missing: run npm run build:native (needs clang, bpftool and kernel BTF)`);
  const tried = sockets.ok && program.ok ? await trial() : no(!sockets.ok ? sockets.reason : program.reason);
  return { sockets, program, trial: tried, interfaces: looks.map((p) => judgeInterface(p, sockets)) };
}

