#!/usr/bin/env bash
# regress: the whole upstream KVM selftests suite (every program in the base
# selftests Makefile's TEST_GEN_PROGS for the architecture) run on the
# unpatched base kernel, built from the base tree, and on the patched kernel,
# built from the work tree (the series updates upstream tests that pin the
# set of memslot flags, e.g. set_memory_region_test), on each run given, one
# test per plan line with a per-test timeout;
# then the table (regress-report.py): a test that passes on base and fails
# with the series (or whose task made a kernel-log report with the series
# only) is run again REGRESS_SAMPLES times on both kernels (below); it is a
# regression, and fails this stage, unless base fails it too.
# Usage: regress.sh RUN...     (the patched kernels are `make build`'s)
# REGRESS_TIMEOUT (seconds per test, default 120: the suite's own
# tools/testing/selftests/kvm/settings) changes the timeout of every test;
# plans/regress.timeouts gives some programs a longer one; REGRESS_KERNELS
# ("base series") boots only the kernels named, keeping the others' logs
# ("none": only the samples of the suspects in the logs kept).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || die "usage: regress.sh RUN..."
start=$SECONDS
base_tree=$TOP/build/base
base_out=$OUT/base
logs=$TOP/build/logs/regress
timeout=${REGRESS_TIMEOUT:-120}

# A program's timeout: the larger of its own in plans/regress.timeouts and
# $timeout.
timeout_of() {
	awk -v prog="$1" -v dflt="$timeout" '!/^#/ && $1 == prog {t = $2}
		END {print (t + 0 > dflt + 0 ? t : dflt)}' "$TOP/plans/regress.timeouts"
}

# The unpatched tree: a clone of the pinned base, at 'base'.
base_repo=$("$TOP/scripts/fetch-base.sh" | tail -n 1)
if [ ! -d "$base_tree/.git" ]; then
	git clone -q "$base_repo" "$base_tree"
fi
git -C "$base_tree" checkout -q --detach base
git -C "$base_tree" reset -q --hard base

targets=$(for run in "$@"; do (. "$TOP/runs/$run.sh"; echo "$TARGET"); done | sort -u)
for t in $targets; do
	. "$TOP/targets/$t.sh"
	# Base kernel and base selftests, in their own output directory.
	WORKTREE=$base_tree OUT=$base_out "$TOP/scripts/build-kernel.sh" "$t"
	WORKTREE=$base_tree OUT=$base_out "$TOP/scripts/build-selftests.sh" "$t"
	# The plan: every program of the suite, in the Makefile's order.
	dir=$base_out/$t/regress
	mkdir -p "$dir"
	make -C "$base_tree/tools/testing/selftests/kvm" -s ARCH="$KARCH" \
		OUTPUT="$base_out/$t/kselftest/kvm" -f Makefile -f - regress-progs \
		> "$dir/progs" <<< 'regress-progs: ; @echo $(TEST_GEN_PROGS)'
	{
		echo "# make regress, $t: the upstream KVM selftests of the base tree"
		for p in $(cat "$dir/progs"); do
			echo "$(timeout_of "$(basename "$p")") $(basename "$p")"
		done
	} > "$dir/regress.plan"
	[ "$(awk '!/^#/ {print $2}' "$dir/regress.plan" | sort | uniq -d)" = "" ] ||
		die "two programs of the $t suite have the same name"
	PLAN=$dir/regress.plan PROGS_DIRS=$base_out/$t/kselftest/kvm IMG=$dir/base.cpio.gz \
		"$TOP/scripts/build-initramfs.sh" "$t"
	PLAN=$dir/regress.plan PROGS_DIRS=$OUT/$t/kselftest/kvm IMG=$dir/series.cpio.gz \
		"$TOP/scripts/build-initramfs.sh" "$t"
done

# Where each kernel, and its tree's build of the programs, is.
kernel_out() {
	case $1 in
	base) echo "$base_out/$TARGET" ;;
	series) echo "$OUT/$TARGET" ;;
	*) die "REGRESS_KERNELS: base or series, not $1" ;;
	esac
}

# Each run on both kernels, each with its own tree's build of the same
# programs.
for run in "$@"; do
	. "$TOP/runs/$run.sh"
	. "$TOP/targets/$TARGET.sh"
	for kernel in ${REGRESS_KERNELS:-base series}; do
		[ "$kernel" != none ] || continue
		k=$(kernel_out "$kernel")
		rm -rf "$logs/$kernel/$run.log" "$logs/$kernel.$run.out"
		mkdir -p "$logs/$kernel"
		KERNEL=$k/$KIMAGE VMLINUX=$k/vmlinux LOGS=$logs/$kernel \
			INITRD=$base_out/$TARGET/regress/$kernel.cpio.gz \
			"$TOP/scripts/boot.sh" "$run" /plan > "$logs/$kernel.$run.out" 2>&1 || true
		tail -n 1 "$logs/$kernel.$run.out"
	done
done

# One sample says little about a test that fails intermittently under TCG
# (timed upstream tests).  Every test that passed on base and not with the
# series is run REGRESS_SAMPLES more times on each kernel, in one boot per
# kernel: if base also fails it at least once, it is flaky on base and
# reported as such with both counts; if base passes it every time and the
# series fails it, it is a regression.  Nothing is retried until it passes:
# every sample is counted and shown.
# The samples run where the suspect ran: after the tests before it in the
# plan (up to the last suspect), which are the state of the kernel it
# failed in.  A fresh boot is not: e.g. L1's TSC, marked unstable during
# most x86 suite boots under TCG, after which system_counter_offset_test
# fails on either kernel (README, "Regression gate").  Those earlier tests
# run once each and are not counted; a suspect among them is one more
# sample.
samples=${REGRESS_SAMPLES:-10}
rm -rf "$logs/samples"
for run in "$@"; do
	. "$TOP/runs/$run.sh"
	. "$TOP/targets/$TARGET.sh"
	suspects=$(python3 "$TOP/scripts/regress-report.py" --suspects "$logs" "$run")
	[ -n "$suspects" ] || continue
	dir=$base_out/$TARGET/regress/samples-$run
	mkdir -p "$dir" "$logs/samples"
	{
		echo "# make regress, $run: the plan up to its last suspect, then $samples samples of each suspect"
		awk -v s=" $(echo $suspects) " '!/^#/ {line[++n] = $0; if (index(s, " " $2 " ")) last = n}
			END {for (i = 1; i < last; i++) print line[i]}' "$base_out/$TARGET/regress/regress.plan"
		for t in $suspects; do
			for _ in $(seq "$samples"); do
				echo "$(timeout_of "$t") $t"
			done
		done
	} > "$dir/samples.plan"
	for kernel in base series; do
		k=$(kernel_out "$kernel")
		PLAN=$dir/samples.plan PROGS_DIRS=$k/kselftest/kvm IMG=$dir/$kernel.cpio.gz \
			"$TOP/scripts/build-initramfs.sh" "$TARGET"
		mkdir -p "$logs/samples/$kernel"
		KERNEL=$k/$KIMAGE VMLINUX=$k/vmlinux LOGS=$logs/samples/$kernel \
			INITRD=$dir/$kernel.cpio.gz \
			"$TOP/scripts/boot.sh" "$run" /plan > "$logs/samples/$kernel.$run.out" 2>&1 || true
		echo "samples on $kernel, $run ($samples x $(echo "$suspects" | wc -w) tests): $(tail -n 1 "$logs/samples/$kernel.$run.out")"
	done
done

echo "regress: $((SECONDS - start))s"
python3 "$TOP/scripts/regress-report.py" "$logs" "$@"
