#!/usr/bin/env bash
# boot: boot one run (runs/RUN.sh: target + kernel command line) under QEMU,
# echo its console, and judge the TAP the guest prints.  Writes
# build/logs/RUN.log and build/logs/RUN.result ("passed failed skipped").
# Usage: boot.sh RUN [PLAN-IN-GUEST]     e.g. boot.sh x86_64-tdp /plans/x86_64-run.plan
# A run may name its own plan (RUN_PLAN), the default being the target's
# /plan, and multiply every test's timeout by TIMEOUT_SCALE (slow kernels).
# KERNEL and INITRD override the images booted; LOGS where logs go;
# QEMU_EXTRA_ARGS is appended to the target's QEMU options (a later -smp wins).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

run=$1
VARIANT= RUN_PLAN= TIMEOUT_SCALE=1 GUEST_CMDLINE=
. "$TOP/runs/$run.sh"
plan=${2:-$RUN_PLAN}
. "$TOP/targets/$TARGET.sh"
# The target's own kernel parameters (for the guest's init), then the run's.
CMDLINE="${GUEST_CMDLINE:+$GUEST_CMDLINE }$CMDLINE"
# shellcheck disable=SC2206
QEMU_ARGS+=(${QEMU_EXTRA_ARGS:-})
kernel=${KERNEL:-$OUT/$TARGET${VARIANT:+-$VARIANT}/$KIMAGE}
vmlinux=${VMLINUX:-$OUT/$TARGET${VARIANT:+-$VARIANT}/vmlinux}
initrd=${INITRD:-$OUT/$TARGET/initramfs.cpio.gz}
[ -f "$kernel" ] && [ -f "$initrd" ] || die "build $TARGET${VARIANT:+-$VARIANT} first"

# The whole run may take the sum of its tests' timeouts, plus boot time.
plan_file=${initrd%.cpio.gz}${plan:-/plan}
limit=$(awk -v scale="$TIMEOUT_SCALE" \
	'!/^[[:space:]]*(#|$)/ {s += $1}
	 END {print (s + 300) * scale}' "$plan_file")
[ "$TIMEOUT_SCALE" = 1 ] || CMDLINE="$CMDLINE timeout_scale=$TIMEOUT_SCALE"
# The guest's init kills a test at its timeout and says so, so if init stays
# silent for longer than the longest test the guest kernel is stuck.
silence=$(awk -v scale="$TIMEOUT_SCALE" \
	'!/^[[:space:]]*(#|$)/ {if ($1 + 0 > m) m = $1 + 0}
	 END {print (m + 60) * scale}' "$plan_file")

# Stop QEMU when init has printed nothing for $silence seconds (the kernel
# may still print, e.g. RCU stall reports), after dumping its CPUs through
# QEMU's gdb stub (dump-guest.sh); the dump ends up in the log.
watch_console() {
	local lines last=-1 since=$SECONDS
	while sleep 10; do
		[ -f "$log" ] && [ -f "$pidfile" ] || continue
		lines=$(grep -cE '^(#|ok |not ok |1\.\.|TAP )' "$log" || true)
		if [ "$lines" != "$last" ]; then
			last=$lines since=$SECONDS
		elif [ $((SECONDS - since)) -gt "$silence" ]; then
			echo "boot $run: init silent for $((SECONDS - since))s, the guest is stuck: stopping QEMU" |
				tee -a "$log" >&2
			"$TOP/scripts/dump-guest.sh" "$TARGET" "$gdbsock" "$vmlinux" > "$dump" 2>&1 || true
			kill -KILL "$(cat "$pidfile")" 2>/dev/null
			return
		fi
	done
}

logs=${LOGS:-$TOP/build/logs}
mkdir -p "$logs"
# One guest at a time machine-wide: two QEMUs on 2 cores starve each other
# (and change the timing every run here is measured with).
exec 8>"$QEMU_LOCK"
flock 8
log=$logs/$run.log
stage "boot $run: $QEMU, $(basename "$kernel") ${CMDLINE}${plan:+ plan=$plan} (limit ${limit}s)"
start=$SECONDS
pidfile=$logs/$run.qemu.pid
gdbsock=$(mktemp -u /tmp/kvm-userfault-gdb.XXXXXX)	# short: a socket path has a limit
dump=$(mktemp /tmp/kvm-userfault-dump.XXXXXX)
rm -f "$pidfile" "$log"
watch_console &
watcher=$!
set +e
timeout --foreground -k 10 "$limit" "$QEMU" "${QEMU_ARGS[@]}" \
	-display none -monitor none -serial stdio -no-reboot -pidfile "$pidfile" \
	-chardev socket,id=gdb0,path="$gdbsock",server=on,wait=off -gdb chardev:gdb0 \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=$CONSOLE quiet panic=-1 printk.time=1 $CMDLINE${plan:+ plan=$plan}" \
	</dev/null 2>&1 | sed -u 's/\r$//' | tee "$log"
qemu_rc=${PIPESTATUS[0]}
set -e
kill "$watcher" 2>/dev/null || true
if [ -s "$dump" ]; then
	echo "boot $run: where the stuck guest's CPUs were:"
	sed 's/^/  /' "$dump"
fi | tee -a "$log"
rm -f "$pidfile" "$gdbsock" "$dump"

planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | head -n 1)
passed=$(grep -cE '^ok [0-9]+ - ' "$log" || true)
skipped=$(grep -cE '^ok [0-9]+ - .* # SKIP' "$log" || true)
failed=$(grep -cE '^not ok [0-9]+ - ' "$log" || true)
passed=$((passed - skipped))
reported=$((passed + skipped + failed))

grep -E '^not ok [0-9]+ - ' "$log" | sed "s/^not ok [0-9]* - /FAILED: $run: /" || true
if [ -z "$planned" ] || [ "$reported" -lt "$planned" ]; then
	echo "FAILED: $run: the guest did not finish its plan (${reported} of ${planned:-?} reported, QEMU exit $qemu_rc)"
	failed=$((failed + ${planned:-1} - reported))
fi
echo "$passed $failed $skipped" > "$logs/$run.result"
echo "run $run: $passed passed, $failed failed, $skipped skipped ($((SECONDS - start))s)"
[ "$failed" -eq 0 ]
