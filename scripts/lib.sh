# Shared paths for the stage scripts; sourced, never run.
# shellcheck shell=bash
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/kvm-userfault
# The kernel work tree: a git repository, base tagged 'base', the series on top.
WORKTREE=${WORKTREE:-$TOP/build/linux}
# Out-of-tree build outputs, one directory per architecture and variant.
OUT=${OUT:-$TOP/build/out}
# Kernel builds are serialised machine-wide: two at once starve 2 cores.
BUILD_LOCK=${BUILD_LOCK:-/tmp/kvm-userfault-build.lock}
# And guests too (boot.sh): one QEMU at a time.
QEMU_LOCK=${QEMU_LOCK:-/tmp/kvm-userfault-qemu.lock}

die() { echo "error: $*" >&2; exit 1; }
stage() { echo "==> $*"; }

# The KVM selftests' make for one target, as build-selftests.sh runs it:
# static, against the work tree's installed UAPI headers, output in
# $OUT/TARGET/kselftest/kvm.  Needs the target's variables (targets/TARGET.sh).
# Usage: selftests_make TARGET [MAKE ARGS...]
selftests_make() {
	local o=$OUT/$1
	shift
	make -C "$WORKTREE/tools/testing/selftests/kvm" -s \
		ARCH="$KARCH" CROSS_COMPILE="$CROSS_COMPILE" \
		OUTPUT="$o/kselftest/kvm" KHDR_INCLUDES="-isystem $o/usr/include" \
		EXTRA_CFLAGS=-static "$@"
}
