#!/usr/bin/env bash
# export: write base..HEAD of the work tree back into patches/ with a cover
# letter and the base commit recorded.  The cover letter's subject and text
# are kept from the previous export; its shortlog and diffstat are renewed.
# V=N sets the version (default: the one in the current cover letter).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -d "$WORKTREE/.git" ] || die "no work tree at $WORKTREE (run 'make apply')"
wt() { git -C "$WORKTREE" "$@"; }
[ -z "$(wt status --porcelain --untracked-files=no)" ] ||
	die "the work tree has uncommitted edits: commit them first"
n=$(wt rev-list --count base..HEAD)
[ "$n" -gt 0 ] || die "the work tree has no commits on top of base"

cover=$TOP/patches/0000-cover-letter.patch
subject="KVM: Introduce KVM Userfault"
body="*** BLURB HERE ***"
version=${V:-}
if [ -f "$cover" ]; then
	subject=$(sed -n 's/^Subject: \[PATCH[^]]*\] //p' "$cover" | head -n 1)
	[ -n "$version" ] || version=$(sed -n 's/^Subject: \[PATCH v\([0-9]*\).*/\1/p' "$cover" | head -n 1)
	# The text runs from the first blank line (end of headers) to the
	# shortlog, whose first line reads "Author Name (N):".
	body=$(awk 'hdr && /^[^ ].* \([0-9]+\):$/ {exit} hdr {print} /^$/ && !hdr {hdr=1}' "$cover")
fi

branch=$(wt symbolic-ref --short HEAD)
wt config "branch.$branch.description" "$subject

$body"
rm -f "$TOP"/patches/[0-9][0-9][0-9][0-9]-*.patch
mkdir -p "$TOP/patches"
wt format-patch -q --cover-letter --cover-from-description=subject --base=base \
	${version:+-v "$version"} --zero-commit -o "$TOP/patches" base..HEAD
# format-patch prefixes versioned files with vN-; keep stable names.
for f in "$TOP"/patches/v[0-9]*-[0-9][0-9][0-9][0-9]-*.patch; do
	[ -e "$f" ] || continue
	name=${f##*/}
	mv "$f" "$TOP/patches/${name#v*-}"
done
wt rev-parse HEAD > "$WORKTREE/.git/series-applied"
echo "exported $n patch(es) to patches/"
