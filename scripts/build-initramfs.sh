#!/usr/bin/env bash
# initramfs: pack the guest for one target: our init, every program the
# target's plans name, and the plans themselves (/plan is the default one).
# Usage: build-initramfs.sh TARGET
# PLAN, PROGS_DIRS and IMG override the default plan file, where programs are
# taken from, and the output.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

target=$1
. "$TOP/targets/$target.sh"
o=$OUT/$target
img=${IMG:-$o/initramfs.cpio.gz}
root=${img%.cpio.gz}
progs_dirs=${PROGS_DIRS:-$o/kselftest/kvm $o/bin}

rm -rf "$root"
mkdir -p "$root/tests" "$root/plans" "$root/bin"
"${CROSS_COMPILE}gcc" -static -O2 -Wall -Wextra -o "$root/init" "$TOP/guest/init.c"
# The guest's helpers that plans may name (guest/*.c but init), in /bin.
for src in "$TOP"/guest/*.c; do
	name=$(basename "$src" .c)
	[ "$name" != init ] || continue
	"${CROSS_COMPILE}gcc" -static -O2 -Wall -Wextra -o "$root/bin/$name" "$src"
done

# Plans: plans/TARGET.plan is the default; plans/TARGET-*.plan are extra ones
# chosen with plan=/plans/NAME.plan on the kernel command line.
cp "${PLAN:-$TOP/plans/$target.plan}" "$root/plan"
if [ -z "${PLAN:-}" ]; then
	cp "$TOP"/plans/"$target"*.plan "$root/plans/"
else
	cp "$PLAN" "$root/plans/"
fi
for prog in $(awk '!/^[[:space:]]*(#|$)/ {print $2}' "$root"/plans/*.plan | sort -u); do
	# "kunit SUITE" is init's own: the suite's results from the kernel log.
	[ "$prog" != kunit ] || continue
	[ ! -x "$root/bin/$prog" ] || continue
	# shellcheck disable=SC2086
	src=$(find $progs_dirs -name "$prog" -type f -perm -u+x 2>/dev/null | head -n 1 || true)
	[ -n "$src" ] || die "plan names $prog, but no such program was built for $target"
	cp "$src" "$root/tests/$prog"
done

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 > "$img"
