# arm64 with KVM in protected mode (pKVM): the hypervisor at EL2 owns the
# stage-2 page tables of every VM, and protected VMs can be created.  Its
# plan checks that protected VMs refuse KVM_MEM_USERFAULT and that ordinary
# VMs keep it under pKVM.
TARGET=arm64
CMDLINE="kvm-arm.mode=protected"
RUN_PLAN=/plans/arm64-pkvm.plan
