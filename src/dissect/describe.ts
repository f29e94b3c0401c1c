/** Human wording of a walk's stop (slow path). */
import { decodeErrorName, TRUNCATED } from '../packet/decode-error.js';
import { LAYER_NAMES, S_ERROR, S_LAYER_LIMIT, S_TUNNEL_LIMIT } from './layers.js';
import { MAX_LAYERS, type WalkState } from './walk.js';

/**
 * Error text for a frame the walker could not finish, or null. Offsets are
 * relative to the frame start, e.g. "truncated ipv4 header at offset 34".
 */
export function walkErrorMessage(st: WalkState): string | null {
  const at = st.stopOffset - st.base;
  if (st.stop === S_ERROR) {
    const name = LAYER_NAMES[st.errorKind] ?? 'unknown';
    if (st.error === TRUNCATED) return `truncated ${name} header at offset ${at}`;
    return `bad ${name} header at offset ${at}: ${decodeErrorName(st.error)}`;
  }
  if (st.stop === S_LAYER_LIMIT) return `more than ${MAX_LAYERS} layers, stopped at offset ${at}`;
  if (st.stop === S_TUNNEL_LIMIT) return `tunnels nested deeper than ${st.maxTunnels}, stopped at offset ${at}`;
  return null;
}
