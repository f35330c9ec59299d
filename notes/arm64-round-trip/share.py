#!/usr/bin/env python3
"""The series' own share of an arm64 KVM Userfault page, and what each
demand_paging_test target would read without it (notes/arm64-round-trip.md,
section 5).

Reads a bench-boot log of the scratch timing kernel
(../arm64-round-trip-timing.diff plus section 5's sched-in/out counters, and
demand_paging_test printing the dbg statistics per page) running
section5.plan.  The series' share of a page is the first fault up to the
userfault exit plus what the replay costs over an ordinary fault's handling
in KVM (the ceiling run's kvm_handle_guest_abort() at the same vCPU count,
with -P if KVM Userfault's run has it).  The plan runs, per vCPU count,
the ceiling, userfaultfd MISSING and KVM Userfault, in that order.
Usage: share.py LOG
"""
import re
import sys

runs = []
cur = None
for line in open(sys.argv[1]):
    m = re.match(r'# === demand_paging_test .* -v (\d+) -m 3( .*)?$', line)
    if m:
        opts = (m.group(2) or '').strip()
        mode = {'': 'ceiling', '-P': 'ceiling', '-u MISSING': 'uffd-missing',
                '-k': 'kvm-userfault', '-k -P': 'kvm-userfault'}[opts]
        cur = {'v': int(m.group(1)), 'mode': mode}
        runs.append(cur)
        continue
    if cur is None:
        continue
    m = re.match(r'# dbg per-page:(.*)$', line)
    if m:
        cur.update({k: float(v) / 1000 for k, v in (kv.split('=') for kv in m.group(1).split())})
    m = re.match(r'# Per-vcpu demand paging rate:\s+([\d.]+)', line)
    if m:
        cur['page_us'] = 1e6 / float(m.group(1))

# Group by repetition: each repetition is v=1 {ceiling-P, uffd, kuf-P}, v=2 {...}.
print('| rep | vCPUs | per page: ceiling / uffd MISSING / KVM Userfault (us) | '
      'first fault | replay - ordinary fault | series share | uffd: vcpu_load+put on sched in/out (per page) | '
      'KVM Userfault: vcpu_load+put | uffd/KVM Userfault: measured, series share removed | '
      'ceiling/KVM Userfault: measured, share removed |')
print('| --- ' * 10 + '|')
for i in range(0, len(runs) - 2, 3):
    c, u, k = runs[i:i + 3]
    assert (c['mode'], u['mode'], k['mode']) == ('ceiling', 'uffd-missing', 'kvm-userfault')
    first = k['dbg_abort_ns']
    extra = k['dbg_replay_ns'] - c['dbg_abortmap_ns']
    share = first + extra
    uload = f"{u['dbg_schedin_ns']:.1f}+{u['dbg_schedout_ns']:.1f} ({u['dbg_schedin_n'] * 1000:.2f}/{u['dbg_schedout_n'] * 1000:.2f})"
    kload = f"{k['dbg_load_ns']:.1f}+{k['dbg_put_ns']:.1f}"
    print(f"| {i // 6 + 1} | {c['v']} | {c['page_us']:.1f} / {u['page_us']:.1f} / {k['page_us']:.1f} | "
          f"{first:.1f} | {extra:.1f} | {share:.1f} | {uload} | {kload} | "
          f"{u['page_us'] / k['page_us']:.2f}x, {u['page_us'] / (k['page_us'] - share):.2f}x | "
          f"{100 * c['page_us'] / k['page_us']:.0f}%, {100 * c['page_us'] / (k['page_us'] - share):.0f}% |")
