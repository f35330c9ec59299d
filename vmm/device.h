/* SPDX-License-Identifier: GPL-2.0 */
/*
 * device.h: the doorbell device, the same code on both sides.  The guest
 * writes a descriptor (layout.h: DESC_W_*) and OUTs its gpa to
 * PORT_DOORBELL; the VMM reads the buffer it names through its own mapping
 * of guest memory, checksums it (devsum.h) and writes the sum and the
 * request's sequence number back into guest memory.  On the destination
 * that mapping is registered with userfaultfd, so every one of these
 * accesses waits for its page like a vCPU fault does.
 */
#ifndef VMM_DEVICE_H
#define VMM_DEVICE_H

#include <stddef.h>
#include <stdint.h>

/*
 * 0 with *written = the gpa of the page it wrote (a VMM tracks its own
 * writes to guest memory for precopy: KVM's dirty log does not see them),
 * or -1 with why filled in: the guest asked for something impossible.
 */
int device_doorbell(uint8_t *mem, uint64_t mem_size, uint64_t desc_gpa, uint64_t *written,
		    char *why, size_t len);

#endif
