/**
 * Adaptive busy polling of the AF_PACKET ports (VPP's "adaptive" rx mode, the
 * kernel's SO_BUSY_POLL idea, in the event loop): after a frame arrives, the data
 * plane keeps polling every AF_PACKET RX ring for `idleUs` instead of sleeping in
 * epoll, in slices of at most SLICE_US handed back to the event loop between
 * (setImmediate: timers, control requests and other ports run in between). When
 * nothing has arrived for `idleUs`, it goes back to sleeping until the kernel
 * wakes it. Why: every hop that sleeps costs a wake-up, which on a VM is an IPI
 * and tens to hundreds of microseconds; a VM-to-VM round trip crosses four rings.
 * The polling itself yields the core to any other runnable task on every round
 * (sched_yield), so it only takes cycles nobody else wants.
 */
import type { Port } from '../ports/port.js';
import { AfPacketPort } from '../ports/af-packet-port.js';
import { loadNative } from '../native/addon.js';

/** Longest stretch spent polling before the event loop gets a turn. */
const SLICE_US = 500;

interface RxPollSet { wait(budgetUs: number): number }
type RxPollSetCtor = new (ports: unknown[]) => RxPollSet;

export class BusyPoller {
  private readonly set: RxPollSet;
  private readonly ports: Port[];
  private scheduled = false;
  private stopped = false;
  private lastFrameAt = 0;
  /** Event-loop slices spent polling (for tests and stats). */
  slices = 0;
  private readonly run = (): void => this.slice();

  /** `handle(port)` drains one port (the data plane's guarded handler). */
  constructor(ports: Port[], private readonly handle: (p: Port) => void, private readonly idleUs: number) {
    this.ports = ports.filter((p): p is AfPacketPort => p instanceof AfPacketPort);
    const Ctor = (loadNative() as unknown as { RxPollSet: RxPollSetCtor }).RxPollSet;
    this.set = new Ctor(this.ports.map((p) => (p as AfPacketPort).nativeHandle));
  }

  get active(): boolean { return this.ports.length > 0 && this.idleUs > 0; }

  /** A port had frames (its readiness callback ran): keep polling for a while. */
  kick(): void {
    if (this.stopped || !this.active) return;
    this.lastFrameAt = performance.now();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  stop(): void { this.stopped = true; }

  private slice(): void {
    this.scheduled = false;
    if (this.stopped) return;
    this.slices++;
    const idleMs = this.idleUs / 1000;
    const start = performance.now();
    for (;;) {
      const now = performance.now();
      const left = Math.min(SLICE_US - (now - start) * 1000, (this.lastFrameAt + idleMs - now) * 1000);
      if (left <= 0) break;
      const i = this.set.wait(left);
      if (i < 0) break;
      this.handle(this.ports[i]);
      this.lastFrameAt = performance.now();
    }
    if (performance.now() - this.lastFrameAt < idleMs) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }
}
