import t from 'tap';
import { createRegistry } from '../../src/daemon/metrics.js';
import { MetricsServer } from '../../src/daemon/metrics-server.js';
import type { Registry } from 'prom-client';
import type { StatsSnapshot } from '../../src/control/stats.js';
import { CostMeter } from '../../src/cost/meter.js';

function snap(rx: number): StatsSnapshot {
  return {
    uptimeSeconds: 12.5,
    ports: [
      { name: 'vm1', interface: 'veth-vm1', backend: 'afpacket', role: 'local', vni: 100, vlan: null, up: true, rxPackets: rx, rxBytes: rx * 64, txPackets: 7, txBytes: 700, drops: 2, kernelDrops: 3 },
      { name: 'ul0', interface: 'ul0', backend: 'afpacket', role: 'underlay', vni: null, vlan: null, up: false, rxPackets: 11, rxBytes: 1100, txPackets: 13, txBytes: 1300, drops: 0, kernelDrops: 0 },
    ],
    networks: [{ vni: 100, name: 'a', type: 'vxlan', remotes: ['192.0.2.2'], flooded: 4, unicast: 40, learned: 5, moved: 1, aged: 2, dropped: 6, fdbEntries: 3 }],
    stages: [{ stage: 'decap', batches: 10, packets: 320, seconds: 0.25 }],
    drops: { 'decap/unknown-vni': 9, 'bridge/same-port': 1 },
    offload: { checksum: 'kernel', segmentation: 'host', 'encap-decap': 'native', 'forwarding-learning': 'native' },
    fdbCapacity: 65536,
    hostStackBypass: { interface: 'ul0', state: 'on', dropped: 1234, passed: 56 },
  };
}

/** Parse Prometheus text format into `name{labels} value` → value. */
function parse(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    m.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return m;
}

t.test('the metrics endpoint serves the data path counters', async (t) => {
  let rx = 5;
  let calls = 0;
  const reg = createRegistry(() => { calls++; return snap(rx); });
  const srv = new MetricsServer(reg, 0); // no reuse: each scrape renders (the storm test below covers the cache)
  const addr = await srv.listen('127.0.0.1', 0);
  t.teardown(() => srv.close());
  t.equal(addr.address, '127.0.0.1');
  const url = `http://127.0.0.1:${addr.port}/metrics`;

  let res = await fetch(url);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type') ?? '', /text\/plain/);
  let m = parse(await res.text());
  t.equal(calls, 1, 'one snapshot per scrape, shared by all metrics');
  t.equal(m.get('vtepd_port_rx_packets_total{port="vm1",interface="veth-vm1",role="local"}'), 5);
  t.equal(m.get('vtepd_port_tx_bytes_total{port="ul0",interface="ul0",role="underlay"}'), 1300);
  t.equal(m.get('vtepd_port_drops_total{port="vm1",interface="veth-vm1",role="local"}'), 2);
  t.equal(m.get('vtepd_port_kernel_drops_total{port="vm1",interface="veth-vm1",role="local"}'), 3);
  t.equal(m.get('vtepd_network_flooded_total{network="a",vni="100",type="vxlan"}'), 4);
  t.equal(m.get('vtepd_network_unicast_total{network="a",vni="100",type="vxlan"}'), 40);
  t.equal(m.get('vtepd_network_learned_total{network="a",vni="100",type="vxlan"}'), 5);
  t.equal(m.get('vtepd_fdb_entries{network="a",vni="100",type="vxlan"}'), 3);
  t.equal(m.get('vtepd_stage_seconds_total{stage="decap"}'), 0.25);
  t.equal(m.get('vtepd_stage_packets_total{stage="decap"}'), 320);
  t.equal(m.get('vtepd_drops_total{stage="decap",reason="unknown-vni"}'), 9);
  t.equal(m.get('vtepd_uptime_seconds'), undefined, 'no uptime gauge: process_start_time_seconds says when');
  const start = m.get('process_start_time_seconds')!;
  t.ok(Math.abs(start - (Date.now() - process.uptime() * 1000) / 1000) < 5, `process_start_time_seconds ${start} is this process's start`);
  t.ok(m.has('process_cpu_seconds_total') && m.has('process_resident_memory_bytes'), 'process_* defaults');
  const bi = [...m.keys()].find((k) => k.startsWith('vtepd_build_info{'));
  t.match(bi, /version="\d+\.\d+\.\d+[^"]*",node="v\d+[^"]*",mode="userspace"/, 'build info carries the package version');
  t.equal(m.get(bi!), 1);
  t.equal(m.get('vtepd_fdb_capacity'), 65536);
  t.equal(m.get('vtepd_host_stack_bypass_frames_total{interface="ul0",verdict="dropped"}'), 1234, 'tunnel frames kept from the host stack');
  t.equal(m.get('vtepd_host_stack_bypass_frames_total{interface="ul0",verdict="passed"}'), 56);
  t.equal(m.get('vtepd_host_stack_bypass_up{interface="ul0"}'), 1);
  t.equal(m.get('vtepd_port_up{port="vm1",interface="veth-vm1",role="local",network="a"}'), 1);
  t.equal(m.get('vtepd_port_up{port="ul0",interface="ul0",role="underlay",network=""}'), 0, 'a down port reads 0');
  t.equal(m.get('vtepd_offload_placement{function="encap-decap",placement="native"}'), 1, 'the plan is a metric');
  t.equal(m.get('vtepd_offload_placement{function="checksum",placement="kernel"}'), 1);
  t.equal(m.get('vtepd_offload_placement{function="checksum",placement="host"}'), undefined, 'one placement per function');

  rx = 1234;
  m = parse(await (await fetch(url)).text());
  t.equal(m.get('vtepd_port_rx_packets_total{port="vm1",interface="veth-vm1",role="local"}'), 1234, 'values follow the data path (not accumulated twice)');
  t.equal(calls, 2);

  res = await fetch(`http://127.0.0.1:${addr.port}/other`);
  t.equal(res.status, 404);
  res = await fetch(url, { method: 'POST' });
  t.equal(res.status, 404);
});

t.test('a scrape storm costs one rendering, and past the bound scrapes are turned away busy', async (t) => {
  let calls = 0;
  const reg = createRegistry(() => { calls++; return snap(7); });
  const srv = new MetricsServer(reg, 1000, 16);
  const addr = await srv.listen('127.0.0.1', 0);
  t.teardown(() => srv.close());
  const url = `http://127.0.0.1:${addr.port}/metrics`;
  // 200 concurrent scrapes (issue #15: each used to build its own snapshot and text on the daemon's event loop).
  const res = await Promise.all(Array.from({ length: 200 }, () => fetch(url).then(async (r) => ({ status: r.status, body: await r.text() }), () => ({ status: 0, body: '' }))));
  const ok = res.filter((r) => r.status === 200);
  const busy = res.filter((r) => r.status === 503);
  t.ok(ok.length >= 16, `at least the bound was served (${ok.length} ok, ${busy.length} busy, ${res.length - ok.length - busy.length} dropped)`);
  t.equal(calls, 1, 'one snapshot for the whole storm');
  t.equal(srv.counters.renders, 1, 'one rendering for the whole storm');
  t.ok(ok.every((r) => r.body === ok[0].body), 'every scrape got the same figures');
  t.equal(srv.counters.busy, busy.length, 'busy answers are counted');
  for (const b of busy) t.match(b.body, /busy/);
  // After the cache time a scrape sees fresh figures.
  await new Promise((r) => setTimeout(r, 1100));
  t.equal((await fetch(url)).status, 200);
  t.equal(srv.counters.renders, 2, 'a new rendering once the cached one is older than the cache time');
});

t.test('while a rendering is slow, scrapes beyond the bound get 503 at once', async (t) => {
  let renders = 0;
  const slow = { contentType: 'text/plain', metrics: () => { renders++; return new Promise<string>((r) => setTimeout(() => r('vtepd_x 1\n'), 300)); } };
  const srv = new MetricsServer(slow as unknown as Registry, 1000, 16);
  const addr = await srv.listen('127.0.0.1', 0);
  t.teardown(() => srv.close());
  const url = `http://127.0.0.1:${addr.port}/metrics`;
  const res = await Promise.all(Array.from({ length: 100 }, () => fetch(url).then((r) => r.status, () => 0)));
  t.equal(res.filter((s) => s === 200).length + res.filter((s) => s === 503).length, 100, 'every scrape answered: ok or busy');
  t.ok(res.filter((s) => s === 200).length >= 16, 'the bound is served');
  t.ok(res.filter((s) => s === 503).length > 0, 'the rest turned away busy');
  t.equal(renders, 1, 'one rendering in flight, shared');
});

t.test('stage seconds say they are sampled; cost meter metrics come from the daemon meter', async (t) => {
  const meter = new CostMeter(['rx', 'decap'], { host: false }); // as the daemon's data plane builds it
  // 13 single-frame batches: fewer than one sampling period, yet the time must not read 0.
  for (let i = 0; i < 13; i++) {
    let s = meter.begin();
    const until = performance.now() + 0.2;
    while (performance.now() < until) { /* spin: a stage that takes time */ }
    s = meter.stage(0, s, 1);
    meter.stage(1, s, 1);
    meter.countIn(1, 64);
  }
  const stages = meter.snapshot().stages.map((x) => ({ stage: x.name, batches: x.batches, packets: x.frames, seconds: x.ns / 1e9 }));
  let current: CostMeter | null = meter;
  const reg = createRegistry(() => ({ ...snap(1), stages }), { meter: () => current });
  const text = await reg.metrics();
  const m = parse(text);
  t.ok(m.get('vtepd_stage_seconds_total{stage="rx"}')! > 0, `13 frames: stage time ${m.get('vtepd_stage_seconds_total{stage="rx"}')} s, not 0`);
  t.match(text, /# HELP vtepd_stage_seconds_total .*1 batch in 16/, 'HELP says what is measured');
  t.equal(m.get('vtepd_cost_frames_total{counter="in-frames"}'), 13);
  t.equal(m.get('vtepd_cost_stage_frames_total{stage="decap"}'), 13);
  t.ok(m.get('vtepd_cost_process_cpu_seconds_total{mode="user"}')! > 0);
  current = null;
  const m2 = parse(await reg.metrics());
  t.equal(m2.get('vtepd_cost_frames_total{counter="in-frames"}'), undefined, 'no meter (kernel mode): no cost series');
  t.equal(m.get('vtepd_cost_host_cpus'), undefined, 'the daemon meter does not read /proc/stat: no host CPU gauge rather than 0');
});
