/**
 * A data path that `vtepd run` drives: the Backend interface.
 *
 * The lifecycle (lifecycle.ts) owns everything every data path shares: the
 * signals, the one-at-a-time operation queue, the control socket and its
 * commands, the metrics endpoint, reload and stop, and the final log line.
 * A backend owns only its data path:
 *
 *   userspace  (userspace-backend.ts)  vtepd's own stages on AF_PACKET/TAP/... ports
 *   kernel     (kernel-backend.ts)     a kernel vxlan device + bridge per network, programmed and watched
 *
 * Every method except status() and lastStats() is called through the
 * lifecycle's queue, so a backend never sees two of them at once (no reload
 * during an FDB change, no FDB change during teardown). Backends are chosen in
 * daemon.ts (BACKENDS); adding a data path means one class and one entry there.
 *
 * User mistakes in FDB requests (unknown VNI, port not a member) are thrown as
 * ControlError: the client prints them as they are.
 */
import type { CostMeter } from '../cost/meter.js';
import type { TraceResult } from '../pipeline/trace.js';
import type { Logger } from 'pino';
import type { StaticFdbEntry, VtepdConfig } from '../config/config-schema.js';
import type { FdbEntryJson } from '../control/fdb-entry.js';
import type { PortStats, StatsSnapshot } from '../control/stats.js';
import type { MacEventKind } from '../l2/mac-journal.js';

export interface FdbFlushFilter { vni?: number; port?: string; remote?: string }

/** A change in the MAC table the data path learned by itself (not one made through the FDB operations). */
export interface MacEvent {
  kind: MacEventKind;
  vni: number;
  /** Lower case, aa:bb:cc:dd:ee:ff. */
  mac: string;
  /** Where the MAC is now (learned, moved) or was (aged, removed): a config port name, or a remote VTEP address. */
  port: string | null;
  remote: string | null;
}

/**
 * Receives MAC events in batches, in the order they happened. `lost` > 0 means
 * events were dropped (a bounded buffer overflowed): re-read the table (fdbShow).
 */
export type MacListener = (events: readonly MacEvent[], lost: number) => void;

/** Work a backend wants done on a timer (ageing, watching the kernel). */
export interface Periodic {
  name: string;
  everyMs: number;
  /** Run through the operation queue (it changes state others read); false for quick, self-contained work. */
  serial: boolean;
  run(): void | Promise<void>;
}

export interface BackendContext {
  configFile: string;
  log: Logger;
}

export interface Backend {
  /** `status` and the logs say this (userspace, kernel, ...). */
  readonly mode: string;
  readonly periodic: readonly Periodic[];

  /**
   * Build the data path for `cfg` and start forwarding. A config that does not
   * fit this host (missing interface, a device owned by someone else) throws
   * HostConfigError (exit 2), before anything is changed; any other failure
   * undoes what was built and throws.
   */
  start(cfg: VtepdConfig): Promise<void>;
  /**
   * Reload: make the running data path match `cfg`, or throw and keep running
   * the old one. Returns what the `reloaded` log line should say.
   */
  apply(cfg: VtepdConfig): Promise<Record<string, unknown>>;
  /** Fields of the `started` log line. */
  startedLog(): Record<string, unknown>;
  /** Backend part of `vtepd status` (synchronous, no queue). */
  status(): Record<string, unknown>;

  /** Counters since start (across reloads). */
  stats(): StatsSnapshot | Promise<StatsSnapshot>;
  /** The latest counters without waiting (the metrics endpoint scrapes synchronously). */
  lastStats(): StatsSnapshot;
  /** The data path's cost meter (vtepd_cost_* metrics); absent or null when vtepd's stages do not run (kernel mode). */
  costMeter?(): CostMeter | null;
  ports(): PortStats[] | Promise<PortStats[]>;

  /** FDB entries, sorted; an iterable so a big table is formatted while it is sent. */
  fdbShow(vni?: number): Iterable<FdbEntryJson> | Promise<Iterable<FdbEntryJson>>;
  /** Add or replace a static entry (exactly one of port, remote; a unicast MAC, lower case). Kept across reloads while it fits. */
  fdbAdd(e: StaticFdbEntry): void | Promise<void>;
  fdbDel(vni: number, mac: string): void | Promise<void>;
  /** Remove learned entries matching the filter; returns how many. */
  fdbFlush(f: FdbFlushFilter): number | Promise<number>;
  /** Subscribe to learned / moved / aged / removed MACs. Returns the unsubscribe function. */
  onMacEvents(l: MacListener): () => void;
  /** `vtepd trace`: record the next `count` frames through every stage; absent where the data path is not vtepd's (kernel mode). */
  trace?(count: number, timeoutMs: number): Promise<TraceResult>;

  /** SIGTERM: stop taking frames and drain them. Returns fields for the final log line. */
  quiesce(): Promise<Record<string, unknown>>;
  /** Release everything (ports, devices). Never throws: problems are logged. */
  close(): Promise<void>;
}

/** Fan-out of MAC events to listeners; a failing listener is logged, never breaks the data path. */
export class MacEventHub {
  private readonly listeners = new Set<MacListener>();
  constructor(private readonly log: Logger) {}

  get active(): boolean { return this.listeners.size > 0; }

  subscribe(l: MacListener): () => void {
    this.listeners.add(l);
    return () => { this.listeners.delete(l); };
  }

  emit(events: readonly MacEvent[], lost = 0): void {
    if (events.length === 0 && lost === 0) return;
    for (const l of this.listeners) {
      try { l(events, lost); } catch (err) { this.log.error({ err: err }, 'MAC event listener failed'); }
    }
  }
}
