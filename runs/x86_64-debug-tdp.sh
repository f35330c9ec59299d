# The debug kernel (configs/debug.config, with KVM_PROVE_MMU), x86_64 with
# nested paging and the TDP MMU.
TARGET=x86_64
VARIANT=debug
# no5lvl: see x86_64-debug-shadow.sh.
CMDLINE="kvm_amd.npt=1 no5lvl"
# KASAN, lockdep and the rest make it up to ~5x slower than the plain kernel.
TIMEOUT_SCALE=3
