/**
 * Offload placement `checksum: kernel`: the outer UDP checksum is left to the
 * kernel through the AF_PACKET underlay's virtio-net header (PACKET_VNET_HDR),
 * the contract a virtio NIC driver has with its host. For each alive encapsulated
 * frame the UDP checksum field gets the folded pseudo-header sum (not inverted)
 * and its vnet slot says NEEDS_CSUM from the UDP header, field at +6: the kernel
 * (or a NIC with tx-checksumming) sums from there to the end and stores the
 * result. Frames without a UDP outer (NVGRE) get a zero slot: sent as they are.
 *
 * Runs after an encap stage built with the checksum off (it wrote 0), before
 * the underlay port's transmit. Per frame: 4 or 16 address words summed in JS.
 * Every network sending through a port with a virtio-net header needs one (with
 * `complete` false when it sends no UDP checksum): the port's vnet slots are
 * shared, and a stale NEEDS_CSUM from another network's batch would make the
 * kernel write a checksum into this one's frames.
 */
import type { PacketBatch } from '../batch/packet-batch.js';
import { StageCounters, type Stage } from '../batch/stage.js';
import { foldFast, sumBytes } from '../packet/checksum.js';
import { VNET, VNET_FIELDS, type AfPacketPort } from '../ports/af-packet-port.js';

export class KernelChecksumStage implements Stage {
  readonly name: string = 'checksum';
  /** Frames seen alive and left alive (this stage never drops). */
  readonly counters = new StageCounters();
  /** Frames handed to the kernel with NEEDS_CSUM, and frames sent with a zero vnet slot. */
  partial = 0;
  plain = 0;

  constructor(private readonly port: AfPacketPort, private readonly complete = true) {
    if (!port.vnetHdr) throw new Error(`checksum: kernel needs the underlay port ${port.name} opened with a virtio-net header (PACKET_VNET_HDR)`);
  }

  process(batch: PacketBatch): void {
    const v = this.port.txVnetFor(batch);
    const d = batch.data;
    const n = batch.count;
    let alive = 0;
    for (let i = 0; i < n; i++) {
      if (batch.drop[i] === 0) alive++;
      const o = i * VNET_FIELDS;
      const off = batch.offset[i];
      const l3 = batch.l3[i];
      const l4 = batch.l4[i];
      const ip = off + l3;
      // Outer UDP only (proto 17 at the IPv4/IPv6 position encap recorded).
      const v6 = l3 >= 0 && d[ip] >> 4 === 6;
      const udp = this.complete && batch.drop[i] === 0 && l3 >= 0 && l4 > l3 && l4 + 8 <= batch.length[i] && d[ip + (v6 ? 6 : 9)] === 17;
      if (!udp) {
        v[o] = 0; v[o + 1] = 0; v[o + 2] = 0; v[o + 3] = 0; v[o + 4] = 0; v[o + 5] = 0;
        this.plain++;
        continue;
      }
      const u = off + l4;
      const ulen = (d[u + 4] << 8) | d[u + 5];
      const s = foldFast(17 + ulen + sumBytes(d, ip + (v6 ? 8 : 12), v6 ? 32 : 8));
      d[u + 6] = s >>> 8;
      d[u + 7] = s & 0xff;
      v[o] = VNET.F_NEEDS_CSUM;
      v[o + 1] = VNET.GSO_NONE;
      v[o + 2] = 0;
      v[o + 3] = 0;
      v[o + 4] = l4;
      v[o + 5] = 6;
      this.partial++;
    }
    this.counters.inFrames += alive;
    this.counters.outFrames += alive;
  }
}
