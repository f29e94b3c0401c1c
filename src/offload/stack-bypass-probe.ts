/**
 * Whether the AF_PACKET underlay's host-stack bypass (src/ports/host-stack-bypass.ts,
 * `underlay.stackBypass`) can attach here: vtepd_bypass.bpf.o is built and a
 * tcx ingress link attaches. Tried for real on a veth in a throwaway network
 * namespace, so nothing on the host's own interfaces changes.
 */
import { HostStackBypass } from '../ports/host-stack-bypass.js';
import { bypassObjectPath } from '../native/stack-bypass-native.js';
import { createNetns, deleteNetns, iproute } from './iproute.js';
import type { Avail } from './host-probe.js';
import { builtBpfObject, lacksPrivilege } from './bpf-object-probe.js';

export async function probeStackBypass(): Promise<Avail> {
  const object = builtBpfObject(bypassObjectPath);
  if (typeof object !== 'string') return object;
  let ns: string | undefined;
  try {
    ns = await createNetns('vtepd-probe-bypass');
    await iproute('ip', ['-n', ns, 'link', 'add', 'vbp0', 'type', 'veth', 'peer', 'name', 'vbp1']);
    HostStackBypass.open('vbp0', { udpPorts: [4789], gre: true, address: '192.0.2.1' }, { netns: ns }).close();
    return { ok: true, reason: 'tcx ingress attaches: the AF_PACKET underlay\'s tunnel frames skip the host stack' };
  } catch (e) {
    const m = (e as Error).message;
    return { ok: false, reason: lacksPrivilege(m) ? `needs root or CAP_BPF + CAP_NET_ADMIN (${m})` : m };
  } finally {
    if (ns !== undefined) await deleteNetns(ns).catch(() => undefined);
  }
}
