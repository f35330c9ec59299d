# x86_64 with nested paging: KVM uses the TDP MMU.  Same plan as the shadow
# run.  QEMU runs single-threaded TCG here: with one host thread per L1 CPU
# (thread=multi) QEMU's emulation of nested paging under this load fails
# boots on 7.3.4 with or without the series (README, "Known flake"), while
# the TDP MMU code paths themselves need no true parallelism to be
# exercised; the multi-threaded races run with the shadow MMU and on arm64.
TARGET=x86_64
CMDLINE="kvm_amd.npt=1"
TCG_THREAD=${TCG_THREAD:-single}
