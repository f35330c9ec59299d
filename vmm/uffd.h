/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uffd.h: userfaultfd on the destination's guest_memfd mapping (MISSING
 * mode, UFFD_FEATURE_MISSING_GUEST_MEMFD).  It holds back every access that
 * goes through the mapping: the VMM's own (device emulation) and KVM's
 * (shadow page-table walks, the emulator, kvmclock's cache), which KVM
 * Userfault cannot see.  Pages go in with UFFDIO_COPY / UFFDIO_ZEROPAGE,
 * which put them in the guest_memfd for the mapping and the vCPUs alike and
 * wake whoever waits on them.
 */
#ifndef VMM_UFFD_H
#define VMM_UFFD_H

#include <stddef.h>
#include <stdint.h>

/* 0 if userfaultfd serves guest_memfd mappings; EXIT_SKIP and why if not. */
int uffd_probe(char *why, size_t len);
/* A userfaultfd (non-blocking) with [addr, addr + len) registered MISSING; -1 on error. */
int uffd_register(void *addr, size_t len);
/*
 * Install one page at dst: a copy of src, or zeroes if src is NULL.
 * 0, or -errno: -EEXIST if the page is in the guest_memfd already.
 */
int uffd_install(int uffd, void *dst, const void *src, size_t len);
int uffd_wake(int uffd, void *addr, size_t len);
/*
 * Read one pending fault: 1 with *addr set, 0 if none is pending (EAGAIN)
 * or the message was not a page fault, -1 on error.
 */
int uffd_read_fault(int uffd, uint64_t *addr);

#endif
