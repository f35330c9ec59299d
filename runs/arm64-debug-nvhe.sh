# The debug kernel (configs/debug.config, with NVHE_EL2_DEBUG), arm64 with KVM
# in nVHE mode.
TARGET=arm64
VARIANT=debug
CMDLINE="kvm-arm.mode=nvhe"
# KASAN, lockdep and the rest make it up to ~5x slower than the plain kernel.
TIMEOUT_SCALE=3
