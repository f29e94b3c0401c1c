/**
 * Where the outer UDP checksum is computed (offload `checksum:`), end to end
 * between two `vtepd run` daemons in namespaces, VXLAN with udpChecksum on:
 *  - native: the TypeScript encap leaves it 0, checksumBatch in C fills it;
 *  - kernel: encap writes the pseudo-header sum and the AF_PACKET underlay's
 *    virtio-net header asks the kernel (NEEDS_CSUM, from the UDP header, +6).
 *    With the sending veth's tx-checksumming off the kernel completes it in
 *    software; with it on, veth passes the request along (CHECKSUM_PARTIAL)
 *    and the wire capture shows the unfinished sum: proof the kernel, not
 *    vtepd, was asked.
 * tshark judges every checksum on hv2's underlay; TCP with sha256 end to end.
 */
import t from 'tap';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OverlayLab, sleep } from '../../src/lab/harness.js';
import { callDaemon } from '../../src/control/control-client.js';
import type { StatsSnapshot } from '../../src/control/stats.js';
import { daemonTestSkip, closeOnExit } from './support.js';

const hasTool = (cmd: string) => { try { execFileSync(cmd, ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } };
const skip = daemonTestSkip() || (!hasTool('tshark') || !hasTool('tcpdump') ? 'needs tshark and tcpdump' : false);

async function capture(ns: string, file: string): Promise<ChildProcess> {
  const c = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', 'ul0', '--immediate-mode', '-U', '-w', file, 'udp', 'port', '4789'], { stdio: ['ignore', 'ignore', 'pipe'] });
  // tcpdump says "listening on" once the socket is up.
  await new Promise<void>((resolve, reject) => {
    const to = setTimeout(() => reject(new Error('tcpdump did not start')), 5000);
    c.stderr!.on('data', (d: Buffer) => { if (d.toString().includes('listening')) { clearTimeout(to); resolve(); } });
  });
  return c;
}
async function stop(c: ChildProcess): Promise<void> {
  await sleep(300);
  c.kill('SIGINT');
  await new Promise((r) => c.once('exit', r));
}
/** tshark's UDP checksum verdicts of the VXLAN frames from `src`: 1 good, 0 bad (by port: tshark does not dissect past a bad checksum). */
function verdicts(file: string, src: string): string[] {
  const out = execFileSync('tshark', ['-r', file, '-o', 'udp.check_checksum:TRUE', '-Y', `udp.dstport == 4789 && ip${src.includes(':') ? 'v6' : ''}.src == ${src}`,
    '-T', 'fields', '-e', 'udp.checksum.status'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  return out === '' ? [] : out.split('\n');
}

const cases = [
  { checksum: 'native', v6: false, txOff: false, good: true },
  { checksum: 'native', v6: true, txOff: false, good: true },
  { checksum: 'kernel', v6: false, txOff: true, good: true },
  { checksum: 'kernel', v6: true, txOff: true, good: true },
  { checksum: 'kernel', v6: false, txOff: false, good: false },
] as const;

for (const [k, c] of cases.entries()) {
  t.test(`checksum: ${c.checksum}, IPv${c.v6 ? 6 : 4} underlay, sender tx-checksumming ${c.txOff ? 'off' : 'on'}`, { skip, timeout: 120_000 }, async (t) => {
    const lab = new OverlayLab(`vck${process.pid}${k}`, { v6: c.v6 });
    const dir = mkdtempSync(join(tmpdir(), 'vck-'));
    t.teardown(async () => { await lab.close(); rmSync(dir, { recursive: true, force: true }); });
    closeOnExit(lab);
    const [hv1, hv2] = lab.topo.hvNs;
    if (c.txOff) execFileSync('ip', ['netns', 'exec', hv1, 'ethtool', '-K', 'ul0', 'tx', 'off'], { stdio: 'ignore' });
    await lab.startDaemons({ type: 'vxlan', udpChecksum: true, offload: { checksum: c.checksum } });
    const s = (await callDaemon(lab.daemons[0].socket, 'stats')) as StatsSnapshot;
    t.equal(s.offload.checksum, c.checksum, 'the daemon runs the plan');

    const file = join(dir, 'ul.pcap');
    const cap = await capture(hv2, file);
    const ping = await lab.ping('vm11', 'vm21', 3);
    const bulk = c.good ? await lab.bulk('vm12', 'vm22', 1 << 20) : null;
    await stop(cap);
    const v = verdicts(file, lab.topo.underlay[0]);
    t.ok(v.length >= 4, `tshark sees the VXLAN frames hv1 sent: ARP and 3 echo requests at least (${v.length})`);
    t.equal(ping.received, 3, 'ping 3/3 across the overlay (the receiving daemon does not verify outer UDP checksums)');
    if (c.good) {
      t.equal(bulk!.got.sha, bulk!.sent.sha, '1 MiB TCP intact (sha256)');
      t.same([...new Set(v)], ['1'], 'every outer UDP checksum is good');
    } else {
      t.ok(v.length > 0 && v.every((x) => x === '0'), 'left to the kernel and deferred by veth: the wire shows the pseudo-header sum, not a finished checksum');
    }
    const after = (await callDaemon(lab.daemons[0].socket, 'stats')) as StatsSnapshot;
    const st = after.stages.find((x) => x.stage === 'checksum');
    t.ok(st !== undefined && st.packets >= v.length, `the checksum stage ran on every encapsulated frame (${st?.packets})`);
    t.same((await lab.stopDaemons()).map((x) => x.code), [0, 0], 'daemons exit 0');
  });
}
