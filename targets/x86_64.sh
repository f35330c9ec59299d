# x86_64 target, as data for the build and boot scripts.
# shellcheck shell=bash disable=SC2034
KARCH=x86_64
SRCARCH=x86
CROSS_COMPILE=
KIMAGE=arch/x86/boot/bzImage
KIMAGE_TARGET=bzImage
QEMU=qemu-system-x86_64
# -cpu max under TCG gives SVM with nested paging; qboot skips the BIOS.
# Three CPUs, and the guest's init keeps the tests (so every vCPU's VMRUN)
# off CPU 0: QEMU 7.2's multi-threaded TCG writes CPU 0's SVM state from
# the other vCPU threads without a lock (cpu_clear_ignne()), which is
# harmless only while CPU 0 never enters a guest (README, "Known flakes").
QEMU_ARGS=(-M q35 -cpu max -smp 3 -m 2G -accel tcg,thread=${TCG_THREAD:-multi} -bios qboot.rom)
# tsc=nowatchdog: 7.3.4's clocksource watchdog can deadlock a boot at
# fs_initcall, while timekeeping still runs on jiffies (README, "Known
# flakes"); no watchdog, no skew check.
GUEST_CMDLINE="keep_cpu0=1 tsc=nowatchdog"
# CPUs beyond those the tests run on: make bench adds them to its -smp.
SPARE_CPUS=1
CONSOLE=ttyS0
# For dump-guest.sh (a stuck guest's CPUs): gdb's name of the architecture
# and the registers worth printing besides the pc.
GDB_ARCH=i386:x86-64
DUMP_REGS="rsp eflags cr2 cr3"
# The registers a spinning CPU's lock or object may be in, and the stack.
ADDR_REGS="rdi rsi rbx rbp r12 r13 r14 r15"
STACK_REG=rsp
