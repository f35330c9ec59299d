#!/usr/bin/env python3
"""bench-report: turn the guest logs of `make bench` into a report.

Usage: bench-report.py RESULTS RUN...

Reads RESULTS/RUN.plan (the bench plan, whose "# mode NAME = OPTIONS"
comments name the demand_paging_test modes), RESULTS/RUN.log (the guest's
TAP log) and RESULTS/RUN.meta (versions and command lines, from bench.sh),
and writes:
  RESULTS/RUN.tsv   one line per demand_paging_test attempt: mode, vCPUs,
                    repetition, pages/s (empty when it failed), result
  RESULTS/RUN.dat   median, min and max pages/s per vCPU count and mode
                    (the chart's data)
  RESULTS/RUN.png   the chart (gnuplot)
  RESULTS/report.md medians and spread, the targets' ratios, the fault
                    round-trip latencies and KVM Userfault's steps, the KVM
                    counters per fault, failures and retries.
Standard library only (any python3) plus gnuplot for the chart.
"""
import os
import re
import statistics
import subprocess
import sys
import time

# The ratios the issue sets as targets (see bench/results/README.md).
TARGET_VS_MISSING = 1.8      # KVM Userfault / userfaultfd MISSING at 2 vCPUs
TARGET_VS_CEILING = 0.5      # KVM Userfault / no userfault
# One guest exit per page (the access resolved on re-entry):
TARGET_EXITS_PER_PAGE = 1.02  # fault_latency, kvm-userfault; host interrupts count too
TARGET_KVM_VS_EXIT = 1.2      # KVM's part of the round trip / a null exit
TARGET_VS_MISSING_1_2 = 2.0   # KVM Userfault / userfaultfd MISSING at 1 and 2 vCPUs


def read_modes(plan):
    """Mode names in plan order, and the options string -> name map."""
    names, by_opts = [], {}
    for line in open(plan):
        m = re.match(r"# mode (\S+) =(.*)$", line.rstrip("\n"))
        if m:
            names.append(m.group(1))
            by_opts[m.group(2).strip()] = m.group(1)
    return names, by_opts


def dpt_mode(cmd, by_opts):
    """(mode, vCPUs) of a demand_paging_test command line."""
    vcpus = int(re.search(r"-v (\d+)", cmd).group(1))
    opts = re.sub(r"^demand_paging_test|-[bvm] \S+", "", cmd)
    return by_opts[" ".join(opts.split())], vcpus


def combine(runs):
    """One row per (mechanism, step) from several fault_latency runs: the
    median over the runs of each run's p50, p99 and mean, and the range of
    their p50s."""
    out = {}
    for key in dict.fromkeys(k for r in runs for k in r):
        vals = [r[key] for r in runs if key in r]
        out[key] = dict(runs=len(vals), n=sum(v["n"] for v in vals),
                        max=max(v["max"] for v in vals),
                        lo=min(v["p50"] for v in vals), hi=max(v["p50"] for v in vals),
                        **{k: statistics.median(v[k] for v in vals)
                           for k in ("p50", "p99", "mean")})
    return out


def parse_log(log, plan, by_opts):
    """Attempts of demand_paging_test, fault_latency lines, failures."""
    attempts, lat_runs, stats, failures, info = [], [], {}, [], {}
    cmd, rate, reps, again, finished = None, None, {}, set(), 0
    for line in open(log, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("# === "):
            cmd, rate = line[6:], None
            if cmd.startswith("demand_paging_test"):
                key = dpt_mode(cmd, by_opts)
                if key not in again:    # not the rerun of a stuck test
                    reps[key] = reps.get(key, 0) + 1
            elif cmd.startswith("fault_latency"):
                lat_runs.append({})
            continue
        if cmd is None:
            continue
        m = re.match(r"# Overall demand paging rate:\s+([\d.]+)", line)
        if m:
            rate = float(m.group(1))
        m = re.match(r"# latency mech=(\S+) step=(\S+) n=(\d+) p50_ns=(\d+) p99_ns=(\d+) "
                     r"mean_ns=(\d+) max_ns=(\d+)", line)
        if m:
            lat_runs[-1][(m.group(1), m.group(2))] = dict(
                n=int(m.group(3)), p50=int(m.group(4)), p99=int(m.group(5)),
                mean=int(m.group(6)), max=int(m.group(7)))
        m = re.match(r"# stats mech=(\S+) per-page: (.*)", line)
        if m:
            stats[m.group(1)] = m.group(2)
        m = re.match(r"# (uname|counter): (.*)", line)
        if m:
            info[m.group(1)] = m.group(2)
        done = re.match(r"(not )?ok \d+ - (.*?)(?: # (.*))?$", line)
        if not done or line.endswith("kernel log has no splats"):
            if done:
                if done.group(1):
                    failures.append("kernel log: splats (see the log)")
            continue
        # bench-boot.sh reruns a test the guest got stuck in, in a new boot.
        why = done.group(3) or "failed"
        what = "failed" if done.group(1) else "ok"
        if done.group(1):
            failures.append(f"`{cmd}`: {why}")
            if cmd.startswith("fault_latency"):
                lat_runs[-1] = {}       # a partial run, or one to be redone
        if "running it again" not in why:
            finished += 1
        if cmd.startswith("demand_paging_test"):
            key = dpt_mode(cmd, by_opts)
            if what == "ok" and key in again:
                what = "retried"
            again.discard(key)
            if "running it again" in why:
                again.add(key)
            attempts.append(dict(mode=key[0], vcpus=key[1], rep=reps[key],
                                 rate=None if what == "failed" else rate, result=what))
        rate = None
    planned = sum(1 for l in open(plan) if l.strip() and not l.lstrip().startswith("#"))
    if finished < planned:
        failures.append(f"{planned - finished} of the {planned} plan lines never ran: "
                        "the guest stopped before the end of the plan")
    return attempts, combine(lat_runs), [r for r in lat_runs if r], stats, failures, info


def parse_takeback(log):
    """takeback_cost's lines: (backing, method) -> call and walk p50 (ns),
    exits per walk."""
    out = {}
    for line in open(log, errors="replace"):
        m = re.match(r"# takeback backing=(\S+) method=(\S+) n=(\d+) call_p50_ns=(\d+) "
                     r"walk_p50_ns=(\d+) exits=([\d.]+)", line)
        if m:
            out[(m.group(1), m.group(2))] = dict(
                n=int(m.group(3)), call=int(m.group(4)), walk=int(m.group(5)),
                exits=float(m.group(6)))
    return out


def read_meta(path):
    meta = {}
    if os.path.exists(path):
        for line in open(path):
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v
    return meta


def host_load(path):
    """What the load sampler of bench.sh saw while the run booted."""
    if not os.path.exists(path):
        return "?"
    rows = [l.split() for l in open(path) if len(l.split()) == 3]
    if not rows:
        return "no samples"
    loads = [float(r[1]) for r in rows]
    busy = sum(1 for r in rows if int(r[2]) > 0)
    return (f"{len(rows)} samples 10 s apart: load average {min(loads):.1f}–{max(loads):.1f}, "
            f"other QEMU guests running in {busy} of them ({busy / len(rows):.0%})")


def summarize(attempts, modes):
    """{(mode, vcpus): (median, min, max, n_ok, n_reps)} over passing attempts."""
    cells = {}
    for a in attempts:
        cells.setdefault((a["mode"], a["vcpus"]), []).append(a)
    out = {}
    for key, rows in cells.items():
        rates = [r["rate"] for r in rows if r["rate"] is not None]
        reps = len({r["rep"] for r in rows})
        if rates:
            out[key] = (statistics.median(rates), min(rates), max(rates), len(rates), reps)
        else:
            out[key] = (None, None, None, 0, reps)
    return out


def write_chart(results, run, modes, vcpus, summary):
    dat = os.path.join(results, f"{run}.dat")
    with open(dat, "w") as f:
        f.write("# vCPUs " + " ".join(f"{m}:median {m}:min {m}:max" for m in modes) + "\n")
        for v in vcpus:
            cols = []
            for m in modes:
                med, lo, hi, _, _ = summary.get((m, v), (None,) * 5)
                cols += ["NaN"] * 3 if med is None else [f"{med:.0f}", f"{lo:.0f}", f"{hi:.0f}"]
            f.write(f"{v} " + " ".join(cols) + "\n")
    plots = ", ".join(
        f"'{dat}' using {2 + 3 * i}:{3 + 3 * i}:{4 + 3 * i}:xtic(1) title '{m}'"
        for i, m in enumerate(modes))
    script = f"""
set terminal pngcairo size 1000,560 font 'DejaVu Sans,11' noenhanced
set output '{os.path.join(results, run + '.png')}'
set title "demand_paging_test, {run} (QEMU TCG): median of the repetitions, bars min-max"
set xlabel 'vCPUs'
set ylabel 'pages/s'
set yrange [0:*]
set grid ytics
set key outside right top vertical
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
plot {plots}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def fmt_rate(cell):
    med, lo, hi, n, reps = cell
    if med is None:
        return f"failed ({reps} of {reps})"
    spread = (hi - lo) / med * 100 if med else 0
    s = f"**{med:,.0f}** [{lo:,.0f}–{hi:,.0f}] ±{spread / 2:.0f}%"
    if n < reps:
        s += f" ({reps - n} of {reps} failed)"
    return s


def ratio(summary, a, b, v):
    x, y = summary.get((a, v)), summary.get((b, v))
    if not x or not y or x[0] is None or y[0] is None:
        return None
    return x[0] / y[0]


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}×"


def targets(summary, vcpus):
    """The issue's targets for one run: list of (text, met)."""
    out = []
    vs_missing = {v: ratio(summary, "kvm-userfault", "uffd-missing", v) for v in vcpus}
    vs_ceiling = {v: ratio(summary, "kvm-userfault", "ceiling", v) for v in vcpus}
    r2 = vs_missing.get(2)
    out.append((f"KVM Userfault ≥ {TARGET_VS_MISSING}× userfaultfd MISSING at 2 vCPUs: "
                f"{fmt_ratio(r2)}", r2 is not None and r2 >= TARGET_VS_MISSING))
    seq = [vs_missing[v] for v in vcpus]
    grows = None not in seq and all(a < b for a, b in zip(seq, seq[1:]))
    out.append(("the gap grows with vCPUs: " +
                " → ".join(f"{v}: {fmt_ratio(vs_missing[v])}" for v in vcpus), grows))
    ok = all(r is not None and r >= TARGET_VS_CEILING for r in vs_ceiling.values())
    out.append((f"KVM Userfault ≥ {TARGET_VS_CEILING:.0%} of the no-userfault ceiling: " +
                ", ".join(f"{v}: {r:.0%}" if r is not None else f"{v}: n/a"
                          for v, r in vs_ceiling.items()), ok))
    return out


def paired(lat_runs, a, b):
    """The p50 ratio a / b (keys (mechanism, step)) within each fault_latency
    run: (median, min, max, runs), or None.  The host's speed can change
    between runs (multi-threaded TCG), so two rows' medians over the runs may
    come from different speeds; a ratio taken within one run does not."""
    rs = [r[a]["p50"] / r[b]["p50"] for r in lat_runs if a in r and b in r and r[b]["p50"]]
    return (statistics.median(rs), min(rs), max(rs), len(rs)) if rs else None


def fmt_paired(p):
    return f"{p[0]:.2f}× [{p[1]:.2f}–{p[2]:.2f}]"


def per_page_stat(stats, mech, name):
    m = re.search(rf"\b{name}=([\d.]+)", stats.get(mech, ""))
    return float(m.group(1)) if m else None


def replay_targets(summary, latency, stats):
    """The one-exit-per-page targets: list of (text, met)."""
    out = []
    exits = per_page_stat(stats, "kvm-userfault", "exits")
    if exits is not None:
        out.append((f"guest exits per KVM Userfault page ≤ {TARGET_EXITS_PER_PAGE:.2f} "
                    f"(fault_latency kvm-userfault, host interrupts included): {exits:.2f}",
                    exits <= TARGET_EXITS_PER_PAGE))
    kvm, null = latency.get(("kvm-userfault", "kvm")), latency.get(("exit", "total"))
    if kvm and null:
        r = kvm["p50"] / null["p50"]
        out.append((f"KVM's part of the round trip ≤ {TARGET_KVM_VS_EXIT}× a null exit "
                    f"(p50): {us(kvm['p50'])} / {us(null['p50'])} µs = {r:.2f}×",
                    r <= TARGET_KVM_VS_EXIT))
    for mode, what in (("kvm-userfault", "KVM Userfault"),
                       ("kvm-userfault-populated",
                        "KVM Userfault with the host's memory allocated (-P)")):
        for v in (1, 2):
            r = ratio(summary, mode, "uffd-missing", v)
            if r is None and mode != "kvm-userfault":
                continue    # a run whose plan predates the mode
            out.append((f"{what} ≥ {TARGET_VS_MISSING_1_2:.0f}× userfaultfd MISSING at "
                        f"{v} vCPU{'s' if v > 1 else ''}: {fmt_ratio(r)}",
                        r is not None and r >= TARGET_VS_MISSING_1_2))
    return out


def us(ns):
    return f"{ns / 1000:,.1f}"


def report_run(md, results, run):
    modes, by_opts = read_modes(os.path.join(results, f"{run}.plan"))
    attempts, latency, lat_runs, stats, failures, info = parse_log(
        os.path.join(results, f"{run}.log"), os.path.join(results, f"{run}.plan"), by_opts)
    meta = read_meta(os.path.join(results, f"{run}.meta"))
    vcpus = sorted({a["vcpus"] for a in attempts})
    summary = summarize(attempts, modes)

    with open(os.path.join(results, f"{run}.tsv"), "w") as f:
        f.write("mode\tvcpus\trepetition\tpages_per_s\tresult\n")
        for a in attempts:
            rate = "" if a["rate"] is None else f"{a['rate']:.0f}"
            f.write(f"{a['mode']}\t{a['vcpus']}\t{a['rep']}\t{rate}\t{a['result']}\n")
    if attempts:
        write_chart(results, run, modes, vcpus, summary)

    w = md.append
    w(f"## {run}\n")
    w(f"- kernel (uname in the guest): `{info.get('uname', meta.get('kernel', '?'))}`")
    w(f"- series head: `{meta.get('series', '?')}`")
    w(f"- QEMU: `{meta.get('qemu', '?')}`")
    w(f"- counter: {info.get('counter', '?')}")
    w(f"- duration of the boot: {meta.get('duration_s', '?')} s")
    w(f"- host: {meta.get('host', '?')}")
    w(f"- host during the run: {host_load(os.path.join(results, f'{run}.host'))}")
    w(f"- QEMU command line:\n\n  ```\n  {meta.get('qemu_cmdline', '?')}\n  ```")
    cmds = list(dict.fromkeys(re.sub(r"^\S+ ", "", l.strip()) for l in
                              open(os.path.join(results, f"{run}.plan"))
                              if l.strip() and not l.startswith("#")))
    reps = max((a["rep"] for a in attempts), default=0)
    w(f"- guest commands ({run}.plan, each repeated {reps}×; a test the guest got stuck in is run again once in a new boot):"
      "\n\n  ```\n" + "\n".join(f"  {c}" for c in cmds) + "\n  ```\n")

    w("### Demand paging rate\n")
    w("Pages/s: **median** of the repetitions [min–max] ±half the range "
      "relative to the median.\n")
    w("| mode | " + " | ".join(f"{v} vCPU{'s' if v > 1 else ''}" for v in vcpus) + " |")
    w("|---|" + "---|" * len(vcpus))
    for m in modes:
        w(f"| {m} | " + " | ".join(fmt_rate(summary[(m, v)]) if (m, v) in summary
                                   else "–" for v in vcpus) + " |")
    w(f"\n![{run}]({run}.png)\n")

    w("### Targets (ratios of medians within this run)\n")
    tlist = targets(summary, vcpus)
    w("| vCPUs | " + " | ".join(str(v) for v in vcpus) + " |")
    w("|---|" + "---|" * len(vcpus))
    for label, a, b in (
            ("KVM Userfault / userfaultfd MISSING", "kvm-userfault", "uffd-missing"),
            ("KVM Userfault / ceiling", "kvm-userfault", "ceiling"),
            ("KVM Userfault, host memory allocated (-P) / userfaultfd MISSING",
             "kvm-userfault-populated", "uffd-missing"),
            ("KVM Userfault, host memory allocated / ceiling, host memory allocated",
             "kvm-userfault-populated", "ceiling-populated"),
            ("KVM Userfault + MINOR / userfaultfd MINOR", "kvm-userfault+minor", "uffd-minor")):
        w(f"| {label} | " + " | ".join(fmt_ratio(ratio(summary, a, b, v)) for v in vcpus) + " |")
    w("")
    for text, met in tlist:
        w(f"- {'met' if met else '**missed**'}: {text}")
    w("")
    rlist = replay_targets(summary, latency, stats)
    if rlist:
        w("One guest exit per page (the access resolved on re-entry):\n")
        for text, met in rlist:
            w(f"- {'met' if met else '**missed**'}: {text}")
        w("")
    tlist = tlist + rlist

    if latency:
        w("### One fault's round trip (`fault_latency`, 1 vCPU, guest-observed)\n")
        w("Guest counter before and after its first write to each page; µs.  "
          "`fault_latency` runs once per repetition: p50, p99 and mean are the median "
          "over the runs of each run's value, [brackets] the range of the runs' p50s.\n")
        w("| mechanism | runs × pages | p50 | p99 | mean | max |")
        w("|---|---|---|---|---|---|")
        for (mech, step), s in latency.items():
            if step == "total":
                w(f"| {mech} | {s['runs']} × {s['n'] // s['runs']} | **{us(s['p50'])}** "
                  f"[{us(s['lo'])}–{us(s['hi'])}] | {us(s['p99'])} | "
                  f"{us(s['mean'])} | {us(s['max'])} |")
        w("")
        w("Steps, timed with the same counter on the host (µs; `kvm` = guest-observed "
          "total minus the userspace time: the fault, the exit to userspace and the "
          "re-entry, in KVM and below; `notify+wake` = total minus the handler's "
          "ioctl):\n")
        w("| mechanism | step | p50 | p99 | mean |")
        w("|---|---|---|---|---|")
        for (mech, step), s in latency.items():
            if step != "total":
                w(f"| {mech} | {step} | {us(s['p50'])} [{us(s['lo'])}–{us(s['hi'])}] | "
                  f"{us(s['p99'])} | {us(s['mean'])} |")
        w("")
        uf = {step: s for (mech, step), s in latency.items() if mech == "kvm-userfault"}
        if uf:
            other = dict(uf["userspace"])
            for k in ("p50", "mean"):
                other[k] = max(0, uf["userspace"][k] - uf["install"][k] - uf["clear"][k])
            parts = {"install (host page fault + memcpy)": uf["install"],
                     "clear the bit (atomic release)": uf["clear"],
                     "rest of userspace (exit decode, loop)": other,
                     "KVM: fault → exit to userspace, KVM_RUN → re-entry": uf["kvm"]}
            # By the median: the means carry the host's scheduling tail.
            slowest = max(parts, key=lambda k: parts[k]["p50"])
            total = uf["total"]["p50"]
            w("KVM Userfault round trip, p50 of each step against the p50 total "
              f"({us(total)} µs): " + ", ".join(
                  f"{k} {us(parts[k]['p50'])} µs ({parts[k]['p50'] / total:.0%})"
                  for k in parts) +
              f".  **Slowest step: {slowest}**.\n")
            pop = latency.get(("kvm-userfault-populated", "install"))
            if pop:
                w(f"With the host pages allocated beforehand (kvm-userfault-populated) "
                  f"install takes {us(pop['p50'])} µs (p50) instead of "
                  f"{us(uf['install']['p50'])}: the memcpy; the rest is the host kernel's "
                  "page fault on fresh anonymous memory.\n")
            pairs = [("userfaultfd MISSING / KVM Userfault, total",
                      ("uffd-missing", "total"), ("kvm-userfault", "total")),
                     ("userfaultfd MISSING / KVM Userfault on allocated host pages, total",
                      ("uffd-missing", "total"), ("kvm-userfault-populated", "total")),
                     ("KVM's part / a null exit",
                      ("kvm-userfault", "kvm"), ("exit", "total"))]
            pr = [(t, paired(lat_runs, a, b)) for t, a, b in pairs]
            if any(p for _, p in pr):
                w("Per fault, paired within each run (the median of the runs' p50 ratios "
                  "[range]): " + "; ".join(f"{t} {fmt_paired(p)}" for t, p in pr if p) + ".\n")
            ref = {m: latency.get((m, "total")) for m in ("exit", "none")}
            if all(ref.values()):
                scale = [f"KVM's part of the round trip {us(uf['kvm']['p50'])} µs",
                         f"a null exit to userspace and back {us(ref['exit']['p50'])} µs",
                         f"an ordinary fault (no userfault) {us(ref['none']['p50'])} µs"]
                populated = latency.get(("none-populated", "total"))
                if populated:
                    scale[-1] += f", {us(populated['p50'])} µs on host pages allocated beforehand"
                kr = latency.get(("kvm-run", "immediate-exit"))
                if kr:
                    scale.append("into KVM_RUN and out without entering the guest "
                                 "(immediate_exit: the syscall, vcpu_load and vcpu_put, "
                                 f"which every exit to userspace pays) {us(kr['p50'])} µs")
                w("For scale, p50: " + "; ".join(scale) + ".\n")
            before = {s: latency.get(("kvm-userfault-refault", s)) for s in ("total", "kvm")}
            after = {s: latency.get(("kvm-userfault-populated", s)) for s in ("total", "kvm")}
            if all(before.values()) and all(after.values()):
                eb = per_page_stat(stats, "kvm-userfault-refault", "exits")
                ea = per_page_stat(stats, "kvm-userfault-populated", "exits")
                w("Before and after the access is resolved on re-entry, in this run: "
                  "kvm-userfault-refault cancels the resolution with a register read "
                  "before each KVM_RUN, so the guest faults on each page twice; "
                  "kvm-userfault-populated is the same without the read.  p50 total "
                  f"{us(before['total']['p50'])} → {us(after['total']['p50'])} µs, "
                  f"KVM's part {us(before['kvm']['p50'])} → {us(after['kvm']['p50'])} µs"
                  + (f", guest exits per page {eb:.2f} → {ea:.2f}" if eb and ea else "")
                  + ".")
                pr = {s: paired(lat_runs, ("kvm-userfault-populated", s),
                                ("kvm-userfault-refault", s)) for s in ("total", "kvm")}
                if all(pr.values()):
                    w("  Paired within each run (after / before, the median of the runs' "
                      f"ratios [range]): total {fmt_paired(pr['total'])}, KVM's part "
                      f"{fmt_paired(pr['kvm'])} over {pr['kvm'][3]} runs.")
                w("")
    if stats:
        exits = {m: re.search(r"\bexits=([\d.]+)", v) for m, v in stats.items()}
        w("Guest exits to KVM per page touched: " + ", ".join(
            f"{m} {e.group(1)}" for m, e in exits.items() if e) + ".\n")
        w("KVM statistics that moved during the walk, per page (vCPU, then VM):\n")
        for mech, s in stats.items():
            w(f"- {mech}: `{s}`")
        w("")

    tb = parse_takeback(os.path.join(results, f"{run}.log"))
    if tb:
        w("### Taking pages back (`takeback_cost`, 1 vCPU)\n")
        w("Per round, p50 over the rounds: the call(s), then the guest's walk over "
          "every page of the memslot, with the refaults and exits the call caused.  "
          "unmap = bit set + KVM_UNMAP_USERFAULT of one page; toggle = the same page "
          "taken back by clearing and setting KVM_MEM_USERFAULT; clear = the flag "
          "cleared at the end of postcopy; walk = nothing taken back.\n")
        w("| backing | method | rounds | call (µs) | walk after it (µs) | userfault exits per walk |")
        w("|---|---|---|---|---|---|")
        for (backing, name), r in tb.items():
            w(f"| {backing} | {name} | {r['n']} | {us(r['call'])} | {us(r['walk'])} | "
              f"{r['exits']:.2f} |")
        w("")
        for backing in dict.fromkeys(b for b, _ in tb):
            u, t = tb.get((backing, "unmap")), tb.get((backing, "toggle"))
            if u and t and u["call"] and u["walk"]:
                w(f"- {backing}: taking one page back with KVM_UNMAP_USERFAULT, the call "
                  f"is {t['call'] / u['call']:.1f}x cheaper than toggling the flag, and "
                  f"the walk after it {t['walk'] / u['walk']:.1f}x cheaper.")
        w("")

    w("### Failures and retries\n")
    retried = [a for a in attempts if a["result"] == "retried"]
    if not failures and not retried:
        w("None: every test passed on its first attempt.\n")
    for f in failures:
        w(f"- {f}")
    for a in retried:
        w(f"- {a['mode']} at {a['vcpus']} vCPUs, repetition {a['rep']}: passed on its second attempt")
    w("")
    return tlist


def main():
    results, runs = sys.argv[1], sys.argv[2:]
    md, body = [], []
    overview = []
    for run in runs:
        if not os.path.exists(os.path.join(results, f"{run}.log")):
            body.append(f"## {run}\n\nNo log: the run did not boot.\n")
            continue
        tl = report_run(body, results, run)
        overview.append((run, tl))
    md.append("# make bench: KVM Userfault against userfaultfd\n")
    md.append(f"Generated by `scripts/bench-report.py` on {time.strftime('%Y-%m-%d %H:%M %Z')} "
              "from the logs next to this file.  Under QEMU TCG absolute numbers mean "
              "little; the ratios within one run are what to compare.  "
              "See README.md in this directory for the analysis.\n")
    md.append("| run | target | result |")
    md.append("|---|---|---|")
    for run, tl in overview:
        for text, met in tl:
            md.append(f"| {run} | {text} | {'met' if met else '**missed**'} |")
    md.append("")
    with open(os.path.join(results, "report.md"), "w") as f:
        f.write("\n".join(md + body) + "\n")


if __name__ == "__main__":
    main()
