/**
 * Bridge stage: per frame of a batch, find its bridge domain, learn its source
 * (local port, or the remote VTEP decap recorded), look up its destination and
 * decide: unicast to a local port, unicast to a remote VTEP, flood, or drop.
 * Copies are made afterwards by the Replicator (replicate.ts), so this loop
 * only writes decisions: `action[i]`, `domainOf[i]`, `batch.outPort[i]`
 * (local port or global remote index), FLOOD in `batch.flags`, drop codes.
 *
 * Split horizon: a frame never goes back where it came from (same port or same
 * remote: dropped as 'same-port'), and a frame from a remote VTEP never goes to
 * a remote VTEP ('remote-to-remote' for unicast; flooding skips remotes).
 *
 * Time: `process(batch, now)` with `now` in ticks, or without it the stage
 * uses `clock()` when configured, else each frame's capture timestamp; time
 * never runs backwards inside the stage (out-of-order captures).
 */
import { PacketBatch, PacketFlag, NONE } from '../batch/packet-batch.js';
import { MacTable, MacFlag, OUT_MASK, PLACE_MASK, localPlace, remotePlace, ticksOf } from './mac-table.js';
import { TOUCH_GROUP } from './mac-learn.js';
import { BridgeDomains } from './bridge-domain.js';
import { DROP_CODES } from '../batch/drop-reasons.js';
import { StageCounters, type Stage } from '../batch/stage.js';
import { BRIDGE_COUNTERS, BridgeCtr, Drop, type BridgeCounter, type BridgeDrop } from './counters.js';

export const Action = { DROP: 0, LOCAL: 1, REMOTE: 2, FLOOD: 3 } as const;

export interface BridgeStageOptions {
  table: MacTable;
  domains: BridgeDomains;
  /** Seconds since the epoch; when set, used instead of capture timestamps. */
  clock?: () => number;
  /** Table slots the ager examines per batch (0 = leave ageing to the caller). */
  ageSlotsPerBatch?: number;
}

const NC = BRIDGE_COUNTERS.length;
/** Per-domain drop arrays are indexed by registry code. */
const ND = DROP_CODES;

export class BridgeStage implements Stage {
  readonly name: string = 'bridge';
  readonly table: MacTable;
  readonly domains: BridgeDomains;
  /** Per packet of the last batch: Action, domain (-1 when dropped before one was known), ingress place, ingress VLAN tag bytes (0/4). */
  action = new Uint8Array(256);
  domainOf = new Int32Array(256);
  srcPlace = new Int32Array(256);
  tagLen = new Uint8Array(256);
  /** Per domain: domainCounters[d * BRIDGE_COUNTERS.length + BridgeCtr.x], domainDrops[d * DROP_CODES + code]. */
  readonly domainCounters: Float64Array;
  readonly domainDrops: Float64Array;
  /** Drops with no domain yet (runt, invalid source, no domain), per code. */
  readonly dropsNoDomain = new Float64Array(ND);
  private readonly totals = new StageCounters();
  /**
   * Per packet scratch: time (ticks), MAC words (src hi/lo, dst hi/lo), table home slots to touch.
   * stamp/keys/hashes are what decideFrame reads (a subclass filling them itself calls it per frame).
   */
  protected stamp = new Int32Array(256);
  protected keys = new Int32Array(1024);
  private homes = new Int32Array(512);
  /** Per packet: table hash of the source and destination keys (int32 bits of a u32). */
  protected hashes = new Int32Array(512);
  /** Sink for the touch loads. */
  touched = 0;
  /** Current time, ticks (monotonic). */
  now = 0;
  /** False until the first time is seen (then `now` jumps to it even backwards). */
  protected started = false;
  protected readonly clock: (() => number) | null;
  protected readonly ageSlots: number;

  constructor(o: BridgeStageOptions) {
    this.table = o.table;
    this.domains = o.domains;
    this.clock = o.clock ?? null;
    this.ageSlots = o.ageSlotsPerBatch ?? 4096;
    this.domainCounters = new Float64Array(this.domains.maxDomains * NC);
    this.domainDrops = new Float64Array(this.domains.maxDomains * ND);
  }

  counter(domain: number, name: BridgeCounter): number {
    return this.domainCounters[domain * NC + BridgeCtr[name]];
  }

  dropCount(domain: number, reason: BridgeDrop): number {
    return domain < 0 ? this.dropsNoDomain[Drop[reason]] : this.domainDrops[domain * ND + Drop[reason]];
  }

  /**
   * The stage totals in the common convention, summed from the per-domain
   * counters on demand (control path): in = frames classified into a domain +
   * frames dropped before one; out = unicast + flooded.
   */
  get counters(): StageCounters {
    const t = this.totals;
    t.reset();
    const dc = this.domainCounters;
    const dd = this.domainDrops;
    let inFrames = 0;
    for (let c = 1; c < ND; c++) {
      t.drops[c] += this.dropsNoDomain[c];
      inFrames += this.dropsNoDomain[c];
    }
    for (let d = 0; d < this.domains.count; d++) {
      inFrames += dc[d * NC + BridgeCtr.in];
      t.outFrames += dc[d * NC + BridgeCtr.unicast] + dc[d * NC + BridgeCtr.flooded];
      for (let c = 1; c < ND; c++) t.drops[c] += dd[d * ND + c];
    }
    t.inFrames = inFrames;
    return t;
  }

  protected advance(t: number): number {
    if (!this.started || ((t - this.now) | 0) > 0) this.now = t;
    this.started = true;
    return this.now;
  }

  /**
   * Two passes over the batch (the Snabb idea of simple loops per phase):
   * classify (domain, source place, MAC words, hashes, home slots), then
   * learn, look up and decide, loading the table slots of each group of
   * TOUCH_GROUP frames together first so their cache misses overlap instead of
   * being paid one by one.
   */
  process(batch: PacketBatch, now?: number): void {
    const n = batch.count;
    if (this.action.length < n) this.grow(batch.capacity);
    const fixed = now !== undefined || this.clock !== null;
    if (now !== undefined) this.advance(now);
    else if (this.clock !== null) this.advance(ticksOf(this.clock()));
    const table = this.table;
    const d = batch.data;
    const drop = batch.drop;
    const action = this.action;
    const domainOf = this.domainOf;
    const srcPlace = this.srcPlace;
    const stamp = this.stamp;
    const keys = this.keys;
    const homes = this.homes;
    const hashes = this.hashes;
    for (let i = 0; i < n; i++) {
      action[i] = Action.DROP;
      domainOf[i] = -1;
      if (drop[i] !== 0) continue;
      stamp[i] = fixed ? this.now : this.advance(ticksOf(batch.tsSec[i], batch.tsNsec[i]));
      const dom = this.classify(batch, i);
      if (dom < 0) continue;
      const off = batch.offset[i];
      const k = i << 2;
      keys[k] = (d[off + 6] << 8) | d[off + 7];
      keys[k + 1] = (d[off + 8] << 24) | (d[off + 9] << 16) | (d[off + 10] << 8) | d[off + 11];
      keys[k + 2] = (d[off] << 8) | d[off + 1];
      keys[k + 3] = (d[off + 2] << 24) | (d[off + 3] << 16) | (d[off + 4] << 8) | d[off + 5];
      const hs = table.hashOf(dom, keys[k], keys[k + 1]);
      hashes[i << 1] = hs;
      homes[i << 1] = table.homeBase(hs);
      if ((d[off] & 1) === 0) {
        const hd = table.hashOf(dom, keys[k + 2], keys[k + 3]);
        hashes[(i << 1) + 1] = hd;
        homes[(i << 1) + 1] = table.homeBase(hd);
      } else homes[(i << 1) + 1] = homes[i << 1];
    }
    const flags = batch.flags;
    const outPort = batch.outPort;
    const ctr = this.domainCounters;
    const w = table.words;
    let touched = 0;
    for (let i = 0; i < n; i++) {
      if ((i & (TOUCH_GROUP - 1)) === 0) {
        // Load the slots of the next group together (their misses overlap), then decide on them.
        const e = (i + TOUCH_GROUP < n ? i + TOUCH_GROUP : n) << 1;
        for (let j = i << 1; j < e; j += 2) if (domainOf[j >> 1] >= 0) touched ^= w[homes[j] + 2] ^ w[homes[j + 1] + 2];
      }
      const dom = domainOf[i];
      if (dom < 0) continue;
      // From here on this is decideFrame, inline (see there why).
      const place = srcPlace[i];
      const t = stamp[i];
      const k = i << 2;
      ctr[dom * NC + BridgeCtr.in]++;
      table.learnHashed(dom, keys[k], keys[k + 1], hashes[i << 1] >>> 0, place, t);
      // Destination: group bit set = broadcast/multicast = flood.
      const dst = (keys[k + 2] & 0x100) === 0 ? table.lookupHashed(dom, keys[k + 2], keys[k + 3], hashes[(i << 1) + 1] >>> 0, t) : -1;
      if (dst >= 0) {
        if ((dst & PLACE_MASK) === place) {
          this.dropFrame(batch, i, dom, Drop['same-port']);
        } else if ((dst & MacFlag.REMOTE) !== 0 && (place & MacFlag.REMOTE) !== 0) {
          this.dropFrame(batch, i, dom, Drop['remote-to-remote']);
        } else {
          action[i] = (dst & MacFlag.REMOTE) !== 0 ? Action.REMOTE : Action.LOCAL;
          outPort[i] = dst & OUT_MASK;
          ctr[dom * NC + BridgeCtr.unicast]++;
        }
        continue;
      }
      const copies = this.floodCopies(dom, place);
      if (copies === 0) {
        this.dropFrame(batch, i, dom, Drop['no-flood-target']);
        continue;
      }
      action[i] = Action.FLOOD;
      outPort[i] = NONE;
      flags[i] |= PacketFlag.FLOOD;
      ctr[dom * NC + BridgeCtr.flooded]++;
      ctr[dom * NC + BridgeCtr['flood-copies']] += copies;
    }
    this.touched = touched;
    if (this.ageSlots > 0) table.ageStep(this.now, this.ageSlots);
  }

  /**
   * The second pass for frame i of domain `dom` (classified: srcPlace, stamp,
   * keys and hashes set): learn its source, look up its destination, decide.
   * NativeBridgeStage calls it for the frames C hands back. process() keeps
   * the same code inline: as a method this is over V8's inlining size limit,
   * and a call per frame there would slow the TypeScript stage. Change both
   * together; the native differential test compares them frame by frame.
   */
  protected decideFrame(batch: PacketBatch, i: number, dom: number): void {
    const table = this.table;
    const keys = this.keys;
    const hashes = this.hashes;
    const ctr = this.domainCounters;
    const place = this.srcPlace[i];
    const t = this.stamp[i];
    const k = i << 2;
    ctr[dom * NC + BridgeCtr.in]++;
    table.learnHashed(dom, keys[k], keys[k + 1], hashes[i << 1] >>> 0, place, t);
    // Destination: group bit set = broadcast/multicast = flood.
    const dst = (keys[k + 2] & 0x100) === 0 ? table.lookupHashed(dom, keys[k + 2], keys[k + 3], hashes[(i << 1) + 1] >>> 0, t) : -1;
    if (dst >= 0) {
      if ((dst & PLACE_MASK) === place) {
        this.dropFrame(batch, i, dom, Drop['same-port']);
      } else if ((dst & MacFlag.REMOTE) !== 0 && (place & MacFlag.REMOTE) !== 0) {
        this.dropFrame(batch, i, dom, Drop['remote-to-remote']);
      } else {
        this.action[i] = (dst & MacFlag.REMOTE) !== 0 ? Action.REMOTE : Action.LOCAL;
        batch.outPort[i] = dst & OUT_MASK;
        ctr[dom * NC + BridgeCtr.unicast]++;
      }
      return;
    }
    const copies = this.floodCopies(dom, place);
    if (copies === 0) {
      this.dropFrame(batch, i, dom, Drop['no-flood-target']);
      return;
    }
    this.action[i] = Action.FLOOD;
    batch.outPort[i] = NONE;
    batch.flags[i] |= PacketFlag.FLOOD;
    ctr[dom * NC + BridgeCtr.flooded]++;
    ctr[dom * NC + BridgeCtr['flood-copies']] += copies;
  }

  /**
   * Find frame i's domain and source place (domainOf/srcPlace/tagLen); on
   * failure drop it and return -1. Creates domains/remotes in autoCreate mode.
   */
  protected classify(batch: PacketBatch, i: number): number {
    const doms = this.domains;
    const auto = doms.autoCreate;
    const d = batch.data;
    const off = batch.offset[i];
    const len = batch.length[i];
    if (len < 14) return this.dropFrame(batch, i, -1, Drop.runt);
    const srcHi = (d[off + 6] << 8) | d[off + 7];
    if ((d[off + 6] & 1) !== 0 || (srcHi === 0 && (d[off + 8] | d[off + 9] | d[off + 10] | d[off + 11]) === 0)) {
      return this.dropFrame(batch, i, -1, Drop['invalid-src']);
    }
    let dom: number;
    if ((batch.flags[i] & PacketFlag.DECAPPED) !== 0) {
      // Inner VLAN tags are tenant payload: the VNI alone picks the domain.
      this.tagLen[i] = 0;
      dom = doms.domainOfVni(batch.vni[i]);
      // autoCreate stops at the configured maxima (then: counted drops, never a throw per packet).
      if (dom < 0 && auto && doms.count < doms.maxDomains) dom = doms.addVniDomain(batch.vni[i]);
      if (dom < 0) return this.dropFrame(batch, i, -1, Drop['no-domain']);
      const ra = batch.remoteAddr;
      const r4 = i << 2;
      const v6 = (batch.flags[i] & PacketFlag.REMOTE_V6) !== 0;
      let r = doms.remoteIndex(ra[r4], ra[r4 + 1], ra[r4 + 2], ra[r4 + 3], v6);
      if ((r < 0 || doms.remotePosition(dom, r) < 0) && auto && doms.remoteCount < doms.maxRemotes) r = doms.addRemote(dom, ra[r4], ra[r4 + 1], ra[r4 + 2], ra[r4 + 3], v6);
      if (r < 0 || doms.remotePosition(dom, r) < 0) return this.dropFrame(batch, i, dom, Drop['unknown-remote']);
      this.srcPlace[i] = remotePlace(r);
    } else {
      const et = (d[off + 12] << 8) | d[off + 13];
      let vlan = 0;
      if (et === 0x8100) {
        if (len < 18) return this.dropFrame(batch, i, -1, Drop.runt);
        vlan = ((d[off + 14] & 0x0f) << 8) | d[off + 15];
      }
      // A priority tag (VID 0) is still a tag to strip; the frame is untagged traffic.
      this.tagLen[i] = et === 0x8100 ? 4 : 0;
      const port = batch.inPort[i];
      dom = doms.domainOfPort(port, vlan);
      if (dom < 0 && auto && doms.count < doms.maxDomains && port < doms.maxPorts) {
        dom = doms.addVlanDomain(vlan);
        doms.addPort(dom, port, vlan);
      }
      if (dom < 0) return this.dropFrame(batch, i, -1, Drop['no-domain']);
      this.srcPlace[i] = localPlace(port);
    }
    this.domainOf[i] = dom;
    return dom;
  }

  /** Copies a flood of a frame from `place` in `dom` makes (split horizon applied). */
  floodCopies(dom: number, place: number): number {
    const ports = this.domains.ports[dom];
    let n = ports.length;
    if ((place & MacFlag.LOCAL) !== 0) {
      const inPort = place & OUT_MASK;
      for (let k = 0; k < ports.length; k++) if (ports[k] === inPort) n--;
      n += this.domains.remotes[dom].length;
    }
    return n;
  }

  /** Drop frame i with a reason; returns -1 (so classify can `return this.dropFrame(...)`). */
  protected dropFrame(batch: PacketBatch, i: number, dom: number, code: number): number {
    batch.drop[i] = code;
    this.domainOf[i] = -1;
    if (dom < 0) {
      this.dropsNoDomain[code]++;
      return -1;
    }
    this.domainDrops[dom * ND + code]++;
    this.domainCounters[dom * NC + BridgeCtr.dropped]++;
    return -1;
  }

  /** Room for n frames in every per-packet array (replaces them: a subclass that handed them out rebinds). */
  protected grow(n: number): void {
    this.stamp = new Int32Array(n);
    this.keys = new Int32Array(n * 4);
    this.homes = new Int32Array(n * 2);
    this.hashes = new Int32Array(n * 2);
    this.action = new Uint8Array(n);
    this.domainOf = new Int32Array(n);
    this.srcPlace = new Int32Array(n);
    this.tagLen = new Uint8Array(n);
  }
}
