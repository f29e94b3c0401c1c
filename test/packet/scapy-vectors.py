#!/usr/bin/python3
"""Headers built by scapy (an independent encoder) for the codec tests.

Prints one JSON object: name -> {"hex": bytes, "f": fields scapy was given}.
Run with the system python (/usr/bin/python3), which has scapy.
"""
import json
from scapy.all import Ether, Dot1Q, Dot1AD, ARP, IP, IPv6, UDP, GRE, VXLAN, Raw, TCP
from scapy.layers.inet import IPOption_RR
from scapy.layers.inet6 import (IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting,
                                IPv6ExtHdrFragment)
from scapy.layers.ipsec import AH
from scapy.contrib.geneve import GENEVE, GeneveOptions

out = {}
def put(name, pkt, **f):
    out[name] = {"hex": bytes(pkt).hex(), "f": f}

put("eth", Ether(dst="a1:b2:c3:d4:e5:f6", src="02:03:04:05:06:07", type=0x88b5) / Raw(b"x" * 4))
put("eth8023snap", Ether(dst="01:00:0c:cc:cc:cc", src="02:00:00:00:00:01", type=8) / Raw(bytes([0xaa, 0xaa, 0x03, 0, 0, 0x0c, 0x20, 0x00])))
put("qinq", Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:01") / Dot1AD(prio=5, id=1, vlan=300) / Dot1Q(prio=2, vlan=4000) / ARP(op=2, hwsrc="02:00:00:00:00:01", psrc="192.0.2.1", hwdst="02:00:00:00:00:02", pdst="192.0.2.200"))
put("ipv4opts", IP(src="198.51.100.7", dst="203.0.113.250", ttl=33, id=0x4321, flags="MF", frag=0, tos=0xb8, proto=17, options=[IPOption_RR(routers=["1.2.3.4"])]) / UDP(sport=53, dport=33333) / Raw(b"abc"))
put("ipv4frag", IP(src="10.1.2.3", dst="10.3.2.1", ttl=200, frag=185, proto=17) / Raw(b"z" * 16))
put("ipv6ext", IPv6(src="2001:db8::1", dst="fe80::1:2", hlim=7, tc=0x2e, fl=0xabcde) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting(addresses=["2001:db8::9"]) / AH(nh=17, payloadlen=4, spi=1, seq=2, icv=b"\x00" * 12) / UDP(sport=1, dport=4789) / Raw(b"q" * 8))
put("ipv6frag1", IPv6(src="::1", dst="::2") / IPv6ExtHdrFragment(offset=0, m=1, id=0xdeadbeef) / UDP(sport=5, dport=6) / Raw(b"w" * 8))
put("ipv6frag2", IPv6(src="::1", dst="::2") / IPv6ExtHdrFragment(offset=3, m=0, id=0xdeadbeef, nh=17) / Raw(b"w" * 8))
put("udp4", IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=40000, dport=4789) / Raw(b"hello world!"))
put("udp6", IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=40000, dport=6081) / Raw(b"hello world!!"))
for c in (0, 1):
    for k in (0, 1):
        for s in (0, 1):
            put(f"gre{c}{k}{s}", GRE(chksum_present=c, key_present=k, seqnum_present=s, key=0x89abcdef if k else None,
                                     sequence_number=0x01020304 if s else None, proto=0x86dd) / Raw(b"payload!"),
                c=c, k=k, s=s)
put("vxlan", VXLAN(vni=0xfedcba, flags=0x08))
put("geneve", GENEVE(vni=0x00abcd, proto=0x0800, critical=1, oam=1, options=[
    GeneveOptions(classid=0x0102, type=0x80, data=b"\x01\x02\x03\x04\x05\x06\x07\x08"),
    GeneveOptions(classid=0xffff, type=0x05, data=b""),
    GeneveOptions(classid=0x0103, type=0x7f, data=b"\x00" * 12)]))
put("geneve0", GENEVE(vni=0x000001, proto=0x6558))
put("nvgre", GRE(key_present=1, key=(0x765432 << 8) | 0x9a, proto=0x6558))
put("tcp", TCP(sport=443, dport=51000, seq=0x11223344, ack=0x55667788, flags="SA", window=0x1234, options=[("MSS", 1460)]))
print(json.dumps(out))
