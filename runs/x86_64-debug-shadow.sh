# The debug kernel (configs/debug.config), x86_64 with the shadow MMU, running
# the default x86_64 plan: every userfault test and the stress test.
TARGET=x86_64
VARIANT=debug
# no5lvl: QEMU's -cpu max has LA57, and with 5-level paging 7.3.4's KASAN
# reports a wild-memory-access in about 1 boot in 15, before KVM is even
# loaded: identify_boot_cpu() clears boot_cpu_data's capabilities with
# interrupts enabled, before alternatives are patched, so an interrupt in
# that window sees LA57 off, computes KASAN's shadow bounds for 4-level
# paging and finds the direct-map address of an irq_desc lock outside them
# (README, "Known flakes").
CMDLINE="kvm_amd.npt=0 no5lvl"
# KASAN, lockdep and the rest make it up to ~5x slower than the plain kernel.
TIMEOUT_SCALE=3
