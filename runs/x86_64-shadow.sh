# x86_64 without nested paging: KVM uses the shadow MMU.
TARGET=x86_64
CMDLINE="kvm_amd.npt=0"
