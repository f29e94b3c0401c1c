import t from 'tap';
import { parseEthtoolFeatures, nicFeature, type NicInfo } from '../../src/offload/ethtool.js';

const SAMPLE = `Features for ens1f0:
rx-checksumming: on
tx-checksumming: on
\ttx-checksum-ipv4: off [fixed]
\ttx-checksum-ip-generic: on
tcp-segmentation-offload: on
\ttx-tcp-segmentation: on
tx-udp_tnl-segmentation: on
tx-udp_tnl-csum-segmentation: off [requested on]
tx-gre-segmentation: off [fixed]
hw-tc-offload: off
`;

t.test('parses ethtool -k output, including indented sub-features and [fixed]/[requested]', async (t) => {
  const f = parseEthtoolFeatures(SAMPLE);
  t.same(f['tx-checksum-ipv4'], { on: false, fixed: true });
  t.same(f['tx-checksum-ip-generic'], { on: true, fixed: false });
  t.same(f['tx-udp_tnl-segmentation'], { on: true, fixed: false });
  t.same(f['tx-udp_tnl-csum-segmentation'], { on: false, fixed: false });
  t.same(f['hw-tc-offload'], { on: false, fixed: false });
  t.notOk('Features for ens1f0' in f);
  t.equal(Object.keys(f).length, 10);
});

t.test('nic verdicts name the flag and its state', async (t) => {
  const nic: NicInfo = { iface: 'ens1f0', driver: 'mlx5_core', hasDevice: true, features: parseEthtoolFeatures(SAMPLE), featuresError: null };
  t.same(nicFeature(nic, ['tx-udp_tnl-segmentation'], 'x'), { ok: true, reason: 'ens1f0 (mlx5_core) reports tx-udp_tnl-segmentation: on' });
  const gre = nicFeature(nic, ['tx-gre-segmentation', 'tx-gre-csum-segmentation'], 'nvgre segmentation offload');
  t.same(gre, { ok: false, reason: 'ens1f0 (mlx5_core) does not offer nvgre segmentation offload: tx-gre-segmentation off [fixed], tx-gre-csum-segmentation not reported' });
  t.match(nicFeature(nic, ['hw-tc-offload'], 'flows').reason, /enable with: ethtool -K ens1f0 hw-tc-offload on/);
  t.match(nicFeature({ ...nic, driver: 'virtio_net' }, ['tx-checksum-ip-generic'], 'csum').reason, /paravirtual device/);
  t.match(nicFeature({ ...nic, features: null, featuresError: 'ethtool is not installed (apt-get install ethtool)' }, ['x'], 'y').reason, /cannot read offload features of ens1f0: ethtool is not installed/);
  t.match(nicFeature(null, ['x'], 'y').reason, /no interface given/);
});
