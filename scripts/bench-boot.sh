#!/usr/bin/env bash
# bench-boot: run a bench plan to its end on one run (runs/RUN.sh): pack an
# initramfs with the plan (build-initramfs.sh: PLAN, PROGS_DIRS, IMG), boot
# it (boot.sh: INITRD, LOGS) and append the guest's log to LOG.
# A guest that gets stuck (boot.sh stops it when init falls silent) costs
# only the test it was running: LOG gets a "not ok" line for that test and
# the rest of the plan goes on in a new boot, starting with that test again
# the first time; up to BENCH_BOOTS (3) boots.
# Usage: bench-boot.sh RUN PLAN LOG      (QEMU_EXTRA_ARGS goes to boot.sh)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

run=$1 plan=$2 log=$3
. "$TOP/runs/$run.sh"
o=$OUT/$TARGET
work=$o/bench/boot
mkdir -p "$work"

: > "$log"
mapfile -t todo < <(grep -vE '^[[:space:]]*(#|$)' "$plan")
last_stuck=
for _ in $(seq "${BENCH_BOOTS:-3}"); do
	printf '%s\n' "${todo[@]}" > "$work/bench.plan"
	PLAN=$work/bench.plan PROGS_DIRS="$o/kselftest/kvm $o/bench" IMG=$work/initramfs.cpio.gz \
		"$TOP/scripts/build-initramfs.sh" "$TARGET"
	INITRD=$work/initramfs.cpio.gz LOGS=$work "$TOP/scripts/boot.sh" "$run" /plan || true
	cat "$work/$run.log" >> "$log"

	# Tests the guest reported on (the kernel-log check comes after them).
	done=$(grep -E '^(not )?ok [0-9]+ - ' "$work/$run.log" |
	       grep -vc ' - kernel log has no splats$' || true)
	[ "$done" -lt ${#todo[@]} ] || break
	# init bailed out of a test stuck in the kernel: that test has its
	# "not ok" line already; the rest of the plan goes on in a new boot.
	if grep -q '^Bail out!' "$work/$run.log"; then
		todo=("${todo[@]:done}")
		[ ${#todo[@]} -gt 0 ] || break
		stage "bench-boot $run: a test got stuck in the kernel; ${#todo[@]} test(s) left, booting again"
		continue
	fi
	stuck=${todo[$done]}
	if [ "$stuck" = "$last_stuck" ]; then
		echo "not ok $((done + 1)) - ${stuck#* } # the guest got stuck again: skipped" >> "$log"
		todo=("${todo[@]:done+1}")
	else
		echo "not ok $((done + 1)) - ${stuck#* } # the guest got stuck: running it again in a new boot" >> "$log"
		todo=("${todo[@]:done}")
	fi
	last_stuck=$stuck
	[ ${#todo[@]} -gt 0 ] || break
	stage "bench-boot $run: the guest got stuck; ${#todo[@]} test(s) left, booting again"
done
