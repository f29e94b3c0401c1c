/**
 * The XDP generator's process (started by xdp-generator.ts inside the
 * generator's namespace, pinned with taskset): one blocking call into the addon
 * (xdpLiveFrames) that runs vtepd_trafgen.bpf.o with BPF_F_TEST_XDP_LIVE_FRAMES
 * for the given time. Argument: the JSON of ChildSpec. Prints one JSON line:
 * { sent, seconds, cpuSeconds }.
 */
import { loadNative } from '../../src/native/addon.js';

interface ChildSpec { object: string; interface: string; frameHex: string; seconds: number; batchSize: number }
interface TrafgenAddon {
  xdpLiveFrames(o: { object: string; interface: string; frame: Buffer; seconds: number; batchSize?: number }): { sent: number; seconds: number };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
const native = loadNative() as unknown as Partial<TrafgenAddon>;
if (typeof native.xdpLiveFrames !== 'function') {
  process.stderr.write('the vtepd addon has no xdpLiveFrames: rebuild it (npm run build:native)\n');
  process.exit(1);
}
const cpu0 = process.cpuUsage();
const r = native.xdpLiveFrames({ object: spec.object, interface: spec.interface, frame: Buffer.from(spec.frameHex, 'hex'), seconds: spec.seconds, batchSize: spec.batchSize });
const cpu = process.cpuUsage(cpu0);
process.stdout.write(JSON.stringify({ sent: r.sent, seconds: r.seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + '\n');
