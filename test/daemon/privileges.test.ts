/** The capability check before `vtepd run` touches a device, on synthetic /proc/self/status texts. */
import t from 'tap';
import { privilegeProblem } from '../../src/daemon/privileges.js';
import { validateConfig } from '../../src/config/config-load.js';

const status = (eff: string, amb = '0000000000000000') => `Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t${eff}\nCapAmb:\t${amb}\n`;
const NET = '0000000000003000'; // CAP_NET_ADMIN (12) + CAP_NET_RAW (13)
const base = { underlay: { interface: 'ul0', address: '192.0.2.1' }, ports: [{ name: 'p', interface: 'veth1' }], networks: [{ vni: 5, type: 'vxlan', ports: ['p'], remotes: ['192.0.2.2'] }] };
const userspace = validateConfig(base);
const kernel = validateConfig({ ...base, offload: { 'encap-decap': 'kernel', 'forwarding-learning': 'kernel', checksum: 'kernel', segmentation: 'kernel' } });

t.test('userspace data path: the two capabilities are enough, root or not', async (t) => {
  t.equal(privilegeProblem(userspace, status(NET), 1000), null);
  t.match(privilegeProblem(userspace, status('0000000000001000'), 1000), /missing: CAP_NET_RAW/);
  t.match(privilegeProblem(userspace, status('0000000000000000'), 0), /missing: CAP_NET_ADMIN, CAP_NET_RAW/);
});

t.test('kernel mode: root, or the capabilities ambient (ip and bridge run as children)', async (t) => {
  t.equal(privilegeProblem(kernel, status('000001ffffffffff'), 0), null, 'root');
  t.equal(privilegeProblem(kernel, status(NET, NET), 1000), null, 'ambient capabilities pass to children');
  const p = privilegeProblem(kernel, status(NET), 1000);
  t.match(p, /kernel mode runs ip and bridge, which do not inherit capabilities set with setcap/, 'file capabilities alone are refused');
  t.match(p, /--ambient-caps=\+net_admin,\+net_raw/, 'says how to grant them');
  t.match(privilegeProblem(kernel, status('0000000000000000'), 1000), /missing: CAP_NET_ADMIN, CAP_NET_RAW/, 'nothing at all: the general message first');
});

t.test('AF_XDP also needs CAP_BPF (the XDP program) and CAP_IPC_LOCK (the UMEM), and says how to grant them', async (t) => {
  const xdp = validateConfig({ ...base, underlay: { ...base.underlay, transport: 'afxdp' }, ports: [{ name: 'p', interface: 'veth1', backend: 'afxdp' }] });
  const p = privilegeProblem(xdp, status(NET), 1000);
  t.match(p, /needs root or the capabilities CAP_NET_RAW, CAP_NET_ADMIN, CAP_IPC_LOCK and CAP_BPF \(missing: CAP_IPC_LOCK, CAP_BPF\)/);
  t.match(p, /--ambient-caps=\+net_raw,\+net_admin,\+ipc_lock,\+bpf vtepd run/);
  t.match(p, /AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN CAP_IPC_LOCK CAP_BPF/);
  t.match(p, /not setcap on node/);
  t.equal(privilegeProblem(xdp, status('0000008000007000'), 1000), null, 'all four: fine');
  t.equal(privilegeProblem(userspace, status(NET), 1000), null, 'AF_PACKET alone still needs just the two');
});
