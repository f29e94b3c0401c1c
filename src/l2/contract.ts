/**
 * The l2 section of the TS↔C contract (src/native/contract.ts): what
 * native-bindings/src/fdb.cc and replicate.cc share with the bridge stage,
 * the MAC table and the Replicator. Also the word layouts of the two small
 * state arrays the native bridge and replicator exchange with TypeScript.
 */
import { cName, type ContractDefine, type ContractSection } from '../native/contract.js';
import { Action } from './bridge-stage.js';
import { BRIDGE_COUNTERS } from './counters.js';
import { TOUCH_GROUP } from './mac-learn.js';
import { DIST_SHIFT, MacFlag, OUT_MASK, PLACE_MASK } from './mac-store.js';

/** Words of NativeBridgeStage's `io` array (time in/out, switches, limits). */
export const FDB_IO = ['now', 'started', 'fixed', 'auto', 'touched', 'can-domain', 'can-remote', 'max-ports'] as const;
export const FdbIo = Object.fromEntries(FDB_IO.map((n, i) => [n, i])) as { [K in (typeof FDB_IO)[number]]: number };

/** Words of NativeReplicator's `state` array: the cursors, the output count after a call, copies lost in it. */
export const REPLICATE_STATE = ['li', 'lk', 'ri', 'rk', 'out-count', 'lost'] as const;
export const ReplicateSt = Object.fromEntries(REPLICATE_STATE.map((n, i) => [n, i])) as { [K in (typeof REPLICATE_STATE)[number]]: number };

const list = (prefix: string, names: readonly string[]): ContractDefine[] => [
  ...names.map((n, i): ContractDefine => [`${prefix}_${cName(n)}`, i]),
  [`${prefix}_LEN`, names.length],
];

export const L2_CONTRACT: ContractSection = {
  name: 'l2',
  doc: 'bridge counters and actions (src/l2/counters.ts, bridge-stage.ts), MAC table meta bits (mac-store.ts)',
  defines: [
    ...list('VTEPD_BRIDGE_CTR', BRIDGE_COUNTERS),
    ...Object.entries(Action).map(([k, v]): ContractDefine => [`VTEPD_ACTION_${k}`, v]),
    ...Object.entries(MacFlag).map(([k, v]): ContractDefine => [`VTEPD_MAC_${k}`, v]),
    ['VTEPD_MAC_OUT_MASK', OUT_MASK],
    ['VTEPD_MAC_PLACE_MASK', PLACE_MASK],
    ['VTEPD_MAC_DIST_SHIFT', DIST_SHIFT, 'meta >> DIST_SHIFT = probe distance'],
    ['VTEPD_TOUCH_GROUP', TOUCH_GROUP, 'table slots loaded together so their misses overlap'],
    ...list('VTEPD_FDB_IO', FDB_IO),
    ...list('VTEPD_REPL_ST', REPLICATE_STATE),
  ],
};
