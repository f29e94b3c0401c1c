/**
 * The one interface every I/O backend offers (Snabb's small app interface):
 * frames come in and go out a batch at a time; readiness is a callback that
 * fires when receive() has something, so an idle port costs no CPU.
 */
import type { PacketBatch } from '../batch/packet-batch.js';
import { PortDrop, type PortCounters } from './counters.js';

export const PORT_KINDS = ['afpacket', 'afxdp', 'tap', 'cap', 'pcap', 'udp', 'raw-ip'] as const;
export type PortKind = (typeof PORT_KINDS)[number];

/**
 * What a received frame starts with. Ethernet ports give whole frames; underlay
 * sockets give the tunnel header onward (VXLAN/GENEVE header, or the GRE header
 * for NVGRE) with the sender in batch.remoteAddr and DECAPPED not yet set.
 */
export type PortPayload = 'ethernet' | 'tunnel-header';

export interface Port {
  readonly name: string;
  readonly kind: PortKind;
  readonly payload: PortPayload;
  /** Written to batch.inPort for every frame this port appends. */
  readonly index: number;
  readonly counters: PortCounters;
  /**
   * Append ready frames to `batch` (from batch.count up to its capacity) without
   * blocking; returns how many were appended. Metadata of new frames is reset.
   */
  receive(batch: PacketBatch): number;
  /**
   * Send the alive frames (drop[i] === 0) among batch[start, start+count)
   * (default: the whole batch); returns how many were sent. Failures are counted.
   */
  transmit(batch: PacketBatch, start?: number, count?: number): number;
  /** Call `cb` when receive() will find frames (level-triggered: drain until it returns less than asked). null stops. */
  onReadable(cb: (() => void) | null): void;
  /** Pull kernel-side counters (ring drops) into `counters`; cheap, call it before reading them. */
  pollStats(): void;
  /** Backend facts and event counters that are not drops (AF_XDP: attach mode, zero-copy, kicks), for `vtepd ports`. */
  details?(): Record<string, string | number | boolean | null>;
  close(): Promise<void>;
}

/** Number of alive frames in [start, end) and their bytes (slow-path helper for counters). */
export function aliveStats(batch: PacketBatch, start: number, end: number): { frames: number; bytes: number } {
  let frames = 0;
  let bytes = 0;
  for (let i = start; i < end; i++) {
    if (batch.drop[i] !== 0) continue;
    frames++;
    bytes += batch.length[i];
  }
  return { frames, bytes };
}

/** Bytes of the first `n` alive frames in [start, end): what a partial send sent. */
export function aliveBytesPrefix(batch: PacketBatch, start: number, end: number, n: number): number {
  let bytes = 0;
  for (let i = start; i < end && n > 0; i++) {
    if (batch.drop[i] !== 0) continue;
    bytes += batch.length[i];
    n--;
  }
  return bytes;
}

/** Count the `n` frames receive() just appended at [start, start+n) into the rx counters; returns n. */
export function countReceived(counters: PortCounters, batch: PacketBatch, start: number, n: number): number {
  let bytes = 0;
  for (let i = start; i < start + n; i++) bytes += batch.length[i];
  counters.rxPackets += n;
  counters.rxBytes += bytes;
  return n;
}

/** Count what a transmit() loop sent; returns `frames` (the transmit result). */
export function countSent(counters: PortCounters, frames: number, bytes: number): number {
  counters.txPackets += frames;
  counters.txBytes += bytes;
  return frames;
}

/** An asynchronous send already counted as sent failed after all: move it to drop-tx-error. */
export function countLateSendError(counters: PortCounters, error: string): void {
  counters.txPackets--;
  counters.drops[PortDrop['tx-error']]++;
  counters.lastTxError = error;
}
