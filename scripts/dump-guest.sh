#!/usr/bin/env bash
# dump-guest: print where every CPU of a running QEMU guest is, through
# QEMU's gdb stub, so that a stuck guest leaves evidence in its log.
# Usage: dump-guest.sh TARGET SOCKET VMLINUX
# SOCKET is the unix socket of QEMU's gdb stub (boot.sh opens one per boot),
# VMLINUX the booted kernel's symbols.  Per CPU: the pc and its symbol, the
# target's DUMP_REGS (e.g. on arm64 ELR/ESR/FAR_EL2: the last exception taken
# to EL2) and a short backtrace.  Needs gdb-multiarch; prints nothing without.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

target=$1 socket=$2 vmlinux=$3
DUMP_REGS=
. "$TOP/targets/$target.sh"
command -v gdb-multiarch >/dev/null || exit 0

cmds=(-ex "set architecture $GDB_ARCH" -ex "file $vmlinux"
      -ex "target remote $socket" -ex "info threads")
# One line per CPU: "pc=0x... ELR_EL2=0x... ...".
fmt='' args=''
for reg in pc $DUMP_REGS; do
	fmt="$fmt $reg=0x%lx" args="$args, \$$reg"
done
cmds+=(-ex "thread apply all printf \"${fmt# }\\n\"$args")
cmds+=(-ex "thread apply all bt 8" -ex "detach")
timeout 60 gdb-multiarch -q -batch -nx "${cmds[@]}" 2>&1 | grep -v '^$' || true
