#!/usr/bin/env bash
# bench-plan: write the guest plan of `make bench` for one target to stdout:
# demand_paging_test in each mode at each vCPU count, then the fault
# round-trip latencies (bench/fault_latency.c), all repeated; then, once
# with huge pages behind the memslot and once without, the cost of taking
# pages back (bench/takeback_cost.c).  Repetitions
# are the outer loop, so that a slow phase of the host hits every mode alike.
# Each line runs once: a failure shows in the report.
# Usage: bench-plan.sh TARGET
# BENCH_MEM (per vCPU, default 32M), BENCH_VCPUS ("1 2 4"), BENCH_REPS (5),
# BENCH_LAT_PAGES (2048 per repetition) override the sizes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

target=$1
mem=${BENCH_MEM:-32M}
vcpus=${BENCH_VCPUS:-1 2 4}
reps=${BENCH_REPS:-5}
lat_pages=${BENCH_LAT_PAGES:-2048}

# The modes, in report order: name and demand_paging_test options.  -P
# allocates the host's memory before the vCPUs start, as a VMM on KVM
# Userfault can before postcopy (userfaultfd needs the pages absent).
modes=(
	"ceiling| "
	"ceiling-populated| -P"
	"uffd-missing| -u MISSING"
	"uffd-minor| -u MINOR -s shmem"
	"kvm-userfault| -k"
	"kvm-userfault-populated| -k -P"
	"kvm-userfault+minor| -k -u MINOR -s shmem"
)
# On arm64 demand_paging_test loops over every guest mode unless -m picks
# one; mode 3 is 48-bit PA and VA with 4K pages.
case $target in
arm64) arch_args=" -m 3" ;;
*) arch_args= ;;
esac

echo "# make bench, $target: ${#modes[@]} modes x vCPUs {$vcpus} x $reps repetitions, $mem per vCPU"
# The report (bench-report.py) names each line's mode from these comments.
for m in "${modes[@]}"; do
	echo "# mode ${m%%|*} =${m#*|}"
done
for rep in $(seq "$reps"); do
	echo "# repetition $rep"
	for v in $vcpus; do
		for m in "${modes[@]}"; do
			line="240 demand_paging_test -b $mem -v $v$arch_args${m#*|}"
			echo "${line% }"
		done
	done
	echo "300 fault_latency -p $lat_pages"
done
echo "300 takeback_cost"
echo "300 takeback_cost -s"
