/**
 * Whether the xdp offload plan can run here: the eBPF object is built, the addon
 * has its loader, and the kernel's verifier accepts the programs (they are
 * loaded once and closed again; nothing is attached). Per-interface attach
 * verdicts (native or generic XDP) are the AF_XDP probe's (afxdp-probe.ts):
 * the same question for a different program.
 */
import { existsSync } from 'node:fs';
import { openXdpPlan, xdpPlanObjectPath } from '../native/xdp-plan-native.js';
import type { Avail } from './host-probe.js';
import { builtBpfObject, lacksPrivilege } from './bpf-object-probe.js';

export function probeXdpPlan(): Avail {
  const object = builtBpfObject(xdpPlanObjectPath);
  if (typeof object !== 'string') return object;
  if (!existsSync('/sys/kernel/btf/vmlinux')) return { ok: false, reason: 'the kernel has no BTF (/sys/kernel/btf/vmlinux): the CO-RE programs cannot be relocated' };
  try {
    openXdpPlan(object).close();
  } catch (e) {
    const m = (e as Error).message;
    return { ok: false, reason: lacksPrivilege(m) ? `loading eBPF programs needs root or CAP_BPF + CAP_NET_ADMIN (${m})` : `the programs did not load: ${m}` };
  }
  return { ok: true, reason: 'vtepd_xdp programs load (verifier accepted them)' };
}
