# x86_64 with nested paging: KVM uses the TDP MMU.
TARGET=x86_64
CMDLINE="kvm_amd.npt=1"
