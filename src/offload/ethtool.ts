/**
 * NIC feature probing. Offload flags come from `ethtool -k IF` (Node cannot
 * issue the ETHTOOL ioctl, and sysfs has no features file). Each flag is
 * on/off and may be `[fixed]` (cannot be changed). The device kind comes from
 * sysfs: an interface without /sys/class/net/IF/device is a software device
 * (veth, bridge, tap...), whose "offload" flags describe kernel software, not
 * hardware, so they never count as `nic` placement.
 */
import { execFile } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

export interface EthtoolFeature {
  on: boolean;
  fixed: boolean;
}

export interface NicInfo {
  iface: string;
  /** Driver name (sysfs), e.g. virtio_net, mlx5_core; null for software devices without one. */
  driver: string | null;
  /** Backed by a device (PCI, virtio...) rather than a pure software netdev. */
  hasDevice: boolean;
  /** Parsed `ethtool -k`, or null with the reason when it could not be read. */
  features: Record<string, EthtoolFeature> | null;
  featuresError: string | null;
}

/** Parse `ethtool -k` output (`name: on|off [fixed]`, sub-features indented). */
export function parseEthtoolFeatures(text: string): Record<string, EthtoolFeature> {
  const out: Record<string, EthtoolFeature> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z0-9_-]+):\s+(on|off)(\s+\[(fixed|requested on|requested off)\])?\s*$/.exec(line);
    if (m) out[m[1]] = { on: m[2] === 'on', fixed: m[4] === 'fixed' };
  }
  return out;
}

function run(cmd: string, args: string[]): Promise<{ stdout: string; error: string | null }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 10000 }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, error: null });
      const code = (err as NodeJS.ErrnoException).code;
      resolve({ stdout, error: code === 'ENOENT' ? `${cmd} is not installed (apt-get install ethtool)` : (stderr.trim() || err.message) });
    });
  });
}

/** Probe one interface (in the current namespace, or `netns` via `ip netns exec`). */
export async function probeNic(iface: string, netns?: string): Promise<NicInfo> {
  const cmd = netns ? 'ip' : 'ethtool';
  const args = netns ? ['netns', 'exec', netns, 'ethtool', '-k', iface] : ['-k', iface];
  const r = await run(cmd, args);
  const features = r.error ? null : parseEthtoolFeatures(r.stdout);
  let driver: string | null = null;
  let hasDevice = false;
  if (netns) {
    // sysfs shows the caller's namespace; ask ethtool -i instead.
    const i = await run('ip', ['netns', 'exec', netns, 'ethtool', '-i', iface]);
    driver = /^driver:[ \t]*(\S+)/m.exec(i.stdout)?.[1] ?? null;
    hasDevice = /^bus-info:[ \t]*\S+/m.test(i.stdout);
  } else {
    const dev = `/sys/class/net/${iface}/device`;
    hasDevice = existsSync(dev);
    try {
      driver = basename(readlinkSync(`${dev}/driver`));
      // virtio: the net device hangs off virtioN whose driver is virtio_net.
    } catch {
      const i = await run('ethtool', ['-i', iface]);
      driver = /^driver:[ \t]*(\S+)/m.exec(i.stdout)?.[1] ?? null;
    }
  }
  return { iface, driver, hasDevice, features, featuresError: r.error };
}

/** Drivers of virtual NICs backed by a hypervisor: their offloads are real but not on this machine's hardware. */
export const PARAVIRTUAL_DRIVERS: readonly string[] = ['virtio_net', 'vmxnet3', 'hv_netvsc', 'xen-netfront'];

/**
 * Whether `nic` placement may rely on feature(s) of this interface; the reason
 * names the flag and its state when not. `any` = one of them is enough.
 */
export function nicFeature(nic: NicInfo | null, wanted: readonly string[], what: string): { ok: boolean; reason: string } {
  if (!nic) return { ok: false, reason: `no interface given to probe for ${what}` };
  if (!nic.features) return { ok: false, reason: `cannot read offload features of ${nic.iface}: ${nic.featuresError}` };
  if (!nic.hasDevice) {
    return { ok: false, reason: `${nic.iface} is a software device (driver ${nic.driver ?? 'unknown'}): its offload flags are kernel software, not NIC hardware` };
  }
  const states = wanted.map((f) => {
    const s = nic.features![f];
    return { f, s, txt: s ? `${s.on ? 'on' : 'off'}${s.fixed ? ' [fixed]' : ''}` : 'not reported' };
  });
  const hit = states.find((x) => x.s?.on);
  if (hit) {
    const pv = PARAVIRTUAL_DRIVERS.includes(nic.driver ?? '') ? ' (paravirtual device: the hypervisor does this work, outside this guest\'s CPU accounting)' : '';
    return { ok: true, reason: `${nic.iface} (${nic.driver ?? '?'}) reports ${hit.f}: ${hit.txt}${pv}` };
  }
  const settable = states.find((x) => x.s && !x.s.fixed);
  const hint = settable ? ` (enable with: ethtool -K ${nic.iface} ${settable.f} on)` : '';
  return { ok: false, reason: `${nic.iface} (${nic.driver ?? '?'}) does not offer ${what}: ${states.map((x) => `${x.f} ${x.txt}`).join(', ')}${hint}` };
}
