#!/usr/bin/env bash
# selftests: install the work tree's UAPI headers and build the KVM selftests
# statically for one target, against those headers.
# Usage: build-selftests.sh TARGET
set -euo pipefail
. "$(dirname "$0")/lib.sh"

target=$1
. "$TOP/targets/$target.sh"
o=$OUT/$target
[ -f "$o/.config" ] || die "configure the $target kernel first (build-kernel.sh $target)"

exec 9>"$BUILD_LOCK"
flock 9

stage "selftests $target: headers"
make -C "$WORKTREE" O="$o" ARCH="$KARCH" CROSS_COMPILE="$CROSS_COMPILE" -s headers

stage "selftests $target: tools/testing/selftests/kvm"
selftests_make "$target" -j"$(nproc)"
