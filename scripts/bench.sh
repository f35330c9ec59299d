#!/usr/bin/env bash
# bench: the demand-paging benchmark of `make bench`.  For every run given
# (runs/NAME.sh: target + kernel command line):
#   1. build bench/*.c for the target (build-bench.sh),
#   2. write the bench plan (bench-plan.sh),
#   3. wait (up to BENCH_QUIET_WAIT seconds, default 600) for a quiet host,
#   4. boot the patched kernel on the plan until it is done (bench-boot.sh),
#      sampling the host's load,
#   5. record the versions, the exact command lines and the host's load;
# then write the report and charts (bench-report.py).  Everything lands in
# bench/results/ (BENCH_RESULTS): RUN.log, RUN.plan, RUN.meta, RUN.host,
# report.md, RUN.png.  Failed tests do not stop the benchmark: the report
# counts them.
# Usage: bench.sh RUN...
# BENCH_SMP: the L1 guest's QEMU vCPUs, by default one per host CPU (see
# README.md, "Benchmark").  bench-plan.sh's BENCH_* and bench-boot.sh's too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || die "usage: bench.sh RUN..."
guests() {	# QEMU guests running on the host (zombies aside)
	ps -eo stat=,comm= | awk '$1 !~ /^Z/ && $2 ~ /^qemu-system-/' | wc -l
}
busy() {	# percent of the host's CPU time in use over the next 5 s
	local a b
	a=$(head -n 1 /proc/stat); sleep 5; b=$(head -n 1 /proc/stat)
	echo "$a
$b" | awk '{idle[NR] = $5 + $6; t[NR] = 0; for (i = 2; i <= NF; i++) t[NR] += $i}
		   END {d = t[2] - t[1]; print d ? int(100 * (1 - (idle[2] - idle[1]) / d)) : 0}'
}
results=${BENCH_RESULTS:-$TOP/bench/results}
smp=${BENCH_SMP:-$(nproc)}
mkdir -p "$results"
start=$SECONDS
# The series the kernels were built from (make bench builds before this runs):
# read now, as the work tree may move on while the runs boot.
series=$(git -C "$WORKTREE" log -1 --format='%h %s' 2>/dev/null || true)
sampler=
trap '[ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true' EXIT

built=
for run in "$@"; do
	VARIANT= CMDLINE= GUEST_CMDLINE= SPARE_CPUS=0
	. "$TOP/runs/$run.sh"
	. "$TOP/targets/$TARGET.sh"
	# As many CPUs for the tests as the host has, and the target's spares
	# (x86: CPU 0, which the guest's init keeps free of vCPUs).
	cpus=$((smp + SPARE_CPUS))
	o=$OUT/$TARGET
	case " $built " in
	*" $TARGET "*) ;;
	*) "$TOP/scripts/build-bench.sh" "$TARGET"; built="$built $TARGET" ;;
	esac

	"$TOP/scripts/bench-plan.sh" "$TARGET" > "$results/$run.plan"

	# Anything else on the host skews everything (userfaultfd most, whose
	# handler runs on another CPU): wait a while for a quiet host (other
	# guests gone, under 25% busy), then sample the load every 10 s while
	# the run boots: "time load-average other-QEMUs".
	waited=$SECONDS said=
	while [ $((SECONDS - waited)) -lt "${BENCH_QUIET_WAIT:-600}" ]; do
		[ "$(guests)" -eq 0 ] && [ "$(busy)" -lt 25 ] && break
		[ -n "$said" ] || echo "bench $run: the host is busy, waiting up to ${BENCH_QUIET_WAIT:-600}s"
		said=1
		sleep 5
	done
	others=$(guests)
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	while sleep 10; do
		echo "$(date +%T) $(cut -d' ' -f1 /proc/loadavg) $(($(guests) - 1))"
	done > "$results/$run.host" &
	sampler=$!
	t0=$SECONDS
	QEMU_EXTRA_ARGS="-smp $cpus" \
		"$TOP/scripts/bench-boot.sh" "$run" "$results/$run.plan" "$results/$run.log"
	kill "$sampler"
	sampler=

	# What ran, on what: read back by bench-report.py.
	kernel=$o/$KIMAGE
	{
		echo "run=$run"
		echo "duration_s=$((SECONDS - t0))"
		echo "host=$(nproc) CPUs; load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
			"$others other QEMU guest(s) at the start (after $((t0 - waited))s of waiting)"
		echo "kernel=$(sed -n 's/^# uname: //p' "$results/$run.log" | head -n 1)"
		echo "series=$series"
		echo "qemu=$("$QEMU" --version | head -n 1)"
		echo "qemu_cmdline=$QEMU ${QEMU_ARGS[*]} -smp $cpus -display none -monitor none" \
			"-serial stdio -no-reboot -kernel ${kernel#"$TOP"/}" \
			"-initrd ${o#"$TOP"/}/bench/boot/initramfs.cpio.gz" \
			"-append \"console=$CONSOLE quiet panic=-1 ${GUEST_CMDLINE:+$GUEST_CMDLINE }$CMDLINE plan=/plan\""
		echo "counter=$(sed -n 's/^# counter: //p' "$results/$run.log" | head -n 1)"
	} > "$results/$run.meta"
done

python3 "$TOP/scripts/bench-report.py" "$results" "$@"
echo "bench: $* in $((SECONDS - start))s; report: ${results#"$TOP"/}/report.md"
