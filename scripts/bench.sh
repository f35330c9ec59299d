#!/usr/bin/env bash
# bench: the demand-paging benchmark of `make bench`.  For every run given
# (runs/NAME.sh: target + kernel command line):
#   1. build bench/*.c for the target (build-bench.sh),
#   2. write the bench plan (bench-plan.sh),
#   3. pack a bench initramfs with it (build-initramfs.sh: PLAN, PROGS_DIRS, IMG),
#   4. boot the patched kernel on it (boot.sh: INITRD, LOGS, QEMU_EXTRA_ARGS),
#   5. record the versions and exact command lines;
# then write the report and charts (bench-report.py).  Everything lands in
# bench/results/ (BENCH_RESULTS): RUN.log, RUN.plan, RUN.meta, report.md, RUN.png.
# Failed tests do not stop the benchmark: the report counts them.
# Usage: bench.sh RUN...
# BENCH_SMP (default 4): the L1 guest's QEMU vCPUs, so that 4 L2 vCPUs each
# have an L1 CPU (see README.md, "Benchmark").  bench-plan.sh's BENCH_* too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || die "usage: bench.sh RUN..."
results=${BENCH_RESULTS:-$TOP/bench/results}
smp=${BENCH_SMP:-4}
mkdir -p "$results"
start=$SECONDS

built=
for run in "$@"; do
	VARIANT= CMDLINE=
	. "$TOP/runs/$run.sh"
	. "$TOP/targets/$TARGET.sh"
	o=$OUT/$TARGET
	case " $built " in
	*" $TARGET "*) ;;
	*) "$TOP/scripts/build-bench.sh" "$TARGET"; built="$built $TARGET" ;;
	esac

	stage "bench $run: plan and initramfs"
	"$TOP/scripts/bench-plan.sh" "$TARGET" > "$results/$run.plan"
	PLAN=$results/$run.plan PROGS_DIRS="$o/kselftest/kvm $o/bench" \
		IMG=$o/bench/initramfs.cpio.gz "$TOP/scripts/build-initramfs.sh" "$TARGET"

	# Other guests on the host skew everything: note them and the load.
	others=$(pgrep -c qemu-system || true)
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	t0=$SECONDS
	INITRD=$o/bench/initramfs.cpio.gz LOGS=$results QEMU_EXTRA_ARGS="-smp $smp" \
		"$TOP/scripts/boot.sh" "$run" /plan || true

	# What ran, on what: read back by bench-report.py.
	kernel=$o/$KIMAGE
	{
		echo "run=$run"
		echo "duration_s=$((SECONDS - t0))"
		echo "host=$(nproc) CPUs; load average $load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after; $others other QEMU guest(s) running at the start"
		echo "kernel=$(sed -n 's/^# uname: //p' "$results/$run.log" | head -n 1)"
		echo "series=$(git -C "$WORKTREE" log -1 --format='%h %s' 2>/dev/null)"
		echo "qemu=$("$QEMU" --version | head -n 1)"
		echo "qemu_cmdline=$QEMU ${QEMU_ARGS[*]} -smp $smp -display none -monitor none" \
			"-serial stdio -no-reboot -kernel ${kernel#"$TOP"/}" \
			"-initrd ${o#"$TOP"/}/bench/initramfs.cpio.gz" \
			"-append \"console=$CONSOLE quiet panic=-1 $CMDLINE plan=/plan\""
		echo "counter=$(sed -n 's/^# counter: //p' "$results/$run.log" | head -n 1)"
	} > "$results/$run.meta"
	rm -f "$results/$run.result"
done

python3 "$TOP/scripts/bench-report.py" "$results" "$@"
echo "bench: $* in $((SECONDS - start))s; report: ${results#"$TOP"/}/report.md"
