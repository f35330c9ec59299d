# arm64 with KVM in VHE mode (the host kernel itself runs at EL2).
TARGET=arm64
CMDLINE=""
