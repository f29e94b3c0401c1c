/**
 * FRR on one hypervisor of an EvpnLab: zebra + bgpd run by hand inside the
 * hypervisor's namespace (no systemd, no watchfrr), each with its own config,
 * pid file, zserv socket and vty socket folder under the lab's temp folder.
 * bgpd: iBGP AS 65000 to the other hypervisors, L2VPN/EVPN, advertise-all-vni
 * (FRR then advertises and programs every kernel vxlan device it finds).
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASN, type EvpnLab, type Hv, type Proc } from './evpn-lab.js';

export const ZEBRA = '/usr/lib/frr/zebra';
export const BGPD = '/usr/lib/frr/bgpd';
export const VTYSH = '/usr/bin/vtysh';

export function frrSkip(): string | false {
  for (const f of [ZEBRA, BGPD, VTYSH]) if (!existsSync(f)) return `FRR is not installed (${f} missing: apt-get install frr)`;
  if (!readFileSync('/etc/passwd', 'utf8').includes('\nfrr:')) return 'no user frr (the frr package creates it)';
  return false;
}

function frrIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('frr:'));
  if (!line) throw new Error('no user frr (the frr package creates it)');
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export interface FrrProcs { dir: string; zebra: Proc; bgpd: Proc }

/** bgpd.conf as a user would write it for EVPN with the kernel's VXLAN devices. */
export function bgpdConfig(h: Hv, peers: string[]): string {
  return [
    'frr defaults traditional',
    `hostname hv${h.n}`,
    'log stdout informational',
    `router bgp ${ASN}`,
    ` bgp router-id ${h.ip}`,
    ' no bgp default ipv4-unicast',
    ' timers bgp 3 9',
    ...peers.flatMap((p) => [` neighbor ${p} remote-as ${ASN}`, ` neighbor ${p} update-source ${h.ip}`, ` neighbor ${p} timers connect 1`]),
    ' address-family l2vpn evpn',
    ...peers.map((p) => `  neighbor ${p} activate`),
    '  advertise-all-vni',
    ' exit-address-family',
    '',
  ].join('\n');
}

export function startFrr(lab: EvpnLab, h: Hv, peers = lab.hvs.filter((x) => x !== h).map((x) => x.ip)): FrrProcs {
  const dir = join(lab.dir, `frr-hv${h.n}`);
  mkdirSync(dir, { recursive: true });
  // FRR drops to its own user (the vty group check refuses root): its folder must be its own, the lab's traversable.
  chmodSync(lab.dir, 0o711);
  const { uid, gid } = frrIds();
  chownSync(dir, uid, gid);
  writeFileSync(join(dir, 'zebra.conf'), `hostname hv${h.n}\nlog stdout informational\n`);
  writeFileSync(join(dir, 'bgpd.conf'), bgpdConfig(h, peers));
  const common = ['-i', '', '-z', join(dir, 'zserv.api'), '--vty_socket', dir, '-u', 'frr', '-g', 'frr', '-P', '0'];
  const args = (d: string): string[] => common.map((a, i) => (i === 1 ? join(dir, `${d}.pid`) : a));
  const zebra = lab.spawnIn(h.ns, `zebra${h.n}`, ZEBRA, ['-f', join(dir, 'zebra.conf'), ...args('zebra')]);
  const bgpd = lab.spawnIn(h.ns, `bgpd${h.n}`, BGPD, ['-f', join(dir, 'bgpd.conf'), ...args('bgpd')]);
  return { dir, zebra, bgpd };
}

/** `vtysh -c CMD` against this FRR (JSON commands parsed). */
export function vtysh(h: Hv, frr: FrrProcs, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', h.ns, VTYSH, '--vty_socket', frr.dir, '-c', cmd], { timeout: 10000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`vtysh ${cmd}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** `bridge -j fdb show dev DEV` in a namespace, with flags. */
export interface BridgeFdbRow { mac: string; ifname?: string; dst?: string; state?: string; flags?: string[]; master?: string; vni?: number }
export function bridgeFdb(ns: string, dev: string): BridgeFdbRow[] {
  return JSON.parse(execFileSync('bridge', ['-n', ns, '-j', '-d', 'fdb', 'show', 'dev', dev], { encoding: 'utf8' }) || '[]') as BridgeFdbRow[];
}
