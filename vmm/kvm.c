// SPDX-License-Identifier: GPL-2.0
/*
 * kvm.c: VM and vCPU setup helpers.  One VM, its vCPUs, one memslot at gpa 0
 * backed by guest_memfd that the VMM maps (GUEST_MEMFD_FLAG_MMAP) and that
 * starts out shared (GUEST_MEMFD_FLAG_INIT_SHARED), on the default VM type:
 * guest memory with no userspace mapping of its own, which is exactly what
 * userfaultfd cannot serve and KVM Userfault can.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/falloc.h>

#include "kvm.h"
#include "layout.h"
#include "log.h"
#include "vmm.h"

#define MSR_IA32_TSC		0x10
#define MSR_IA32_CR_PAT		0x277

#define X86_CR0_PE		(1UL << 0)
#define X86_CR0_MP		(1UL << 1)
#define X86_CR0_ET		(1UL << 4)
#define X86_CR0_NE		(1UL << 5)
#define X86_CR0_WP		(1UL << 16)
#define X86_CR0_PG		(1UL << 31)
#define X86_CR4_PAE		(1UL << 5)
#define EFER_LME		(1UL << 8)
#define EFER_LMA		(1UL << 10)

#define PTE_P			(1UL << 0)
#define PTE_RW			(1UL << 1)
#define PTE_PS			(1UL << 7)

/* Print "kvm: WHAT: strerror" and return -1. */
static int fail(const char *what)
{
	say("kvm", "%s: %s", what, strerror(errno));
	return -1;
}

int kvm_probe(bool need_userfault, char *why, size_t len)
{
	int kvm, vm, r, ret = EXIT_SKIP;
	long flags;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		snprintf(why, len, "cannot open /dev/kvm: %s", strerror(errno));
		return errno == ENOENT || errno == ENODEV || errno == ENXIO ||
		       errno == EACCES ? EXIT_SKIP : EXIT_INTERNAL;
	}
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		snprintf(why, len, "unexpected KVM API version");
		goto out;
	}
	r = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USERFAULT);
	if (need_userfault && r <= 0) {
		snprintf(why, len, "the kernel lacks KVM Userfault (KVM_CAP_USERFAULT is %d)", r);
		goto out;
	}
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY2) <= 0) {
		snprintf(why, len, "the kernel lacks KVM_SET_USER_MEMORY_REGION2");
		goto out;
	}
	/* guest_memfd flags depend on the VM type: ask a default VM. */
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		snprintf(why, len, "KVM_CREATE_VM: %s", strerror(errno));
		ret = EXIT_INTERNAL;
		goto out;
	}
	flags = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS);
	close(vm);
	if (flags < 0 || (flags & (GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED)) !=
			 (GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED)) {
		snprintf(why, len, "guest_memfd lacks MMAP|INIT_SHARED on the default VM type (flags %#lx)",
			 flags);
		goto out;
	}
	ret = 0;
out:
	close(kvm);
	return ret;
}

static int set_host_cpuid(struct vm *vm, struct vcpu *vcpu)
{
	struct kvm_cpuid2 *cpuid = NULL;
	int nent = 64, r;

	/* The guest needs CPUID.LM at least, or KVM refuses EFER.LME. */
	for (;;) {
		free(cpuid);
		cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return fail("calloc");
		cpuid->nent = nent;
		r = ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
		if (!r)
			break;
		if (errno != E2BIG || nent >= 4096) {
			free(cpuid);
			return fail("KVM_GET_SUPPORTED_CPUID");
		}
		nent *= 2;
	}
	r = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	return r ? fail("KVM_SET_CPUID2") : 0;
}

static int set_region(struct vm *vm, uint32_t flags)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = 0,
		.flags = flags,
		.guest_phys_addr = 0,
		.memory_size = vm->mem_size,
		.userspace_addr = (uintptr_t)vm->mem,
		.guest_memfd_offset = 0,
		.guest_memfd = vm->gmem_fd >= 0 ? vm->gmem_fd : 0,
		/* Must stay the same pointer for as long as the flag is set. */
		.userfault_bitmap = (uintptr_t)vm->uf_bitmap,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION2, &r);
}

int vm_create(struct vm *vm, uint64_t mem_size, unsigned long *uf_bitmap, int nvcpus,
	      bool anon)
{
	struct kvm_create_guest_memfd gmem = {
		.size = mem_size,
		.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED,
	};
	int size, i;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->gmem_fd = -1;
	for (i = 0; i < MAX_VCPUS; i++)
		vm->vcpus[i].fd = -1;
	if (nvcpus < 1 || nvcpus > MAX_VCPUS) {
		say("kvm", "%d vCPUs: between 1 and %d", nvcpus, MAX_VCPUS);
		return -1;
	}
	vm->mem_size = mem_size;
	vm->uf_bitmap = uf_bitmap;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return fail("open /dev/kvm");
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return fail("KVM_CREATE_VM");
	/* Only VMX without unrestricted guest uses it; above guest memory. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000UL))
		return fail("KVM_SET_TSS_ADDR");

	if (anon) {
		vm->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (vm->mem == MAP_FAILED) {
			vm->mem = NULL;
			return fail("mmap anonymous guest memory");
		}
	} else {
		vm->gmem_fd = ioctl(vm->vm_fd, KVM_CREATE_GUEST_MEMFD, &gmem);
		if (vm->gmem_fd < 0)
			return fail("KVM_CREATE_GUEST_MEMFD");
		vm->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->gmem_fd, 0);
		if (vm->mem == MAP_FAILED) {
			vm->mem = NULL;
			return fail("mmap guest_memfd");
		}
	}

	/*
	 * userspace_addr is the guest_memfd mapping itself: it is what KVM's
	 * own accesses (emulator, shadow page-table walks) go through.
	 */
	vm->slot_flags = (anon ? 0 : KVM_MEM_GUEST_MEMFD) | (uf_bitmap ? KVM_MEM_USERFAULT : 0);
	if (set_region(vm, vm->slot_flags))
		return fail(uf_bitmap ? "KVM_SET_USER_MEMORY_REGION2 (guest_memfd, USERFAULT)"
				      : "KVM_SET_USER_MEMORY_REGION2");

	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	for (i = 0; i < nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->index = i;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
		if (v->fd < 0)
			return fail("KVM_CREATE_VCPU");
		vm->nvcpus = i + 1;
		v->run_size = size;
		v->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			return fail("mmap kvm_run");
		}
		if (set_host_cpuid(vm, v))
			return -1;
	}
	return 0;
}

void vm_destroy(struct vm *vm)
{
	int i;

	for (i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, vm->vcpus[i].run_size);
		if (vm->vcpus[i].fd >= 0)
			close(vm->vcpus[i].fd);
	}
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	if (vm->gmem_fd >= 0)
		close(vm->gmem_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	memset(vm, 0, sizeof(*vm));
}

/*
 * Turn one memslot flag on or off.  Same slot, gpa, size, address and
 * guest_memfd: a flags-only update.
 */
static int vm_set_slot_flag(struct vm *vm, uint32_t flag, bool on, const char *what)
{
	uint32_t flags = on ? vm->slot_flags | flag : vm->slot_flags & ~flag;

	if (set_region(vm, flags))
		return fail(what);
	vm->slot_flags = flags;
	return 0;
}

int vm_set_userfault(struct vm *vm, bool on)
{
	return vm_set_slot_flag(vm, KVM_MEM_USERFAULT, on,
				on ? "KVM_SET_USER_MEMORY_REGION2 (userfault on)"
				   : "KVM_SET_USER_MEMORY_REGION2 (userfault off)");
}

int vm_set_dirty_log(struct vm *vm, bool on)
{
	return vm_set_slot_flag(vm, KVM_MEM_LOG_DIRTY_PAGES, on,
				on ? "KVM_SET_USER_MEMORY_REGION2 (dirty logging on)"
				   : "KVM_SET_USER_MEMORY_REGION2 (dirty logging off)");
}

int vm_get_dirty_log(struct vm *vm, unsigned long *bitmap)
{
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };

	return ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) ? fail("KVM_GET_DIRTY_LOG") : 0;
}

int vm_discard(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (fallocate(vm->gmem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, gpa, len))
		return fail("fallocate(PUNCH_HOLE) on the guest_memfd");
	return 0;
}

static void write_gdt(struct vm *vm)
{
	uint64_t *gdt = (uint64_t *)(vm->mem + GPA_GDT);
	uint64_t tss = GPA_TSS;

	/*
	 * The hidden segment state comes from KVM_SET_SREGS; the descriptors
	 * are here so that anything that does read the GDT (a segment load,
	 * the emulator) finds the same thing.
	 */
	gdt[0] = 0;
	gdt[SEL_CODE / 8] = 0x00af9b000000ffffULL;	/* 64-bit code, DPL 0 */
	gdt[SEL_DATA / 8] = 0x00cf93000000ffffULL;	/* data, 4 GiB, DPL 0 */
	/* 64-bit TSS (busy), 16 bytes. */
	gdt[SEL_TSS / 8] = 0x67 | (tss & 0xffffff) << 16 | 0x8bULL << 40 |
			   ((tss >> 24) & 0xff) << 56;
	gdt[SEL_TSS / 8 + 1] = tss >> 32;
}

static void write_page_tables(struct vm *vm)
{
	uint64_t *pml4 = (uint64_t *)(vm->mem + GPA_PML4);
	uint64_t *pdpt = (uint64_t *)(vm->mem + GPA_PDPT);
	uint64_t *pd = (uint64_t *)(vm->mem + GPA_PD);
	int i;

	/* Identity map of the first GiB, 2 MiB pages. */
	pml4[0] = GPA_PDPT | PTE_P | PTE_RW;
	pdpt[0] = GPA_PD | PTE_P | PTE_RW;
	for (i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | PTE_P | PTE_RW | PTE_PS;
}

int vm_write_boot_tables(struct vm *vm)
{
	if (vm->mem_size < GPA_DATA)
		return -1;
	write_gdt(vm);
	write_page_tables(vm);
	return 0;
}

int vcpu_setup_long_mode(struct vcpu *vcpu, uint64_t rip, uint64_t rsp, const uint64_t args[6])
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = SEL_CODE,
		.type = 11, .present = 1, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = SEL_DATA,
		.type = 3, .present = 1, .s = 1, .db = 1, .g = 1,
	};
	struct kvm_segment tr = {
		.base = GPA_TSS, .limit = 0x67, .selector = SEL_TSS,
		.type = 11, .present = 1,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs))
		return fail("KVM_GET_SREGS");
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = tr;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.unusable = 1;
	sregs.gdt.base = GPA_GDT;
	sregs.gdt.limit = SEL_TSS + 16 - 1;
	/* No IDT: any exception ends in a triple fault, i.e. KVM_EXIT_SHUTDOWN. */
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	sregs.cr3 = GPA_PML4;
	sregs.cr4 = X86_CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs))
		return fail("KVM_SET_SREGS");

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = rip;
	regs.rsp = rsp;
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.rcx = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs))
		return fail("KVM_SET_REGS");
	return 0;
}

struct msr_list {
	struct kvm_msrs hdr;
	struct kvm_msr_entry entries[VCPU_STATE_MSRS];
};

static const uint32_t state_msrs[VCPU_STATE_MSRS] = { MSR_IA32_TSC, MSR_IA32_CR_PAT };

int vcpu_get_state(struct vcpu *vcpu, struct vcpu_state *st)
{
	struct msr_list msrs;
	int i;

	memset(st, 0, sizeof(*st));
	if (ioctl(vcpu->fd, KVM_GET_REGS, &st->regs))
		return fail("KVM_GET_REGS");
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &st->sregs))
		return fail("KVM_GET_SREGS");
	if (ioctl(vcpu->fd, KVM_GET_FPU, &st->fpu))
		return fail("KVM_GET_FPU");
	if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &st->events))
		return fail("KVM_GET_VCPU_EVENTS");

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = VCPU_STATE_MSRS;
	for (i = 0; i < VCPU_STATE_MSRS; i++)
		msrs.entries[i].index = state_msrs[i];
	if (ioctl(vcpu->fd, KVM_GET_MSRS, &msrs) != VCPU_STATE_MSRS)
		return fail("KVM_GET_MSRS");
	for (i = 0; i < VCPU_STATE_MSRS; i++) {
		st->msrs[i].index = msrs.entries[i].index;
		st->msrs[i].data = msrs.entries[i].data;
	}
	return 0;
}

int vcpu_set_state(struct vcpu *vcpu, const struct vcpu_state *st)
{
	struct kvm_vcpu_events events = st->events;
	struct kvm_sregs sregs = st->sregs;
	struct kvm_regs regs = st->regs;
	struct kvm_fpu fpu = st->fpu;
	struct msr_list msrs;
	int i;

	/* sregs first: regs and the rest are interpreted in its mode. */
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs))
		return fail("KVM_SET_SREGS");
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs))
		return fail("KVM_SET_REGS");
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu))
		return fail("KVM_SET_FPU");

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = VCPU_STATE_MSRS;
	for (i = 0; i < VCPU_STATE_MSRS; i++) {
		msrs.entries[i].index = st->msrs[i].index;
		msrs.entries[i].data = st->msrs[i].data;
	}
	if (ioctl(vcpu->fd, KVM_SET_MSRS, &msrs) != VCPU_STATE_MSRS)
		return fail("KVM_SET_MSRS");
	if (ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &events))
		return fail("KVM_SET_VCPU_EVENTS");
	return 0;
}

int vcpu_complete_pending(struct vcpu *vcpu)
{
	int r;

	vcpu->run->immediate_exit = 1;
	r = ioctl(vcpu->fd, KVM_RUN, 0);
	vcpu->run->immediate_exit = 0;
	if (r == -1 && errno == EINTR)
		return 0;
	if (r == 0)
		errno = EPROTO;
	return fail("KVM_RUN (immediate_exit, completing the last exit)");
}

uint32_t io_out_value(const struct kvm_run *run)
{
	const uint8_t *p = (const uint8_t *)run + run->io.data_offset;
	uint32_t v = 0;

	memcpy(&v, p, run->io.size <= 4 ? run->io.size : 4);
	return v;
}

void io_in_answer(struct kvm_run *run, uint32_t val)
{
	uint8_t *p = (uint8_t *)run + run->io.data_offset;

	memcpy(p, &val, run->io.size <= 4 ? run->io.size : 4);
}

void vcpu_dump(struct vcpu *vcpu, const char *who)
{
	struct kvm_vcpu_events ev;
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) || ioctl(vcpu->fd, KVM_GET_SREGS, &s) ||
	    ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev)) {
		say(who, "cannot read the vCPU registers: %s", strerror(errno));
		return;
	}
	say(who, "vcpu: rip %#llx rsp %#llx rflags %#llx rax %#llx rbx %#llx rcx %#llx rdx %#llx",
	    r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx);
	say(who, "vcpu: rsi %#llx rdi %#llx rbp %#llx r8 %#llx r12 %#llx r13 %#llx r14 %#llx r15 %#llx",
	    r.rsi, r.rdi, r.rbp, r.r8, r.r12, r.r13, r.r14, r.r15);
	say(who, "vcpu: cr0 %#llx cr2 %#llx cr3 %#llx cr4 %#llx efer %#llx cs %#x/%#llx; "
	    "exception injected %u nr %u error %#x",
	    s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector, s.cs.base,
	    ev.exception.injected, ev.exception.nr, ev.exception.error_code);
}

const char *exit_reason_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_UNKNOWN: return "UNKNOWN";
	case KVM_EXIT_EXCEPTION: return "EXCEPTION";
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN (triple fault)";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_MEMORY_FAULT: return "MEMORY_FAULT";
	default: return "other";
	}
}
