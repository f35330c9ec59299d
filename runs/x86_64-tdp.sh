# x86_64 with nested paging: KVM uses the TDP MMU.  Same plan as the shadow
# run, on single-threaded TCG: with one host thread per L1 CPU
# (thread=multi) QEMU's emulation of nested paging corrupts L2 and L1 memory
# now and then under this load, with the TDP MMU and the legacy MMU alike,
# also in plain userfaultfd tests (README, "Known flakes").  Single-threaded,
# the TDP MMU's code paths all run, but L1's two CPUs interleave instead of
# running in parallel; the parallel races run with the shadow MMU and on arm64.
TARGET=x86_64
CMDLINE="kvm_amd.npt=1"
TCG_THREAD=${TCG_THREAD:-single}
