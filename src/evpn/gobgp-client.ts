/**
 * The few GoBGP gRPC calls vtepd makes, promisified, each with a deadline:
 * GetBgp (ASN and router-id for auto RD/RT), AddPath / DeletePath (local
 * routes), ListPeer (peer state for `vtepd evpn show`), and one WatchEvent
 * stream (best paths of the global RIB, with the current table first, and
 * peer state changes). Control path only.
 */
import * as grpc from '@grpc/grpc-js';
import type { GobgpProto } from './proto.js';
import type { ApiPath } from './codec.js';

const CALL_MS = 5000;

export interface GlobalInfo { asn: number; routerId: string }
export interface PeerInfo { address: string; asn: number; state: string; routerId: string; uptime?: number; received?: number; accepted?: number }

export interface WatchHandlers {
  /** Best paths: the first call after start is the whole table (the snapshot), then changes. */
  paths(paths: ApiPath[], first: boolean): void;
  peer(p: PeerInfo): void;
  /** The stream ended (speaker gone, or close()). */
  end(err: Error | null): void;
}

interface RawClient extends grpc.Client {
  [method: string]: unknown;
}

type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => grpc.ClientUnaryCall;

export class GobgpClient {
  private readonly client: RawClient;
  private watchCall: grpc.ClientReadableStream<unknown> | null = null;

  constructor(readonly address: string, private readonly proto: GobgpProto) {
    this.client = new proto.Client(address, grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
      'grpc.max_receive_message_length': 64 << 20,
    }) as unknown as RawClient;
  }

  private unary<T>(method: string, req: unknown, ms = CALL_MS): Promise<T> {
    const fn = this.client[method] as Unary;
    return new Promise((resolve, reject) => {
      fn.call(this.client, req, new grpc.Metadata(), { deadline: Date.now() + ms }, (err, res) => (err ? reject(err) : resolve(res as T)));
    });
  }

  /** Resolves once the channel is connected (or rejects after ms). */
  waitReady(ms: number): Promise<void> {
    return new Promise((resolve, reject) => this.client.waitForReady(Date.now() + ms, (err) => (err ? reject(err) : resolve())));
  }

  async getGlobal(): Promise<GlobalInfo> {
    const r = await this.unary<{ global?: { asn?: number; router_id?: string } }>('GetBgp', {});
    return { asn: r.global?.asn ?? 0, routerId: r.global?.router_id ?? '' };
  }

  /** Announce a path; returns GoBGP's uuid for it. */
  async addPath(path: Record<string, unknown>): Promise<Uint8Array> {
    const r = await this.unary<{ uuid?: Uint8Array }>('AddPath', { table_type: 'GLOBAL', path });
    return r.uuid ?? new Uint8Array(0);
  }

  /** Announce many paths over one AddPathStream call (bulk: benchmarks, big resyncs); no uuids come back. */
  addPathStream(paths: Record<string, unknown>[], perMessage = 256): Promise<void> {
    const fn = this.client.AddPathStream as (cb: (err: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<unknown>;
    return new Promise((resolve, reject) => {
      const call = fn.call(this.client, (err) => (err ? reject(err) : resolve()));
      for (let i = 0; i < paths.length; i += perMessage) call.write({ table_type: 'GLOBAL', paths: paths.slice(i, i + perMessage) });
      call.end();
    });
  }

  /** Withdraw a path vtepd added (by uuid, or by NLRI when the uuid is unknown). */
  async deletePath(o: { uuid?: Uint8Array; path?: Record<string, unknown> }): Promise<void> {
    const req: Record<string, unknown> = { table_type: 'GLOBAL', family: { afi: 'AFI_L2VPN', safi: 'SAFI_EVPN' } };
    if (o.uuid && o.uuid.length > 0) req.uuid = o.uuid;
    else req.path = o.path;
    await this.unary('DeletePath', req);
  }

  async listPeers(): Promise<PeerInfo[]> {
    const fn = this.client.ListPeer as (req: unknown, opts: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;
    const call = fn.call(this.client, { address: '', enableAdvertised: false }, { deadline: Date.now() + CALL_MS });
    const out: PeerInfo[] = [];
    return new Promise((resolve, reject) => {
      call.on('data', (m: { peer?: RawPeer }) => { if (m.peer) out.push(peerInfo(m.peer)); });
      call.on('error', reject);
      call.on('end', () => resolve(out));
    });
  }

  /** Start the watch stream (one at a time). */
  watch(h: WatchHandlers): void {
    const fn = this.client.WatchEvent as (req: unknown) => grpc.ClientReadableStream<unknown>;
    const call = fn.call(this.client, { peer: {}, table: { filters: [{ type: 'BEST', init: true }] } });
    this.watchCall = call;
    let first = true;
    let ended = false;
    const end = (err: Error | null): void => {
      if (ended) return;
      ended = true;
      if (this.watchCall === call) this.watchCall = null;
      h.end(err);
    };
    call.on('data', (m: { table?: { paths?: ApiPath[] }; peer?: { type?: string; peer?: RawPeer } }) => {
      if (m.table) {
        h.paths(m.table.paths ?? [], first);
        first = false;
      } else if (m.peer?.peer && m.peer.type === 'STATE') {
        h.peer(peerInfo(m.peer.peer));
      }
    });
    call.on('error', (e: grpc.ServiceError) => end(e.code === grpc.status.CANCELLED ? null : e));
    call.on('end', () => end(null));
  }

  close(): void {
    this.watchCall?.cancel();
    this.watchCall = null;
    this.client.close();
  }
}

interface RawPeer {
  conf?: { neighbor_address?: string; peer_asn?: number };
  state?: { neighbor_address?: string; peer_asn?: number; session_state?: string; router_id?: string };
  timers?: { state?: { uptime?: { seconds?: number } } };
  afi_safis?: { state?: { received?: number; accepted?: number } }[];
}

function peerInfo(p: RawPeer): PeerInfo {
  const st = p.state ?? {};
  const afi = p.afi_safis ?? [];
  const out: PeerInfo = {
    address: st.neighbor_address || p.conf?.neighbor_address || '',
    asn: st.peer_asn || p.conf?.peer_asn || 0,
    state: String(st.session_state ?? 'UNKNOWN').toLowerCase(),
    routerId: st.router_id ?? '',
  };
  if (afi.length > 0) {
    out.received = afi.reduce((s, a) => s + (a.state?.received ?? 0), 0);
    out.accepted = afi.reduce((s, a) => s + (a.state?.accepted ?? 0), 0);
  }
  const up = p.timers?.state?.uptime?.seconds;
  if (up) out.uptime = up;
  return out;
}
