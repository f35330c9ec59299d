/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm.h: a VM with some vCPUs and one memslot of guest_memfd memory at gpa 0,
 * optionally under KVM Userfault; long-mode setup; vCPU state save/restore.
 */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#define MAX_VCPUS 8

struct vcpu {
	int fd;
	int index;
	struct kvm_run *run;
	size_t run_size;
};

struct vm {
	int kvm_fd, vm_fd, gmem_fd;
	int nvcpus;
	struct vcpu vcpus[MAX_VCPUS];
	uint8_t *mem;			/* the guest_memfd mmap: gpa 0 .. mem_size */
	uint64_t mem_size;
	unsigned long *uf_bitmap;	/* the userfault bitmap, or NULL */
	uint32_t slot_flags;
};

/* The MSRs that travel: the guest uses none, these are what a VMM keeps. */
#define VCPU_STATE_MSRS 2

/*
 * Everything of a vCPU that migrates.  Sent as raw bytes: both ends are the
 * same binary (the HELLO message checks the size).  CPUID is not sent: both
 * ends set the host's supported CPUID on the same machine.
 */
struct vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_vcpu_events events;
	struct {
		uint32_t index;
		uint32_t pad;
		uint64_t data;
	} msrs[VCPU_STATE_MSRS];
};

/*
 * 0 when KVM, guest_memfd with MMAP|INIT_SHARED and (if need_userfault)
 * KVM Userfault are all there; EXIT_SKIP (why says what is missing) or
 * EXIT_INTERNAL otherwise.
 */
int kvm_probe(bool need_userfault, char *why, size_t len);

/*
 * Create the VM, its guest_memfd and memslot 0 covering [0, mem_size), and
 * nvcpus vCPUs with the host's CPUID.  With a bitmap, the slot is created
 * with KVM_MEM_USERFAULT.  Returns 0 or -1 (after printing why).
 */
int vm_create(struct vm *vm, uint64_t mem_size, unsigned long *uf_bitmap, int nvcpus,
	      bool anon);

/*
 * anon: the memslot is ordinary anonymous memory instead, as the source
 * uses: 7.3 refuses KVM_MEM_LOG_DIRTY_PAGES on a guest_memfd memslot
 * ("Dirty logging private memory is not currently supported",
 * check_memory_region_flags()), and precopy needs dirty logging.
 */
int vm_set_dirty_log(struct vm *vm, bool on);
/* KVM_GET_DIRTY_LOG of slot 0 into bitmap (one bit per page); 0 or -1. */
int vm_get_dirty_log(struct vm *vm, unsigned long *bitmap);
/* Punch [gpa, gpa + len) out of the guest_memfd: the pages are gone again. */
int vm_discard(struct vm *vm, uint64_t gpa, uint64_t len);
void vm_destroy(struct vm *vm);

/* Flags-only KVM_SET_USER_MEMORY_REGION2: KVM_MEM_USERFAULT on or off. */
int vm_set_userfault(struct vm *vm, bool on);

/*
 * Write the GDT/TSS and identity page tables (layout.h) into guest memory,
 * once per VM.
 */
int vm_write_boot_tables(struct vm *vm);
/*
 * Put a vCPU in 64-bit mode at rip with the given stack and the six SysV
 * argument registers.
 */
int vcpu_setup_long_mode(struct vcpu *vcpu, uint64_t rip, uint64_t rsp,
			 const uint64_t args[6]);

int vcpu_get_state(struct vcpu *vcpu, struct vcpu_state *st);
int vcpu_set_state(struct vcpu *vcpu, const struct vcpu_state *st);

/*
 * Complete an exit that KVM only finishes on the next KVM_RUN (PIO, MMIO),
 * without running a guest instruction: KVM_RUN with immediate_exit set.
 * Needed before saving state of a vCPU that stopped at KVM_EXIT_IO.
 */
int vcpu_complete_pending(struct vcpu *vcpu);

/* The value of a 32-bit OUT, and the answer to a 32-bit IN. */
uint32_t io_out_value(const struct kvm_run *run);
void io_in_answer(struct kvm_run *run, uint32_t val);

const char *exit_reason_name(uint32_t reason);

/* Print the vCPU's registers: for a guest that stopped where it should not. */
void vcpu_dump(struct vcpu *vcpu, const char *who);

#endif
