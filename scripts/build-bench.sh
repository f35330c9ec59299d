#!/usr/bin/env bash
# build-bench: build the benchmark's own guest programs (bench/*.c:
# fault_latency, takeback_cost) statically for one target into $OUT/TARGET/bench/, with
# the KVM selftests' own make: their CFLAGS, their include paths and the
# kvm_util library objects build-selftests.sh left in $OUT/TARGET/kselftest/kvm.
# One extra rule is handed to that make; nothing is added to the kernel tree.
# Usage: build-bench.sh TARGET
set -euo pipefail
. "$(dirname "$0")/lib.sh"

target=$1
. "$TOP/targets/$target.sh"
o=$OUT/$target
[ -f "$o/kselftest/kvm/lib/kvm_util.o" ] || die "build the $target selftests first (build-selftests.sh $target)"
mkdir -p "$o/bench"

exec 9>"$BUILD_LOCK"
flock 9

for src in "$TOP"/bench/*.c; do
	prog=$o/bench/$(basename "$src" .c)
	stage "bench $target: $(basename "$prog")"
	# The recipe is the selftests' own link rule for a test program.
	# shellcheck disable=SC2016
	selftests_make "$target" --eval "$prog: $src \$(LIBKVM_OBJS)"'
	$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) $(TARGET_ARCH) $< $(LIBKVM_OBJS) $(LDLIBS) -o $@' \
		"$prog"
done
