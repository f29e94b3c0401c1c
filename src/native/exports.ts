/**
 * The addon exports a native stage needs, or one clear Error: the addon is not
 * built, or it was built before that stage existed (then it names what is missing).
 * Callers pass their own `loadNative` import (tests replace it per module).
 */
import type { NativeAddon } from './addon.js';

export function loadNativeExports<T>(what: string, names: readonly string[], loadNative: () => NativeAddon): T {
  let addon: Record<string, unknown>;
  try {
    addon = loadNative() as unknown as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${what} needs the vtepd addon: ${(e as Error).message}`, { cause: e });
  }
  const missing = names.filter((k) => typeof addon[k] !== 'function');
  if (missing.length > 0) throw new Error(`${what}: the vtepd addon lacks ${missing.join(', ')} (rebuild it: npm run build:native)`);
  return addon as T;
}
