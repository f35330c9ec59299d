#!/usr/bin/env bash
# test: run the host checks in HOST_CHECKS (scripts/NAME.sh, each one test),
# boot every run given (runs/NAME.sh) with its plan, then print which tests
# failed and, last, the totals: "N passed, N failed, N skipped".
# Usage: [HOST_CHECKS="check-docs"] [GUEST_PLAN=/plans/NAME.plan] test.sh RUN...
set -uo pipefail
. "$(dirname "$0")/lib.sh"

total_p=0 total_f=0 total_s=0
failures=()
for check in ${HOST_CHECKS:-}; do
	if "$TOP/scripts/$check.sh"; then
		total_p=$((total_p + 1))
	else
		total_f=$((total_f + 1))
		failures+=("host: $check")
	fi
done
# A run whose guest kernel dies or freezes cannot finish its plan: boot.sh
# counts every test it did not report as failed and leaves the stuck guest's
# CPUs and kernel log in the run's log.  Nothing is booted twice.
for run in "$@"; do
	rm -f "$TOP/build/logs/$run.result"
	"$TOP/scripts/boot.sh" "$run" ${GUEST_PLAN:-} || true
	read -r p f s 2>/dev/null < "$TOP/build/logs/$run.result" || { p=0 f=1 s=0; }
	total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
	mapfile -t named < <(grep -hE '^not ok [0-9]+ - ' "$TOP/build/logs/$run.log" \
		2>/dev/null | sed "s/^not ok [0-9]* - /$run: /")
	failures+=("${named[@]}")
	[ "$f" -gt "${#named[@]}" ] && failures+=("$run: the guest did not finish its plan")
done

echo
for f in "${failures[@]}"; do
	echo "FAILED: $f"
done
summary="$total_p passed, $total_f failed, $total_s skipped"
echo "$summary" > "$TOP/build/logs/summary"
echo "$summary"
[ "$total_f" -eq 0 ]
