/**
 * The batch section of the TS↔C contract (src/native/contract.ts): drop codes
 * of the whole registry, packet flags and tunnel kinds, the per-packet fields
 * BatchView binds, the slot geometry and the counts layout of native stages.
 */
import { cName, type ContractDefine, type ContractSection } from '../native/contract.js';
import { DROP_CODES, DROP_REASONS } from './drop-reasons.js';
import { BATCH_FIELDS, DEFAULT_DATA_ROOM, DEFAULT_HEADROOM, NONE, PacketFlag, SLOT_ALIGN, TUNNEL_KIND_SHIFT, TunnelKind } from './packet-batch.js';
import { COUNTS_DROPS, COUNTS_EXTRA, COUNTS_IN, COUNTS_LEN, COUNTS_OUT } from './stage.js';

const defines: ContractDefine[] = [
  ...DROP_REASONS.map((r, i): ContractDefine => [`VTEPD_DROP_${cName(r)}`, i + 1]),
  ['VTEPD_DROP_CODES', DROP_CODES, 'per-code counter arrays: index = code, 0 = alive'],
  ...Object.entries(PacketFlag).map(([k, v]): ContractDefine => [`VTEPD_FLAG_${k}`, v]),
  ['VTEPD_TUNNEL_KIND_SHIFT', TUNNEL_KIND_SHIFT],
  ...Object.entries(TunnelKind).map(([k, v]): ContractDefine => [`VTEPD_KIND_${k}`, v]),
  ['VTEPD_NONE', NONE, 'no value in Int32 metadata (vni, outPort, offsets)'],
  ['VTEPD_SLOT_ALIGN', SLOT_ALIGN],
  ['VTEPD_DEFAULT_HEADROOM', DEFAULT_HEADROOM],
  ['VTEPD_DEFAULT_DATA_ROOM', DEFAULT_DATA_ROOM],
  ['VTEPD_COUNTS_IN', COUNTS_IN, 'native stage counts: [in, out, extra, drops by code]'],
  ['VTEPD_COUNTS_OUT', COUNTS_OUT],
  ['VTEPD_COUNTS_EXTRA', COUNTS_EXTRA],
  ['VTEPD_COUNTS_DROPS', COUNTS_DROPS],
  ['VTEPD_COUNTS_LEN', COUNTS_LEN],
];

export const BATCH_CONTRACT: ContractSection = {
  name: 'batch',
  doc: 'PacketBatch (src/batch/packet-batch.ts), drop registry (drop-reasons.ts), stage counts (stage.ts)',
  defines,
  tables: [{ name: 'VTEPD_BATCH_FIELDS', doc: 'per-packet arrays: X(field, C element type, entries per packet)', rows: BATCH_FIELDS }],
};
