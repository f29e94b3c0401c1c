/**
 * Keeps the host stack quiet about tunnel traffic the AF_PACKET underlay reads
 * off the wire: without a socket on the tunnel UDP port the kernel would answer
 * every VXLAN/GENEVE datagram addressed to it with ICMP port-unreachable. The
 * guard binds a UDP socket on the port whose socket filter drops everything
 * (native udpSink), so nothing is queued and JS never wakes for it. Preferred
 * over an nft/iptables rule: it needs no firewall tooling and goes away with
 * the process. (NVGRE needs no guard when a raw protocol-47 socket is open;
 * without one, `nft add rule inet filter output icmp type destination-unreachable drop`
 * is the fallback.)
 */
import { loadNative } from '../native/addon.js';
import { withNetns } from './netns.js';

export class TunnelPortGuard {
  private fd: number;

  constructor(readonly address: string, readonly port: number, opts: { interface?: string; netns?: string } = {}) {
    const native = loadNative();
    this.fd = withNetns(opts.netns, () => native.udpSink(address, port, opts.interface));
  }

  close(): void {
    if (this.fd < 0) return;
    loadNative().closeFd(this.fd);
    this.fd = -1;
  }
}
