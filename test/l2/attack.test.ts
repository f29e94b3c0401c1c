/**
 * Attack: a stream of random source MACs (far beyond every limit) from one
 * port. Established entries stay, the table's memory does not grow, and
 * traffic to established MACs keeps being unicast, under both full policies.
 */
import t from 'tap';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { MacTable, localPlace, remotePlace, ticksOf, type FullPolicy } from '../../src/l2/mac-table.js';
import { BridgeDomains } from '../../src/l2/bridge-domain.js';
import { BridgeStage, Action } from '../../src/l2/bridge-stage.js';

function frame(b: PacketBatch, dstHi: number, dstLo: number, srcHi: number, srcLo: number, port: number, sec: number): void {
  const f = new Uint8Array(60);
  f[0] = dstHi >> 8; f[1] = dstHi; f[2] = dstLo >>> 24; f[3] = dstLo >>> 16; f[4] = dstLo >>> 8; f[5] = dstLo;
  f[6] = srcHi >> 8; f[7] = srcHi; f[8] = srcLo >>> 24; f[9] = srcLo >>> 16; f[10] = srcLo >>> 8; f[11] = srcLo;
  f[12] = 0x08; f[13] = 0x00;
  b.append(f, 0, 60, 60, sec, 0, port);
}

const cases: { policy: FullPolicy; perPort: number }[] = [
  { policy: 'stop', perPort: 0 }, // the table itself fills up
  { policy: 'stop', perPort: 1024 },
  { policy: 'evict-oldest', perPort: 1024 }, // eviction would hurt: the per-port limit keeps the attacker in its corner
];
for (const { policy, perPort } of cases) {
  t.test(`random source MAC flood, full policy ${policy}, per-port limit ${perPort || 'none'}`, async (t) => {
    const CAP = 4096;
    const table = new MacTable({ capacity: CAP, full: policy, perPortLimit: perPort, ageingSeconds: 300 });
    const domains = new BridgeDomains({ table });
    const dom = domains.addVniDomain(7);
    for (let p = 0; p < 4; p++) domains.addPort(dom, p);
    domains.addRemoteIp(dom, '192.0.2.1');
    const stage = new BridgeStage({ table, domains });
    const bytes = table.bytes;
    // 600 established hosts on ports 1-3, seen before the attack and every few seconds during it.
    const est: [number, number, number][] = Array.from({ length: 600 }, (_, k) => [0x0200, 0x10000 + k, 1 + (k % 3)]);
    const b = new PacketBatch({ capacity: 256 });
    let sec = 1000;
    const refresh = (): void => {
      for (let k = 0; k < est.length; k += 256) {
        b.clear();
        for (const [hi, lo, port] of est.slice(k, k + 256)) frame(b, 0xffff, 0xffffffff, hi, lo, port, sec);
        stage.process(b);
      }
    };
    refresh();
    t.equal(table.size, 600);
    let x = 0x9e3779b9;
    const rnd = (): number => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x >>> 0; };
    const heap0 = process.memoryUsage().heapUsed;
    let unicastOk = 0;
    let unicastTried = 0;
    const ATTACK = 400_000;
    for (let n = 0; n < ATTACK; n += 255) {
      b.clear();
      for (let k = 0; k < 255; k++) frame(b, 0x0200, 0x10000 + (rnd() % 600), rnd() & 0xfeff, rnd(), 0, sec);
      // One legitimate frame per batch, from port 0 to an established host.
      const target = est[rnd() % est.length];
      frame(b, target[0], target[1], 0x0200, 0x20000, 0, sec);
      stage.process(b);
      unicastTried++;
      if (stage.action[255] === Action.LOCAL && b.outPort[255] === target[2]) unicastOk++;
      if (n % (255 * 200) === 0) { sec += 5; refresh(); }
    }
    const heapGrowth = process.memoryUsage().heapUsed - heap0;
    t.equal(table.bytes, bytes, 'table memory unchanged (fixed typed arrays)');
    t.ok(table.size <= CAP, `size ${table.size} <= capacity ${CAP}`);
    t.ok(heapGrowth < 16 << 20, `JS heap growth ${(heapGrowth / 1048576).toFixed(1)} MiB stays small`);
    if (perPort > 0) {
      t.equal(table.portCount[0], perPort, 'the attacking port holds exactly its learn limit');
      t.ok(table.counter(dom, 'limit-port') > ATTACK - 2048, 'the rest were refused and counted');
    } else {
      t.equal(table.size, CAP, 'the table filled up');
      t.ok(table.counter(dom, 'table-full') > ATTACK - CAP, 'the rest were refused and counted');
    }
    const now = ticksOf(sec);
    let present = 0;
    for (const [hi, lo, port] of est) if (table.lookup(dom, hi, lo, now) === localPlace(port)) present++;
    t.equal(present, est.length, 'every established entry is still in place');
    t.equal(unicastOk, unicastTried, 'traffic to established hosts was unicast throughout');
    t.equal(table.lookup(dom, 0x0200, 0x20000, now), localPlace(0), 'a legitimate host on the attacked port was learned within its limit');
    void remotePlace;
  });
}

t.test('replay mode (autoCreate) stops creating domains and remotes at the maxima: counted drops, no throw', async (t) => {
  const table = new MacTable({ capacity: 1024, maxDomains: 4, maxRemotes: 3 });
  const domains = new BridgeDomains({ table, autoCreate: true });
  const stage = new BridgeStage({ table, domains });
  const b = new PacketBatch({ capacity: 64 });
  for (let k = 0; k < 20; k++) {
    frame(b, 0xffff, 0xffffffff, 0x0200, k + 1, 0, 1);
    b.flags[k] = 1; // DECAPPED, as decap leaves it
    b.vni[k] = 1 + (k % 10); // 10 VNIs
    b.remoteAddr[k << 2] = 0xc0000201 + (k % 5); // 5 remotes
  }
  t.doesNotThrow(() => stage.process(b));
  t.equal(domains.count, 4);
  t.equal(domains.remoteCount, 3);
  t.ok(stage.dropCount(-1, 'no-domain') > 0, 'frames of VNIs past the maximum dropped as no-domain');
  t.ok([0, 1, 2, 3].some((d) => stage.dropCount(d, 'unknown-remote') > 0), 'frames from remotes past the maximum dropped as unknown-remote');
});
