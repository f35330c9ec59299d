#!/usr/bin/env bash
# boot-loop: boot one run N times in a row with its plan (or PLAN-IN-GUEST)
# and count the boots in which every test passed.  Evidence that a run is
# free of intermittent failures, or a way to catch one: every boot's log is
# kept, the failing ones named at the end.
# Usage: boot-loop.sh RUN N [PLAN-IN-GUEST]
#   e.g. boot-loop.sh x86_64-tdp 30       (KERNEL, INITRD, QEMU_EXTRA_ARGS
#        go to boot.sh; logs in build/logs/loop/RUN/, LOOP_LOGS overrides)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

run=$1 n=$2 plan=${3:-}
logs=${LOOP_LOGS:-$TOP/build/logs/loop/$run}
rm -rf "$logs"
mkdir -p "$logs"
start=$SECONDS
bad=()
for i in $(seq -w "$n"); do
	t0=$SECONDS
	mkdir -p "$logs/$i"
	if LOGS=$logs/$i "$TOP/scripts/boot.sh" "$run" $plan > "$logs/$i/boot.out" 2>&1; then
		verdict=ok
	else
		verdict=FAILED bad+=("$i")
	fi
	read -r p f s < "$logs/$i/$run.result" 2>/dev/null || { p=0 f=? s=0; }
	echo "boot $i/$n: $verdict ($p passed, $f failed, $s skipped, $((SECONDS - t0))s)"
	grep -hE '^(FAILED|boot .*stuck)' "$logs/$i/boot.out" | sed 's/^/  /'
done
echo "boot-loop $run: $n boots, $((n - ${#bad[@]})) passed, ${#bad[@]} failed ($((SECONDS - start))s)"
for i in "${bad[@]}"; do
	echo "  failed: $logs/$i/$run.log"
done
[ ${#bad[@]} -eq 0 ]
