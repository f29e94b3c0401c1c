/**
 * GoBGP's gRPC API definitions, loaded at run time from the .proto files that
 * Debian's golang-github-osrg-gobgp-dev installs (never copied into this repo):
 * one protobufjs Root for packing/unpacking the google.protobuf.Any values the
 * API is made of (NLRI, path attributes, extended communities), and the
 * grpc-js service constructor built from the same files.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

export const PROTO_FILES = ['gobgp.proto', 'attribute.proto', 'capability.proto'] as const;
const TYPE_PREFIX = 'type.googleapis.com/';

/** A packed Any as grpc-js hands it over with keepCase (bytes as Buffer). */
export interface AnyMsg { type_url: string; value: Uint8Array }

export class GobgpProtoError extends Error {
  override name = 'GobgpProtoError';
}

export interface GobgpProto {
  dir: string;
  root: protobuf.Root;
  /** grpc-js client constructor of apipb.GobgpApi. */
  Client: grpc.ServiceClientConstructor;
  pack(type: string, obj: Record<string, unknown>): AnyMsg;
  /** Decode an Any into [type name without package, plain object]; throws on an unknown type or bad bytes. */
  unpack(a: AnyMsg): [string, Record<string, unknown>];
}

const cache = new Map<string, GobgpProto>();

/** Load (once per directory) the GoBGP API; a clear error when the files are missing. */
export function loadGobgpProto(dir: string): GobgpProto {
  const have = cache.get(dir);
  if (have) return have;
  const missing = PROTO_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    throw new GobgpProtoError(`GoBGP's API definitions are missing (${missing.join(', ')} not in ${dir}): ` +
      'install the Debian package golang-github-osrg-gobgp-dev, or set evpn.protoDir to the folder holding gobgp.proto and attribute.proto');
  }
  let root: protobuf.Root;
  let Client: grpc.ServiceClientConstructor;
  try {
    root = new protobuf.Root();
    // Imports inside the files ("gobgp.proto") are relative to dir; google/protobuf/* come with protobufjs.
    root.resolvePath = (origin, target) => (target.startsWith('google/protobuf/') ? target : join(dir, target.replace(/^.*\//, '')));
    root.loadSync(PROTO_FILES.map((f) => join(dir, f)), { keepCase: true });
    root.resolveAll();
    const def = protoLoader.loadSync(PROTO_FILES.map((f) => join(dir, f)), {
      keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [dir],
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { apipb: { GobgpApi: grpc.ServiceClientConstructor } };
    Client = pkg.apipb.GobgpApi;
    if (typeof Client !== 'function') throw new Error('no service apipb.GobgpApi');
  } catch (err) {
    throw new GobgpProtoError(`GoBGP's API definitions in ${dir} could not be loaded: ${(err as Error).message}`);
  }
  const types = new Map<string, protobuf.Type>();
  const typeOf = (name: string): protobuf.Type => {
    let t = types.get(name);
    if (t === undefined) {
      t = root.lookupType(`apipb.${name}`);
      types.set(name, t);
    }
    return t;
  };
  const proto: GobgpProto = {
    dir, root, Client,
    pack(type, obj) {
      const t = typeOf(type);
      const err = t.verify(obj);
      if (err) throw new Error(`apipb.${type}: ${err}`);
      return { type_url: TYPE_PREFIX + `apipb.${type}`, value: t.encode(t.fromObject(obj)).finish() };
    },
    unpack(a) {
      const url = a?.type_url ?? '';
      if (!url.startsWith(`${TYPE_PREFIX}apipb.`)) throw new Error(`unknown Any type "${url}"`);
      const name = url.slice(TYPE_PREFIX.length + 6);
      let t: protobuf.Type;
      try { t = typeOf(name); } catch { throw new Error(`unknown Any type "${url}"`); }
      const msg = t.decode(a.value);
      return [name, t.toObject(msg, { longs: Number, enums: String, defaults: true, arrays: true })];
    },
  };
  cache.set(dir, proto);
  return proto;
}
