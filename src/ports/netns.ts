/**
 * Run a synchronous function with the main thread inside a named network
 * namespace (/run/netns/NAME, as made by `ip netns add`). Sockets and TAP devices
 * opened meanwhile stay in that namespace after we switch back, so one process
 * can own ports in several namespaces (tests, a daemon serving a netns).
 * Needs CAP_SYS_ADMIN. Node's own sockets (dgram) bind asynchronously and are
 * NOT covered: run those with `ip netns exec`.
 */
import { loadNative } from '../native/addon.js';

export function netnsPath(name: string): string {
  return name.includes('/') ? name : `/run/netns/${name}`;
}

export function withNetns<T>(name: string | undefined, fn: () => T): T {
  if (name === undefined || name === '') return fn();
  const native = loadNative();
  const old = native.netnsEnter(netnsPath(name));
  try {
    return fn();
  } finally {
    native.netnsRestore(old);
  }
}
