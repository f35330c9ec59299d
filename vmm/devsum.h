/* SPDX-License-Identifier: GPL-2.0 */
/*
 * devsum.h: the doorbell device's checksum, computed by the VMM over what
 * it read and by the guest over what it wrote.  Freestanding: the guest
 * includes it too.
 */
#ifndef VMM_DEVSUM_H
#define VMM_DEVSUM_H

static inline unsigned long dev_sum_step(unsigned long s, unsigned long w)
{
	s ^= w;
	s = s << 29 | s >> 35;
	return s * 0x9e3779b97f4a7c15UL;
}

#define DEV_SUM_INIT	0x6a09e667f3bcc909UL

#endif
