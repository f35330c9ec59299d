#!/usr/bin/env bash
# dump-guest: print where every CPU of a running QEMU guest is, through
# QEMU's gdb stub, so that a stuck guest leaves evidence in its log.
# Usage: dump-guest.sh TARGET SOCKET VMLINUX
# SOCKET is the unix socket of QEMU's gdb stub (boot.sh opens one per boot),
# VMLINUX the booted kernel's symbols.  Per CPU: the pc and its symbol, the
# target's DUMP_REGS (e.g. on arm64 ELR/ESR/FAR_EL2: the last exception taken
# to EL2), the target's ADDR_REGS as addresses with their symbols (a lock a
# CPU spins on is one of them), a short backtrace and the kernel text
# addresses on its stack (the callers, where gdb's unwinder gives up without
# debug info); then the tail of the kernel's log buffer, which holds what
# the kernel said but never got to the console (e.g. a lockdep report made
# just before both CPUs started spinning with interrupts off).
# Needs gdb-multiarch; prints nothing without.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

target=$1 socket=$2 vmlinux=$3
DUMP_REGS= ADDR_REGS= STACK_REG=
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
cmds+=(-ex "thread apply all bt 8")
# Per CPU: each of ADDR_REGS as an address (with its symbol if it has one),
# then the stack.
script=$(mktemp /tmp/kvm-userfault-gdb-cmds.XXXXXX)
{
	echo "define cpu_addrs"
	for reg in $ADDR_REGS; do
		echo "  echo $reg=" && echo "  output/a \$$reg" && echo '  echo \n'
	done
	[ -n "$STACK_REG" ] && echo "  x/64a \$$STACK_REG"
	echo "end"
} > "$script"
cmds+=(-ex "source $script" -ex "thread apply all cpu_addrs")
# The printk ring buffer's text area: records are stored as an id followed
# by the text, in the order they were written (a wrapped buffer starts in
# the middle), so its printable runs are the messages.
logbuf=$(mktemp /tmp/kvm-userfault-logbuf.XXXXXX)
read -r addr size _ < <(nm -S "$vmlinux" 2>/dev/null | awk '$4 == "__log_buf"') || true
[ -n "${addr:-}" ] && cmds+=(-ex "dump binary memory $logbuf 0x$addr 0x$addr+0x$size")
cmds+=(-ex "detach")
timeout 60 gdb-multiarch -q -batch -nx "${cmds[@]}" 2>&1 | grep -v '^$' |
	# x/64a: keep the stack words that are kernel text (<symbol+offset>).
	grep -vE '^0x[0-9a-f]+( <[^>]*>)?:([[:space:]]+0x[0-9a-f]+)+$' || true
if [ -s "$logbuf" ]; then
	echo "the kernel log buffer's last 60 messages:"
	strings -n 8 "$logbuf" | tail -n 60
fi
rm -f "$logbuf" "$script"
