#!/usr/bin/env python3
"""Split arm64's KVM Userfault residual (notes/arm64-round-trip.md, section 4).

Reads a bench-boot log of the scratch timing kernel (../arm64-round-trip-timing.diff)
running `fault_latency -m none-populated,kvm-userfault-populated,kvm-run`, and prints
the residual split of each run as a table of means, in us.  The residual is
KVM's part of a -P page minus an ordinary fault on an allocated page minus an
empty KVM_RUN.  The first three columns of the table are measured intervals;
"the rest" and "outside the kernel" are what is left of each side once the
measured intervals are taken out, so the columns add up by construction.
Usage: decomp.py LOG
"""
import re
import sys

NP, UF, KR = 'none-populated', 'kvm-userfault-populated', 'kvm-run'


def parse(path):
    """One dict per fault_latency run: (mech, step or counter) -> mean, in us."""
    runs, cur = [], {}
    for line in open(path):
        m = re.match(r'.*latency mech=(\S+) step=(\S+) n=\d+ p50_ns=\d+ p99_ns=\d+ mean_ns=(\d+)', line)
        if m:
            mech, step, mean = m.groups()
            if (mech, step) == (NP, 'total') and cur:
                runs.append(cur)
                cur = {}
            cur[(mech, step)] = int(mean) / 1000
            continue
        m = re.match(r'.*stats mech=(\S+) per-page: vcpu:(.*?)( vm:.*)?$', line)
        if m:
            for kv in m.group(2).split():
                k, v = kv.split('=')
                cur[(m.group(1), k.removeprefix('dbg_').removesuffix('_ns'))] = float(v) / 1000
    if cur:
        runs.append(cur)
    return runs


def split(r):
    """The residual and its columns, in the note's order."""
    def d(mech, key):
        return r.get((mech, key), 0.0)

    kvm_part = d(UF, 'kvm')
    # In the kernel: the userfault page's KVM_RUN entry and exit paths, the
    # ordinary fault's in-loop path, and the empty KVM_RUN's ioctl.
    uf_kernel = d(UF, 'entry') + d(UF, 'exitpath')
    np_other = d(NP, 'inloop') - d(NP, 'abortmap')
    kr_other = d(KR, 'ioctl') - d(KR, 'load') - d(KR, 'put')
    load_put = d(UF, 'load') + d(UF, 'put') - d(KR, 'load') - d(KR, 'put')
    first = d(UF, 'abort')
    replay = d(UF, 'replay') - d(NP, 'abortmap')
    rest = (uf_kernel - d(UF, 'load') - d(UF, 'put') - d(UF, 'replay') - first
            - np_other - kr_other)
    outside = ((kvm_part - uf_kernel) - (d(NP, 'total') - d(NP, 'inloop'))
               - (d(KR, 'immediate-exit') - d(KR, 'ioctl')))
    residual = kvm_part - d(NP, 'total') - d(KR, 'immediate-exit')
    return residual, first, replay, d(UF, 'walk'), load_put, rest, outside


print("| run | residual (mean) | first fault up to the exit | replay minus an ordinary fault's "
      "handling | of which the stat walk | vcpu_load+put: userfault minus kvm-run | the rest of "
      "KVM_RUN's entry and exit | outside the kernel |")
for n, r in enumerate(parse(sys.argv[1]), 1):
    print(f"| {n} | " + " | ".join(f"{v:.1f}" for v in split(r)) + " |")
