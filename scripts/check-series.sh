#!/usr/bin/env bash
# check-series: apply patches/ one at a time onto base in a separate work
# tree (build/check) and, after each patch, check that it
#   - is clean under checkpatch.pl --strict, and every file it adds is
#     already covered by a MAINTAINERS entry,
#   - builds on x86_64 and arm64 (incremental, ccache, own output dirs),
#   - adds no W=1 warnings to the kernel files it touches,
#   - builds the KVM selftests on both if it touches them,
#   - leaves the UAPI additions visible in the installed headers that the
#     selftests compile against;
# and, for the whole series, that it builds with KVM as modules
# (CONFIG_KVM=m, x86_64: arm64's KVM can only be built in), so that modpost
# finds every symbol KVM uses exported to it, and that the KVM documentation
# builds without warnings.
# One line per patch; the runtime last.  The main work tree is not touched.
# CHECK_FROM=N applies patches before number N without checking them (a
# series checked before, extended since) and checks N onwards and the whole.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start=$SECONDS
check=$TOP/build/check
mapfile -t series < <(find "$TOP/patches" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' \
	! -name '0000-cover-letter.patch' | sort)
[ ${#series[@]} -gt 0 ] || die "patches/ holds no patches"
base_repo=$("$TOP/scripts/fetch-base.sh" | tail -n 1)

if [ ! -d "$check/.git" ]; then
	git clone -q "$base_repo" "$check"
	git -C "$check" config user.name "KVM Userfault developers"
	git -C "$check" config user.email "kvm-userfault@localhost"
fi
ck() { git -C "$check" "$@"; }
ck am --abort >/dev/null 2>&1 || true
ck reset -q --hard base

# Kernel .c files the whole series touches, per architecture.
touched_c() {	# PATCH... -> the .c files they modify
	grep -h '^+++ b/.*\.c$' "$@" | sed 's#^+++ b/##' | grep -v '^tools/' | sort -u || true
}
builds_on() {	# TARGET FILE -> true if FILE belongs to TARGET's build
	case $2 in
	arch/x86/*) [ "$1" = x86_64 ] ;;
	arch/arm64/*) [ "$1" = arm64 ] ;;
	arch/*) false ;;
	*) true ;;
	esac
}

build() {	# TARGET [W=1 objects...] -> 0 if the kernel builds
	local target=$1; shift
	WORKTREE=$check OUT=$TOP/build/out/check "$TOP/scripts/build-kernel.sh" "$target" >/dev/null
}

# A .c file that another one #includes (e.g. a KUnit suite that needs static
# functions) is no object of its own: W=1 compiles, and base counts, the
# includer.
compiled_c() {	# FILE... -> the .c files to compile for them, once each
	local f includer
	for f in "$@"; do
		includer=$(grep -l "^#include \"$(basename "$f")\"" \
			"$check/$(dirname "$f")"/*.c 2>/dev/null | head -n 1)
		if [ -n "$includer" ]; then echo "${includer#"$check"/}"; else echo "$f"; fi
	done | sort -u
}

w1_warnings() {	# TARGET FILE -> number of W=1 warnings when compiling FILE
	local target=$1 file=$2 obj log
	. "$TOP/targets/$target.sh"
	[ -f "$check/$file" ] || { echo 0; return; }
	# virt/kvm is built from the architecture's KVM Makefile.
	obj=${file%.c}.o
	case $file in virt/kvm/*) obj=arch/$SRCARCH/kvm/../../../$obj ;; esac
	log=$(flock "$BUILD_LOCK" make -C "$check" O="$TOP/build/out/check/$target" \
		ARCH="$KARCH" CROSS_COMPILE="$CROSS_COMPILE" CC="${CROSS_COMPILE}gcc" \
		-s W=1 "$obj" 2>&1) || { echo "W=1 build of $obj failed: $log" >&2; echo 999; return; }
	grep -c 'warning:' <<<"$log" || true
}

selftests() {	# TARGET -> 0 if the KVM selftests build against the check tree
	local o=$TOP/build/out/check/$1
	WORKTREE=$check OUT=$TOP/build/out/check "$TOP/scripts/build-selftests.sh" "$1" >/dev/null
	[ -d "$o/usr/include/linux" ]
}

uapi_visible() {	# TARGET -> 0 if every KVM UAPI name the series added so far is installed
	local hdr=$TOP/build/out/check/$1/usr/include/linux/kvm.h name
	. "$TOP/targets/$1.sh"
	make -C "$check" O="$TOP/build/out/check/$1" ARCH="$KARCH" -s headers >/dev/null
	for name in $(ck diff base -- include/uapi/linux/kvm.h | grep '^+' |
		      grep -oE '\b(KVM_[A-Z0-9_]+|userfault_bitmap)\b' | sort -u); do
		grep -qw "$name" "$hdr" || { echo "$name"; return 1; }
	done
}

# Warnings at base for every kernel file the series touches.
declare -A base_w
stage "check-series: base"
for t in x86_64 arm64; do
	build "$t" || die "base does not build on $t"
	for f in $(touched_c "${series[@]}"); do
		builds_on "$t" "$f" && base_w[$t:$f]=$(w1_warnings "$t" "$f")
	done
done

failed=0
from=${CHECK_FROM:-1}
for p in "${series[@]}"; do
	name=$(basename "$p")
	problems=()
	t0=$SECONDS
	if ! ck am -q "$p" >/dev/null 2>&1; then
		ck am --abort >/dev/null 2>&1 || true
		echo "FAIL $name: does not apply"
		failed=1
		break
	fi
	if [ $((10#${name%%-*})) -lt "$from" ]; then
		echo "--   $name (applied, not checked: CHECK_FROM=$from)"
		continue
	fi
	# checkpatch must run from the kernel tree: elsewhere it finds the wrong
	# repository.  Its "does MAINTAINERS need updating?" question for added
	# files is answered by get_maintainer.pl instead: every added file must
	# already be covered by a MAINTAINERS entry.  Its SPDX check of added
	# files (spdxcheck.py) runs "python3" from PATH and needs Debian's
	# python3-ply and python3-git, which only the system python3 has (a
	# pyenv one may come first in PATH); without them it silently checks
	# nothing.
	(cd "$check" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict -q \
		--ignore FILE_PATH_CHANGES "$p") >/dev/null 2>&1 || problems+=("checkpatch")
	for f in $(awk '/^diff --git a\// {f = $4} /^new file mode/ {sub("^b/", "", f); print f}' "$p"); do
		(cd "$check" && ./scripts/get_maintainer.pl --no-git --no-git-fallback -f "$f" 2>/dev/null) |
			grep -q '(maintainer:' || problems+=("no MAINTAINERS entry covers $f")
	done
	for t in x86_64 arm64; do
		if ! build "$t"; then
			problems+=("build $t")
			continue
		fi
		for f in $(compiled_c $(touched_c "$p")); do
			builds_on "$t" "$f" || continue
			n=$(w1_warnings "$t" "$f")
			[ "$n" -le "${base_w[$t:$f]:-0}" ] || problems+=("W=1 $t $f: $n warnings, base ${base_w[$t:$f]:-0}")
		done
		if grep -q '^+++ b/tools/testing/selftests/kvm/' "$p"; then
			selftests "$t" || problems+=("selftests $t")
		fi
		if grep -q '^+++ b/include/uapi/linux/kvm.h' "$p"; then
			missing=$(uapi_visible "$t") || problems+=("UAPI $missing not in installed headers ($t)")
		fi
	done
	if [ ${#problems[@]} -eq 0 ]; then
		echo "ok   $name ($((SECONDS - t0))s)"
	else
		echo "FAIL $name: $(IFS=';'; echo "${problems[*]}")"
		failed=1
	fi
done
if [ "$failed" -eq 0 ]; then
	t0=$SECONDS
	if WORKTREE=$check OUT=$TOP/build/out/check \
	   "$TOP/scripts/build-kernel.sh" x86_64 kvm-module >/dev/null; then
		echo "ok   series with CONFIG_KVM=m, x86_64 ($((SECONDS - t0))s)"
	else
		echo "FAIL series with CONFIG_KVM=m, x86_64"
		failed=1
	fi
	OUT=$TOP/build/out/check "$TOP/scripts/check-docs.sh" "$check" || failed=1
fi
echo "check-series: ${#series[@]} patches, $((SECONDS - start))s"
exit "$failed"
