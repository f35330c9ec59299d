# arm64 with KVM in nVHE mode (the hypervisor runs at EL2 apart from the host).
TARGET=arm64
CMDLINE="kvm-arm.mode=nvhe"
