# The debug kernel (configs/debug.config), x86_64 with the shadow MMU, running
# the default x86_64 plan: every userfault test and the stress test.
TARGET=x86_64
VARIANT=debug
CMDLINE="kvm_amd.npt=0"
# KASAN, lockdep and the rest make it up to ~5x slower than the plain kernel.
TIMEOUT_SCALE=3
