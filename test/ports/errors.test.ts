/**
 * Errors users meet when opening ports: a missing interface, a link that is
 * down, a TAP name taken by another kind of device, and no privileges (checked
 * in a child without capabilities via setpriv). Each message names the errno
 * and says what to do.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { AfPacketPort } from '../../src/ports/af-packet-port.js';
import { TapPort } from '../../src/ports/tap-port.js';
import { nativeAvailable } from '../../src/native/addon.js';
import { makeNetns, nsExec } from './fixtures/netns.js';

const skip = process.getuid?.() !== 0 ? 'needs root (namespaces)' : !nativeAvailable() ? 'native addon not built' : false;

t.test('missing interface: ENODEV naming it', { skip }, async (t) => {
  const ns = makeNetns(t, 'e');
  t.throws(() => new AfPacketPort({ interface: 'nosuch0', netns: ns }),
    { code: 'ENODEV', interface: 'nosuch0', message: /AF_PACKET open: ENODEV \(No such device\): no such interface 'nosuch0'/ });
});

t.test('link down: ENETDOWN with the command to fix it, unless allowDown', { skip }, async (t) => {
  const ns = makeNetns(t, 'd');
  nsExec(ns, 'ip', ['link', 'add', 'dn0', 'type', 'veth', 'peer', 'name', 'dn1']); // new links start down
  t.throws(() => new AfPacketPort({ interface: 'dn0', netns: ns }),
    { code: 'ENETDOWN', message: /interface 'dn0' is down \(ip link set dn0 up\)/ });
  const p = new AfPacketPort({ interface: 'dn0', netns: ns, allowDown: true });
  t.teardown(() => p.close());
  t.equal(p.ifindex > 0, true, 'opens with allowDown');
});

t.test('TAP name taken by a non-TAP device', { skip }, async (t) => {
  const ns = makeNetns(t, 'x');
  nsExec(ns, 'ip', ['link', 'add', 'taken0', 'type', 'veth', 'peer', 'name', 'taken1']);
  t.throws(() => new TapPort({ interface: 'taken0', netns: ns }), { code: 'EINVAL', message: /attach TAP 'taken0' \(is it a TAP device/ });
  t.throws(() => new TapPort({ interface: 'waytoolongname16' }), RangeError);
});

const setpriv = spawnSync('sh', ['-c', 'command -v setpriv']).status === 0;
t.test('without privileges: EPERM says root or CAP_NET_RAW/CAP_NET_ADMIN', { skip: skip || (!setpriv && 'no setpriv') }, async (t) => {
  const addon = execFileSync(process.execPath, ['-e', 'process.stdout.write(require.resolve("./native-bindings/build/Release/vtepd_native.node"))'], { encoding: 'utf8' });
  const code = `const n=require(${JSON.stringify(addon)});
    for (const f of [() => new n.AfPacket({interface:'lo'}), () => new n.Tap({name:'vtpnopriv0'})]) {
      try { f(); console.log('OPENED'); } catch (e) { console.log(e.code + '|' + e.message); }
    }`;
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all',
    process.execPath, '-e', code], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const [afp, tap] = r.stdout.trim().split('\n');
  t.match(afp, /^EPERM\|AF_PACKET socket on 'lo': EPERM \(Operation not permitted\): needs root or CAP_NET_RAW\/CAP_NET_ADMIN$/);
  // /dev/net/tun is root-only here (EACCES); where it is world-writable TUNSETIFF says EPERM.
  t.match(tap, /^(EACCES|EPERM)\|.*(\/dev\/net\/tun|TAP 'vtpnopriv0'): (EACCES|EPERM) .*needs root or CAP_NET_RAW\/CAP_NET_ADMIN$/);
});

t.test('addon missing: the loader says how to build it', async (t) => {
  const r = spawnSync(process.execPath, ['--import', 'file://' + process.cwd() + '/node_modules/@tapjs/typescript/dist/esm/import.mjs', '-e',
    `import('${process.cwd()}/src/native/addon.ts').then((m) => m.loadNative()).catch((e) => { console.log(e.message); })`],
  { encoding: 'utf8', env: { ...process.env, VTEPD_NATIVE: '/nonexistent/vtepd_native.node' } });
  t.match(r.stdout, /vtepd native addon is not built \(\/nonexistent\/vtepd_native.node is missing\): run `npm run build:native`/);
});
