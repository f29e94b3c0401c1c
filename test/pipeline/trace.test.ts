/**
 * Packet trace (src/pipeline/trace.ts, `vtepd trace`): the next N frames
 * through an in-memory Dataplane, each stage's decision recorded; the copies
 * leave with their true wireLength; the CLI's text names every stage with the
 * dissect formatters.
 */
import t from 'tap';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { validateConfig } from '../../src/config/config-load.js';
import { PortCounters } from '../../src/ports/counters.js';
import type { Port } from '../../src/ports/port.js';
import { Dataplane } from '../../src/pipeline/dataplane.js';
import { UNDERLAY_INDEX_BASE, type LocalDevice } from '../../src/pipeline/open-ports.js';
import { EncapStage } from '../../src/tunnel/encap.js';
import { formatTrace } from '../../src/cli/commands/trace.js';
import { ControlServer } from '../../src/control/control-server.js';
import { controlApi } from '../../src/daemon/control-api.js';
import { UserspaceBackend } from '../../src/daemon/userspace-backend.js';
import type { Lifecycle } from '../../src/daemon/lifecycle.js';

class MemPort implements Port {
  readonly kind = 'pcap' as const;
  readonly payload = 'ethernet' as const;
  readonly counters = new PortCounters();
  inbox: Uint8Array[] = [];
  sent: { bytes: Uint8Array; wire: number }[] = [];
  constructor(readonly name: string, readonly index: number) {}
  receive(b: PacketBatch): number {
    let n = 0;
    while (this.inbox.length > 0 && !b.full) {
      const f = this.inbox.shift()!;
      b.append(f, 0, f.length, f.length + 100, 1700000000, 5, this.index); // wire > caplen: must survive the trace
      n++;
    }
    return n;
  }
  transmit(b: PacketBatch, start = 0, count = b.count - start): number {
    for (let i = start; i < start + count; i++) if (b.drop[i] === 0) this.sent.push({ bytes: Uint8Array.from(b.frame(i)), wire: b.wireLength[i] });
    return count;
  }
  onReadable(): void {}
  pollStats(): void {}
  async close(): Promise<void> {}
}

const mac = (s: string) => s.split(':').map((x) => parseInt(x, 16));
function ethFrame(dst: string, src: string, len = 64): Uint8Array {
  const f = new Uint8Array(len);
  f.set(mac(dst), 0);
  f.set(mac(src), 6);
  f[12] = 0x88; f[13] = 0xb5;
  return f;
}

function build(nativeTunnel = false) {
  const cfg = validateConfig({
    underlay: { interface: 'ul0', address: '192.0.2.1', transport: 'afpacket' },
    ports: [{ name: 'vm1', backend: 'pcap', writeFile: '/dev/null' }, { name: 'vm2', backend: 'pcap', writeFile: '/dev/null' }],
    networks: [
      { vni: 100, type: 'vxlan', ports: ['vm1', 'vm2'], remotes: ['192.0.2.2', '192.0.2.3'] },
      { vni: 200, type: 'geneve', ports: [], remotes: ['192.0.2.2'] },
    ],
    ...(nativeTunnel ? { offload: { 'encap-decap': 'native' } } : {}),
  });
  const vm1 = new MemPort('vm1', 0);
  const vm2 = new MemPort('vm2', 1);
  const ul = new MemPort('ul0', UNDERLAY_INDEX_BASE);
  const devices: LocalDevice[] = [vm1, vm2].map((p) => ({ key: p.name, port: p, iface: p.name, backend: 'pcap', members: [{ name: p.name, vlan: 0 }] }));
  const dp = new Dataplane({ cfg, devices, underlay: { key: 'ul', ports: [ul], txFor: () => ul, guards: [] }, remoteMacs: new Map(), localMac: '02:00:00:00:ff:01' });
  return { dp, vm1, vm2, ul };
}

function fromRemote(type: 'vxlan' | 'geneve', vni: number, inner: Uint8Array): Uint8Array {
  const b = new PacketBatch({ capacity: 1 });
  b.append(inner, 0, inner.length, inner.length, 0, 0);
  new EncapStage({ type, vni, local: '192.0.2.2', remotes: [{ ip: '192.0.2.1' }] }).process(b);
  return Uint8Array.from(b.frame(0));
}

t.test('every stage of the next N frames: flood, decap + learn, unicast to a remote, a drop by name', async (t) => {
  const { dp, vm1, ul } = build();
  const done = dp.trace(3, 5000);
  vm1.inbox.push(ethFrame('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:11'));
  dp.handle(vm1);
  ul.inbox.push(fromRemote('vxlan', 100, ethFrame('02:00:00:00:00:11', '02:00:00:00:00:22')));
  ul.inbox.push(fromRemote('geneve', 100, ethFrame('02:00:00:00:00:11', '02:00:00:00:00:22'))); // wrong type for VNI 100
  dp.handle(ul);
  vm1.inbox.push(ethFrame('02:00:00:00:00:22', '02:00:00:00:00:11')); // a fourth frame: not traced
  dp.handle(vm1);
  const r = await done;
  t.match(r, { requested: 3, traced: 3, timedOut: false });
  const [flood, decapped, mismatch] = r.frames;
  t.match(flood, { seq: 1, port: 'vm1', role: 'local', len: 64, wireLen: 164 });
  t.match(flood.steps[0], { stage: 'bridge', verdict: 'flood', vni: 100, targets: ['vm2', '192.0.2.2', '192.0.2.3'] });
  t.same(flood.steps.filter((s) => s.stage === 'tx').map((s) => s.port), ['vm2', 'ul0', 'ul0'], 'one local copy, one per remote');
  t.same(flood.steps.filter((s) => s.stage === 'encap').map((s) => [s.verdict, s.remote, s.vni]), [['encapsulated', '192.0.2.2', 100], ['encapsulated', '192.0.2.3', 100]]);
  t.match(decapped.steps[0], { stage: 'decap', verdict: 'decapsulated', kind: 'vxlan', vni: 100, remote: '192.0.2.2' });
  t.match(decapped.steps[1], { stage: 'bridge', verdict: 'local', port: 'vm1' });
  t.match(mismatch.steps, [{ stage: 'decap', verdict: 'dropped', kind: 'geneve', drop: 'tunnel-type-mismatch' }]);
  t.equal(mismatch.steps.length, 1, 'nothing after the drop');
  // The copies left with their true wireLength (the trace tags it while replicating).
  t.same(ul.sent.map((s) => s.wire - s.bytes.length), [100, 100, 100], 'encapsulated copies: wire = caplen + 100 as received');
  const text = formatTrace(r);
  t.match(text, /#1 \S+ rx local vm1 64 B \(of 164\)/);
  t.match(text, /bridge\s+flood vni 100, to vm2, 192\.0\.2\.2, 192\.0\.2\.3/);
  t.match(text, /encap\s+encapsulated vni 100, to 192\.0\.2\.2, entropy \d+\n\s+02:00:00:00:ff:01 > ff:ff:ff:ff:ff:ff ethertype 0x0800, IP 192\.0\.2\.1 > 192\.0\.2\.2 .*VXLAN vni 100/);
  t.match(text, /decap\s+dropped geneve, reason tunnel-type-mismatch/);
  t.match(text, /3 of 3 frames traced$/);
  t.end();
});

t.test('a trace that sees too few frames ends at its timeout with what it has; one trace at a time', async (t) => {
  const { dp, vm1 } = build();
  const done = dp.trace(5, 50);
  await t.rejects(dp.trace(1, 50), /already running/);
  vm1.inbox.push(ethFrame('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:11'));
  dp.handle(vm1);
  const r = await done;
  t.match(r, { requested: 5, traced: 1, timedOut: true });
  const again = dp.trace(1, 1000);
  vm1.inbox.push(ethFrame('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:11'));
  dp.handle(vm1);
  t.match(await again, { traced: 1, timedOut: false }, 'a new trace after the first ended');
  t.end();
});

t.test('the control command: argument checks, busy, the reply', async (t) => {
  const { dp, vm1 } = build();
  // The userspace backend's own trace(), on this data plane; the rest of the lifecycle is not needed by `trace`.
  const backend = { mode: 'userspace', trace: UserspaceBackend.prototype.trace.bind({ dp } as unknown as UserspaceBackend) };
  const life = { backend, started: Promise.resolve() } as unknown as Lifecycle;
  const srv = new ControlServer({ path: '/nonexistent', handlers: controlApi(life) });
  t.match(await srv.dispatch('{"id":1,"cmd":"trace","args":{"count":0}}'), { ok: false, error: { code: 'invalid-args', message: /count: must be an integer 1\.\.1000/ } });
  t.match(await srv.dispatch('{"id":1,"cmd":"trace","args":{"timeoutMs":999999}}'), { ok: false, error: { code: 'invalid-args' } });
  const pending = srv.dispatch('{"id":2,"cmd":"trace","args":{"count":1,"timeoutMs":2000}}');
  t.match(await srv.dispatch('{"id":3,"cmd":"trace","args":{"count":1}}'), { ok: false, error: { code: 'busy' } });
  vm1.inbox.push(ethFrame('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:11'));
  dp.handle(vm1);
  t.match(await pending, { id: 2, ok: true, result: { traced: 1, frames: [{ port: 'vm1' }] } });
  t.end();
});

t.test('the native stages trace the same', async (t) => {
  let b: ReturnType<typeof build>;
  try { b = build(true); } catch (e) { t.skip(`native stages unavailable: ${(e as Error).message}`); t.end(); return; }
  const { dp, vm1 } = b;
  const done = dp.trace(1, 2000);
  vm1.inbox.push(ethFrame('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:11'));
  dp.handle(vm1);
  const r = await done;
  t.same(r.frames[0].steps.filter((s) => s.stage === 'encap').map((s) => s.remote), ['192.0.2.2', '192.0.2.3']);
  t.end();
});
