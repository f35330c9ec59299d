# arm64 target, as data for the build and boot scripts.
# shellcheck shell=bash disable=SC2034
KARCH=arm64
SRCARCH=arm64
CROSS_COMPILE=aarch64-linux-gnu-
KIMAGE=arch/arm64/boot/Image
KIMAGE_TARGET=Image
QEMU=qemu-system-aarch64
# virtualization=on gives EL2 to the guest kernel, so it can run KVM.
QEMU_ARGS=(-M virt,virtualization=on,gic-version=3 -cpu max -smp 2 -m 2G -accel tcg,thread=${TCG_THREAD:-multi})
CONSOLE=ttyAMA0
# For dump-guest.sh (a stuck guest's CPUs): gdb's name of the architecture
# and the registers worth printing besides the pc: the last exception taken
# to EL2 (ELR, ESR, FAR), the EL2 configuration (HCR, VBAR) and the per-CPU
# offset and current task (TPIDR_EL2 and SP_EL0 in a VHE kernel).
GDB_ARCH=aarch64
DUMP_REGS="cpsr ELR_EL2 ESR_EL2 FAR_EL2 HCR_EL2 VBAR_EL2 TPIDR_EL2 SP_EL0"
# The registers a spinning CPU's lock or object may be in, and the stack.
ADDR_REGS="x0 x1 x19 x20 x21 x22 x23"
STACK_REG=sp
