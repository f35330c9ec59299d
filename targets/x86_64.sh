# x86_64 target, as data for the build and boot scripts.
# shellcheck shell=bash disable=SC2034
KARCH=x86_64
SRCARCH=x86
CROSS_COMPILE=
KIMAGE=arch/x86/boot/bzImage
KIMAGE_TARGET=bzImage
QEMU=qemu-system-x86_64
# -cpu max under TCG gives SVM with nested paging; qboot skips the BIOS.
QEMU_ARGS=(-M q35 -cpu max -smp 2 -m 2G -accel tcg,thread=${TCG_THREAD:-multi} -bios qboot.rom)
CONSOLE=ttyS0
# For dump-guest.sh (a stuck guest's CPUs): gdb's name of the architecture
# and the registers worth printing besides the pc.
GDB_ARCH=i386:x86-64
DUMP_REGS="rsp eflags cr2 cr3"
# The registers a spinning CPU's lock or object may be in, and the stack.
ADDR_REGS="rdi rsi rbx rbp r12 r13 r14 r15"
STACK_REG=rsp
