#!/usr/bin/env bash
# docs: build the KVM documentation (htmldocs, Documentation/virt/kvm) of the
# work tree and fail on any Sphinx warning or error.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tree=${1:-$WORKTREE}
log=$OUT/docs.log
mkdir -p "$OUT"
stage "docs: htmldocs SPHINXDIRS=virt/kvm"
make -C "$tree" O="$OUT/docs" SPHINXDIRS=virt/kvm htmldocs > "$log" 2>&1 ||
	{ cat "$log"; die "htmldocs failed"; }
# Sphinx reports problems as "file:line: WARNING: ..." or "ERROR"; graphviz
# missing is a notice about the machine, not the text.
if grep -E 'WARNING|ERROR' "$log" | grep -v 'dot(1) not found'; then
	die "the KVM documentation has warnings (full log: $log)"
fi
echo "docs: no warnings"
