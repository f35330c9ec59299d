# x86_64 with nested paging: KVM uses the TDP MMU.  Same plan as the shadow
# run, L1's CPUs running in parallel (multi-threaded TCG, like every run).
TARGET=x86_64
CMDLINE="kvm_amd.npt=1"
