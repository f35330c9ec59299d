# The debug kernel (configs/debug.config), arm64 with KVM in VHE mode.
TARGET=arm64
VARIANT=debug
CMDLINE=""
# KASAN, lockdep and the rest make it up to ~5x slower than the plain kernel.
TIMEOUT_SCALE=3
