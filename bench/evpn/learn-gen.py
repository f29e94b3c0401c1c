#!/usr/bin/python3
"""Frames with new source MACs from a VM namespace, for the EVPN learn-to-FDB benchmark.
usage: learn-gen.py IFACE DST_MAC COUNT GAP_MS -> prints JSON [[mac, epoch_ms_before_send], ...]
Destination = the VM's own MAC (known on the same port): the hypervisor learns the
source and drops the frame (same-port), so nothing floods and remote FDB entries
can only come from EVPN routes."""
import json, sys, time
from scapy.all import Ether, Raw, conf

iface, dst, count, gap = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]) / 1000
s = conf.L2socket(iface=iface)
out = []
for i in range(count):
    mac = '02:0c:00:00:%02x:%02x' % (i >> 8, i & 255)
    p = Ether(src=mac, dst=dst, type=0x88b5) / Raw(b'vtepd-evpn-bench' + bytes(30))
    raw = bytes(p)
    t = time.time() * 1000
    s.send(raw)
    out.append([mac, t])
    time.sleep(gap)
s.close()
print(json.dumps(out))
