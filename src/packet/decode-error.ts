/**
 * Decode errors shared by every header codec: ONE list from which the negative
 * return codes and their names derive. A decoder returns the header length
 * (> 0) or one of these codes (< 0); it never throws on bad input.
 */
export const DECODE_ERRORS = [
  'truncated', // the header runs past `end` (the captured bytes)
  'bad-version', // version field not one this codec decodes
  'bad-header-length', // a header length field is too small (IPv4 IHL < 5, ...)
  'bad-length', // a length field lies (IPv4 total length < IHL, UDP length < 8, 802.3 length 1501..1535)
  'bad-flags', // flags that the protocol forbids (NVGRE with C/S, GRE with R, ...)
  'bad-option-length', // an option / extension runs past its header
  'too-many-headers', // extension-header chain or layer stack over its limit
] as const;

export type DecodeErrorName = (typeof DECODE_ERRORS)[number];

/** Code of each error: `DecodeError.truncated === -1`, etc. */
export const DecodeError = Object.freeze(
  Object.fromEntries(DECODE_ERRORS.map((r, i) => [r, -(i + 1)])) as { [K in DecodeErrorName]: number },
);

export const TRUNCATED = -1;
export const BAD_VERSION = -2;
export const BAD_HEADER_LENGTH = -3;
export const BAD_LENGTH = -4;
export const BAD_FLAGS = -5;
export const BAD_OPTION_LENGTH = -6;
export const TOO_MANY_HEADERS = -7;

/** Name of a (negative) code, e.g. `truncated`. */
export function decodeErrorName(code: number): string {
  return DECODE_ERRORS[-code - 1] ?? `error-${code}`;
}
