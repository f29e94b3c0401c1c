/* What vtepd_bypass.bpf.c and the addon (stack_bypass.cc) share: the
 * program's name and the counter slots of its per-CPU `vtepd_byp_cnt` map.
 * Its configuration is a struct vtepd_xsk_cfg in TUNNEL mode (vtepd_xsk.h). */
#ifndef VTEPD_BYPASS_H
#define VTEPD_BYPASS_H

#define VTEPD_BYPASS_PROG_NAME "vtepd_bypass"

enum vtepd_bypass_counter {
	VTEPD_BYPASS_DROPPED = 0, /* tunnel traffic to the underlay address: vtepd's ring has it, the stack never sees it */
	VTEPD_BYPASS_PASSED = 1,  /* anything else: on to the kernel */
	VTEPD_BYPASS_COUNTERS = 2,
};

#endif
