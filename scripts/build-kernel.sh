#!/usr/bin/env bash
# build: configure (allnoconfig + fragments from configs/) and build the
# work tree's kernel out of tree for one target, with ccache.
# Usage: build-kernel.sh TARGET [VARIANT]
# A VARIANT adds configs/VARIANT.config, and configs/TARGET-VARIANT.config if
# there is one, and builds in build/out/TARGET-VARIANT.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

target=$1 variant=${2:-}
. "$TOP/targets/$target.sh"
o=$OUT/$target${variant:+-$variant}
mkdir -p "$o"

frag=$o/fragment.config.new
frags=("$TOP/configs/common.config" "$TOP/configs/$target.config")
if [ -n "$variant" ]; then
	frags+=("$TOP/configs/$variant.config")
	[ ! -f "$TOP/configs/$target-$variant.config" ] ||
		frags+=("$TOP/configs/$target-$variant.config")
fi
# A later fragment overrides an earlier one: keep each symbol's last line.
cat "${frags[@]}" | tac | awk '
	/^(# )?CONFIG_[A-Za-z0-9_]+(=| is not set)/ {
		match($0, /CONFIG_[A-Za-z0-9_]+/)
		sym = substr($0, RSTART, RLENGTH)
		if (sym in seen) next
		seen[sym] = 1
	}
	{ print }' | tac > "$frag"

export CCACHE_BASEDIR=$TOP CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
export KBUILD_BUILD_TIMESTAMP="2026-01-01" KBUILD_BUILD_USER=kvm KBUILD_BUILD_HOST=userfault
kmake=(make -C "$WORKTREE" O="$o" ARCH="$KARCH" CROSS_COMPILE="$CROSS_COMPILE"
       CC="ccache ${CROSS_COMPILE}gcc" HOSTCC="ccache gcc" -j"$(nproc)" -s)

# The fragments' lines that .config lacks, except an option the series adds
# (CONFIG_KVM_USERFAULT_KUNIT_TEST) on a tree that does not have it yet: the
# base tree (regress, check-series) and the patches before the one that adds
# it.  Any other missing line, e.g. a misspelled option, is reported.
missing() {
	grep -E '^CONFIG_' "$frag" | sort -u | while read -r line; do
		grep -qxF "$line" "$o/.config" 2>/dev/null && continue
		sym=${line%%=*}
		if grep -qxE "\+(menu)?config ${sym#CONFIG_}" "$TOP"/patches/*.patch &&
		   ! git -C "$WORKTREE" grep -qE "^[[:space:]]*(menu)?config ${sym#CONFIG_}\$" \
			-- '*Kconfig*'; then
			continue
		fi
		echo "$line"
	done
}

exec 9>"$BUILD_LOCK"
flock 9

# Reconfigure too when the tree gained an option the fragments ask for
# (check-series, at the patch that adds it).
if ! cmp -s "$frag" "$o/fragment.config" || [ ! -f "$o/.config" ] || [ -n "$(missing)" ]; then
	stage "build $target${variant:+-$variant}: configuring"
	"${kmake[@]}" KCONFIG_ALLCONFIG="$frag" allnoconfig >/dev/null
	# Every option the fragments ask for must have survived Kconfig.
	bad=$(missing)
	[ -z "$bad" ] || die "Kconfig dropped: $(echo "$bad" | tr '\n' ' ')"
	mv "$frag" "$o/fragment.config"
else
	rm -f "$frag"
fi

# With modules configured, build them too: modpost is what reports a symbol
# a module uses but the kernel does not export to it.
goals=("$KIMAGE_TARGET")
! grep -qx 'CONFIG_MODULES=y' "$o/.config" || goals+=(modules)
stage "build $target${variant:+-$variant}: ${goals[*]}"
"${kmake[@]}" ${W:+W=$W} "${goals[@]}"
