/**
 * Real peer, IPv6 underlay: kernel vxlan computing UDP checksums (the default;
 * vtepd's computed checksum must satisfy the kernel), and with
 * udp6zerocsumtx/rx (vtepd needs --zero-csum6-rx / --zero-csum6).
 * See fixtures/kernel-peer-case.ts for the procedure.
 */
import { kernelPeerCase } from './fixtures/kernel-peer-case.js';

kernelPeerCase({ name: 'IPv6 underlay, kernel computes UDP checksums', v6: true, csum: true });
kernelPeerCase({ name: 'IPv6 underlay, kernel udp6zerocsumtx/rx', v6: true, csum: false });
