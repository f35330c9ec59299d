#!/usr/bin/env bash
# vmm: build the postcopy VMM (vmm/) statically for one target, against the
# work tree's UAPI headers, into $OUT/TARGET/bin/postcopy.
# The guest program is built freestanding, flattened with objcopy and linked
# into the VMM as a blob (ld -r -b binary).  x86_64 only: other targets are
# skipped.
# Usage: build-vmm.sh TARGET
set -euo pipefail
. "$(dirname "$0")/lib.sh"

target=$1
. "$TOP/targets/$target.sh"
if [ "$KARCH" != x86_64 ]; then
	echo "==> vmm $target: skipped (the postcopy VMM and its guest are x86_64 only)"
	exit 0
fi
o=$OUT/$target
hdrs=$o/usr/include
src=$TOP/vmm
b=$o/vmm
[ -f "$hdrs/linux/kvm.h" ] || die "no UAPI headers in $hdrs: build-selftests.sh $target installs them"
grep -q KVM_CAP_USERFAULT "$hdrs/linux/kvm.h" || die "$hdrs/linux/kvm.h has no KVM Userfault: apply the series first"

exec 9>"$BUILD_LOCK"
flock 9

mkdir -p "$b" "$o/bin"
CC=${CROSS_COMPILE}gcc

stage "vmm $target: guest program"
# Freestanding, no SSE (the VMM migrates no FPU state the guest depends
# on), no red zone, no calls to memset/memcpy the compiler might invent.
"$CC" -m64 -std=gnu11 -O2 -Wall -Wextra -ffreestanding -fno-builtin -nostdlib \
	-fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -fno-stack-protector \
	-fcf-protection=none -fno-asynchronous-unwind-tables \
	-fno-tree-loop-distribute-patterns \
	-c "$src/guest.c" -o "$b/guest.o"
"${CROSS_COMPILE}ld" -nostdlib -static -no-pie --build-id=none --no-warn-rwx-segments \
	-T "$src/guest.lds" -o "$b/guest.elf" "$b/guest.o"
"${CROSS_COMPILE}objcopy" -O binary "$b/guest.elf" "$b/guest.bin"
# Run in $b so the symbols are _binary_guest_bin_{start,end}.
(cd "$b" && "${CROSS_COMPILE}ld" -r -b binary -z noexecstack -o guest-blob.o guest.bin)

stage "vmm $target: postcopy"
"$CC" -std=gnu11 -O2 -g -Wall -Wextra -static -pthread -isystem "$hdrs" \
	-o "$o/bin/postcopy" \
	"$src/postcopy.c" "$src/options.c" "$src/source.c" "$src/dest.c" "$src/kvm.c" \
	"$src/wire.c" "$src/net.c" "$src/uffd.c" "$src/ports.c" "$src/device.c" "$src/log.c" \
	"$b/guest-blob.o" -Wl,-z,noexecstack
echo "vmm $target: $o/bin/postcopy (guest program $(stat -c %s "$b/guest.bin") bytes)"
