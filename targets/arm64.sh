# arm64 target, as data for the build and boot scripts.
# shellcheck shell=bash disable=SC2034
KARCH=arm64
SRCARCH=arm64
CROSS_COMPILE=aarch64-linux-gnu-
KIMAGE=arch/arm64/boot/Image
KIMAGE_TARGET=Image
QEMU=qemu-system-aarch64
# virtualization=on gives EL2 to the guest kernel, so it can run KVM.
QEMU_ARGS=(-M virt,virtualization=on,gic-version=3 -cpu max -smp 2 -m 2G -accel tcg,thread=multi)
CONSOLE=ttyAMA0
