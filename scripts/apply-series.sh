#!/usr/bin/env bash
# apply: create or refresh the kernel work tree (base tagged 'base', every
# patch of patches/ applied in order with git am).  Does nothing when the work
# tree already carries exactly the series; refuses to discard local commits
# or edits unless FORCE=1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

base_repo=$("$TOP/scripts/fetch-base.sh" | tail -n 1)
mapfile -t series < <(find "$TOP/patches" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' \
	! -name '0000-cover-letter.patch' 2>/dev/null | sort)

if [ ! -d "$WORKTREE/.git" ]; then
	stage "apply: creating the work tree $WORKTREE"
	mkdir -p "$(dirname "$WORKTREE")"
	git clone -q "$base_repo" "$WORKTREE"
	# The identity the series' Signed-off-by lines name.
	git -C "$WORKTREE" config user.name "KVM Userfault developers"
	git -C "$WORKTREE" config user.email "kvm-userfault@localhost"
	git -C "$WORKTREE" rev-parse HEAD > "$WORKTREE/.git/series-applied"
fi
wt() { git -C "$WORKTREE" "$@"; }

patch_ids() {	# stable patch-ids, in order, of the files given or of base..HEAD
	if [ $# -gt 0 ]; then
		for f in "$@"; do git patch-id --stable < "$f" | cut -d' ' -f1; done
	else
		for c in $(wt rev-list --reverse base..HEAD); do
			wt show "$c" | git patch-id --stable | cut -d' ' -f1
		done
	fi
}

[ "$(patch_ids "${series[@]}")" = "$(patch_ids)" ] && exit 0

if [ "${FORCE:-0}" != 1 ]; then
	[ -z "$(wt status --porcelain --untracked-files=no)" ] ||
		die "the work tree $WORKTREE has uncommitted edits (commit and 'make export', or FORCE=1)"
	[ "$(wt rev-parse HEAD)" = "$(cat "$WORKTREE/.git/series-applied")" ] ||
		die "the work tree $WORKTREE has commits that are not in patches/ ('make export', or FORCE=1 to discard them)"
fi

stage "apply: ${#series[@]} patch(es) onto base"
wt am --abort >/dev/null 2>&1 || true
wt reset -q --hard base
for p in "${series[@]}"; do
	if ! wt am -q "$p" >/dev/null 2>&1; then
		wt am --abort >/dev/null 2>&1 || true
		wt reset -q --hard base
		wt rev-parse HEAD > "$WORKTREE/.git/series-applied"
		die "patch does not apply: patches/$(basename "$p")"
	fi
done
wt rev-parse HEAD > "$WORKTREE/.git/series-applied"
