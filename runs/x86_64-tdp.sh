# x86_64 with nested paging: KVM uses the TDP MMU.  Its plan leaves out the
# userfaultfd and demand-paging stress lines: see plans/x86_64-tdp.plan.
TARGET=x86_64
CMDLINE="kvm_amd.npt=1"
RUN_PLAN=/plans/x86_64-tdp.plan
