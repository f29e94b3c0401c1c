/**
 * Replicator: turns the bridge stage's decisions into output batches, one slot
 * per copy. Local copies (unicast and flood to member ports, split horizon
 * applied) go to a "local" batch with `outPort` = port; remote copies (unicast
 * and head-end replication) go to a "remote" batch with `outPort` = the
 * remote's position in its domain and `vni` = the domain's VNI: exactly what
 * that network's EncapStage takes. A remote batch only ever holds copies of one
 * domain (`fillRemote` returns which), so it can go to that network's encap
 * stage as it is. Both are resumable cursors: call until done, draining the
 * output batch in between, so a flood to many remotes needs no big buffer.
 *
 * Each copy leaves with the VLAN tag of its egress port in the domain (0 =
 * untagged; remote copies are always untagged): an ingress tag is stripped or
 * replaced while copying, never in place (other copies share the frame).
 */
import { PacketBatch, PacketFlag } from '../batch/packet-batch.js';
import { BridgeStage, Action } from './bridge-stage.js';
import { MacFlag, OUT_MASK } from './mac-store.js';

export class Replicator {
  /** Copies that did not fit a slot after tagging (frame + 4 > dataRoom), or whose target left the domain. */
  lost = 0;
  private batch: PacketBatch | null = null;
  private li = 0; // local cursor: packet, member
  private lk = 0;
  private ri = 0; // remote cursor
  private rk = 0;

  constructor(private readonly stage: BridgeStage) {}

  start(batch: PacketBatch): void {
    this.batch = batch;
    this.li = this.lk = this.ri = this.rk = 0;
  }

  /** Append local copies to `out`; true when every local copy of the batch is out. */
  fillLocal(out: PacketBatch): boolean {
    const b = this.batch;
    if (b === null) return true;
    const st = this.stage;
    const doms = st.domains;
    for (; this.li < b.count; this.li++, this.lk = 0) {
      const i = this.li;
      const act = st.action[i];
      const dom = st.domainOf[i];
      if (act === Action.LOCAL) {
        if (this.lk > 0) continue;
        const port = b.outPort[i];
        const tag = doms.portTagOf(dom, port);
        if (tag < 0) this.lost++;
        else if (!this.copy(b, i, out, tag, port, -1)) return false;
        this.lk = 1;
      } else if (act === Action.FLOOD) {
        const ports = doms.ports[dom];
        const tags = doms.portTags[dom];
        const src = st.srcPlace[i];
        const inPort = (src & MacFlag.LOCAL) !== 0 ? src & OUT_MASK : -1;
        for (; this.lk < ports.length; this.lk++) {
          const port = ports[this.lk];
          if (port === inPort) continue;
          if (!this.copy(b, i, out, tags[this.lk], port, -1)) return false;
        }
      }
    }
    return true;
  }

  /**
   * Append remote copies of one domain to `out` (which should be empty).
   * Returns that domain, or -1 when no remote copies are left.
   */
  fillRemote(out: PacketBatch): number {
    const b = this.batch;
    if (b === null) return -1;
    if (out.count >= out.capacity) throw new RangeError('fillRemote needs an output batch with room (drain it first)');
    const st = this.stage;
    const doms = st.domains;
    let cur = -1;
    for (; this.ri < b.count; this.ri++, this.rk = 0) {
      const i = this.ri;
      const act = st.action[i];
      if (act !== Action.REMOTE && act !== Action.FLOOD) continue;
      const dom = st.domainOf[i];
      const remotes = doms.remotes[dom];
      // Flooding from a remote never goes to remotes (split horizon).
      if (act === Action.FLOOD && ((st.srcPlace[i] & MacFlag.REMOTE) !== 0 || remotes.length === 0)) continue;
      if (cur >= 0 && dom !== cur) return cur;
      const vni = doms.vni[dom];
      if (act === Action.REMOTE) {
        if (this.rk > 0) continue;
        const pos = doms.remotePosition(dom, b.outPort[i]);
        if (pos < 0) this.lost++;
        else if (!this.copy(b, i, out, 0, pos, vni)) return cur;
        cur = dom;
        this.rk = 1;
      } else {
        for (; this.rk < remotes.length; this.rk++) {
          if (!this.copy(b, i, out, 0, this.rk, vni)) return cur;
          cur = dom;
        }
      }
    }
    return cur;
  }

  /** Copy packet i of b into the next slot of out, leaving with VLAN `tag` (0 = none). False when out is full. */
  private copy(b: PacketBatch, i: number, out: PacketBatch, tag: number, outPort: number, vni: number): boolean {
    const j = out.count;
    if (j >= out.capacity) return false;
    const inTag = this.stage.tagLen[i];
    const len = b.length[i];
    const newLen = len - inTag + (tag > 0 ? 4 : 0);
    if (newLen > out.dataRoom) {
      this.lost++;
      return true;
    }
    const sd = b.data;
    const dd = out.data;
    const so = b.offset[i];
    const start = out.slotStart(j);
    copyBytes(sd, so, dd, start, 12);
    let p = start + 12;
    if (tag > 0) {
      const pcp = inTag > 0 ? sd[so + 14] & 0xe0 : 0; // keep the 802.1p priority
      dd[p] = 0x81;
      dd[p + 1] = 0x00;
      dd[p + 2] = pcp | (tag >> 8);
      dd[p + 3] = tag & 0xff;
      p += 4;
    }
    copyBytes(sd, so + 12 + inTag, dd, p, len - 12 - inTag);
    out.offset[j] = start;
    out.length[j] = newLen;
    out.wireLength[j] = b.wireLength[i] - len + newLen;
    out.tsSec[j] = b.tsSec[i];
    out.tsNsec[j] = b.tsNsec[i];
    out.inPort[j] = b.inPort[i];
    out.resetMeta(j);
    out.outPort[j] = outPort;
    out.vni[j] = vni;
    out.flags[j] = b.flags[i] & (PacketFlag.FLOOD | PacketFlag.TRUNCATED);
    out.count = j + 1;
    return true;
  }
}

/** Byte copy between slabs: a loop for header-sized runs, `set` (one view) for the rest. */
function copyBytes(src: Uint8Array, from: number, dst: Uint8Array, to: number, n: number): void {
  if (n <= 64) {
    for (let k = 0; k < n; k++) dst[to + k] = src[from + k];
    return;
  }
  dst.set(src.subarray(from, from + n), to);
}
