/**
 * Real peer, IPv4 underlay: the Linux kernel's vxlan device with `noudpcsum`
 * and with `udpcsum` (vtepd then sends a computed checksum, which the kernel
 * verifies on receive). See fixtures/kernel-peer-case.ts for the procedure.
 */
import { kernelPeerCase } from './fixtures/kernel-peer-case.js';

kernelPeerCase({ name: 'IPv4 underlay, kernel noudpcsum', v6: false, csum: false });
kernelPeerCase({ name: 'IPv4 underlay, kernel udpcsum', v6: false, csum: true });
