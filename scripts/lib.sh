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

die() { echo "error: $*" >&2; exit 1; }
stage() { echo "==> $*"; }
