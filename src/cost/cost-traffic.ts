/**
 * The offered traffic of `vtepd cost`: a set of frames (generated at one size,
 * or read from a pcap) sent from an AF_PACKET socket at a fixed rate with
 * sendmmsg bursts (the addon's txBurst, qdisc bypassed).
 *
 * The sender runs inside the `vtepd cost` process (socket opened in the
 * generator namespace through setns), paced by the event loop: every ~1 ms it
 * sends the frames that are due, so the progress bar keeps running and the
 * generator's CPU is exactly this process's CPU (subtracted by the caller).
 * Frames the socket refuses (full buffer) are not counted as offered.
 */
import { loadNative, type AfPacketNative } from '../native/addon.js';
import { PacketBatch } from '../batch/packet-batch.js';
import { nativeBatchView, type NativeBatchView } from '../batch/native-batch.js';
import { withNetns } from '../ports/netns.js';
import { openCapture } from '../capture/open.js';
import { FCS_BYTES } from './derive.js';

/** Local experimental EtherType (IEEE 802): the sink's kernel drops it silently, no replies. */
export const COST_ETHERTYPE = 0x88b5;
const SLOT = 2048;
const GEN_SLOTS = 256;
const MAX_PCAP_FRAMES = 4096;

export interface TrafficFrames {
  /** The frames, one per slot (data/offset/length below are its arrays). */
  batch: PacketBatch;
  data: Uint8Array;
  offset: Uint32Array;
  length: Uint32Array;
  /** Ethernet frame size including FCS (for pcap: mean captured length + FCS, rounded). */
  frameSize: number;
  source: string;
}

export function macBytes(mac: string): number[] {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  if (b.length !== 6 || b.some((x) => !(x >= 0 && x <= 255))) throw new RangeError(`bad MAC "${mac}"`);
  return b;
}

/** GEN_SLOTS copies of one frame of `frameSize` bytes (FCS included) from src to dst. */
/** A batch of `n` slots holding frames, each at its slot start (no headroom needed to send). */
function frameBatch(n: number): PacketBatch {
  const batch = new PacketBatch({ capacity: n, headroom: 0, dataRoom: SLOT });
  batch.count = n;
  return batch;
}

export function generatedFrames(frameSize: number, dst: string, src: string): TrafficFrames {
  const len = frameSize - FCS_BYTES;
  const batch = frameBatch(GEN_SLOTS);
  const { data, offset, length } = batch;
  const head = [...macBytes(dst), ...macBytes(src), COST_ETHERTYPE >> 8, COST_ETHERTYPE & 0xff];
  for (let i = 0; i < GEN_SLOTS; i++) {
    const o = i * batch.slotSize;
    offset[i] = o;
    length[i] = len;
    data.set(head, o);
    for (let k = head.length; k < len; k++) data[o + k] = (k + i) & 0xff;
  }
  return { batch, data, offset, length, frameSize, source: `generated ${frameSize} B frames (EtherType 0x${COST_ETHERTYPE.toString(16)})` };
}

/**
 * Up to MAX_PCAP_FRAMES Ethernet frames of a capture, their addresses rewritten
 * to dst/src so they cross the overlay to the sink; frames longer than
 * `maxLen` (the generator port's MTU + 14) are skipped and counted in `source`.
 */
export function pcapFrames(path: string, dst: string, src: string, maxLen: number): TrafficFrames {
  const r = openCapture(path);
  const kept: Uint8Array[] = [];
  let skipped = 0;
  try {
    for (let rec = r.next(); rec !== null && kept.length < MAX_PCAP_FRAMES; rec = r.next()) {
      if (rec.caplen < 14 || rec.caplen > maxLen || rec.caplen < rec.len) { skipped++; continue; }
      kept.push(rec.data.slice(rec.offset, rec.offset + rec.caplen));
    }
  } finally {
    r.close();
  }
  if (kept.length === 0) throw new RangeError(`${path}: no Ethernet frame of 14..${maxLen} bytes to replay (${skipped} skipped)`);
  const batch = frameBatch(kept.length);
  const { data, offset, length } = batch;
  const addr = [...macBytes(dst), ...macBytes(src)];
  let total = 0;
  kept.forEach((f, i) => {
    const o = i * batch.slotSize;
    offset[i] = o;
    length[i] = Math.max(60, f.length);
    data.set(f, o);
    data.set(addr, o);
    total += length[i];
  });
  const frameSize = Math.round(total / kept.length) + FCS_BYTES;
  return { batch, data, offset, length, frameSize, source: `pcap ${path}: ${kept.length} frames replayed in a loop (mean ${frameSize} B with FCS; addresses rewritten; ${skipped} skipped as too long/truncated)` };
}

export interface SendResult { sent: number; refused: number; seconds: number }

/** An AF_PACKET sender on `iface` inside namespace `netns`. */
export class PacedSender {
  private readonly sock: AfPacketNative;

  constructor(netns: string, iface: string) {
    const native = loadNative();
    this.sock = withNetns(netns, () => new native.AfPacket({ interface: iface, qdiscBypass: true, sndbuf: 4 << 20, txWaitMs: 0, blockSize: 4096, blockCount: 1, frameSize: 2048, ignoreOutgoing: true, promiscuous: false }));
  }

  /** Send every frame of `f` once (learning / warm-up). */
  burstOnce(f: TrafficFrames): number {
    return this.sock.txBurst(nativeBatchView(f.batch), 0, f.batch.count);
  }

  /**
   * Send `f` in a loop for `seconds` at `rate` frames/s (`Infinity` = as fast as
   * the socket takes them). `onTick` is called about every 100 ms with the
   * elapsed share. `stop()` returning true ends the run early.
   */
  async run(f: TrafficFrames, rate: number, seconds: number, onTick?: (share: number) => void, stop?: () => boolean): Promise<SendResult> {
    const n = f.batch.count;
    const view: NativeBatchView = nativeBatchView(f.batch);
    let next = 0;
    let sent = 0;
    let refused = 0;
    const t0 = performance.now();
    const endAt = t0 + seconds * 1000;
    let lastTick = t0;
    for (let now = t0; now < endAt && !(stop?.() ?? false); now = performance.now()) {
      // Due frames (rate) or a slice of ~2 ms of bursts (max); bursts never wrap the ring.
      let due = rate === Infinity ? Number.MAX_SAFE_INTEGER : Math.floor(((now - t0) / 1000) * rate) - sent - refused;
      const sliceEnd = now + 2;
      while (due > 0 && performance.now() < sliceEnd) {
        const count = Math.min(due, n - next, 256);
        const ok = this.sock.txBurst(view, next, count);
        sent += ok;
        next = (next + count) % n;
        if (ok < count) {
          // Socket buffer full: the rest of this burst is not offered; back off until the next tick.
          if (rate !== Infinity) refused += count - ok;
          break;
        }
        due -= count;
      }
      if (onTick && now - lastTick >= 100) { lastTick = now; onTick((now - t0) / (seconds * 1000)); }
      await new Promise<void>((r) => (rate === Infinity ? setImmediate(r) : setTimeout(r, 1)));
    }
    return { sent, refused, seconds: (performance.now() - t0) / 1000 };
  }

  close(): void {
    this.sock.close();
  }
}
