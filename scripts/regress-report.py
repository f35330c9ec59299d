#!/usr/bin/env python3
"""regress-report: the table of `make regress` (scripts/regress.sh).

Usage: regress-report.py LOGS RUN...
       regress-report.py --suspects LOGS RUN

Reads LOGS/base/RUN.log and LOGS/series/RUN.log (the TAP the guest's init
printed for the suite's plan) and writes LOGS/table.md: one row per test,
one column per run and kernel (pass, FAIL, TIMEOUT, skip, or "-" when the
guest never got to it), then the counts per run and kernel, the regressions
(passed on base, did not pass with the series) and every test that did not
pass on base with the last lines it printed (its reason).  Prints the counts
and regressions; exits 1 if there is a regression.

A test that passed on base and failed or timed out with the series is a
suspect (--suspects prints a run's suspects, one per line); regress.sh runs
each suspect again several times on both kernels (LOGS/samples/KERNEL/RUN.log).
A suspect that base also fails in some sample is flaky on base: listed with
both kernels' counts, not a regression.  A suspect that base passes in every
sample is a regression, and so is a test the series never got to run.

A kernel-log report (WARNING, BUG, ...) names the task that made it
("CPU#1: debug-exception/44", "Comm: debug-exception", the first 15
characters of the program's name): it counts as a failure of that test.  A
report with the series only makes its test a suspect, resampled like the
others, and in the samples a report from the test counts as one of its
failures; a report that names no test of the plan is a regression.
"""
import os
import re
import sys

KERNELS = ("base", "series")
COMM_LEN = 15	# TASK_COMM_LEN - 1: how much of a program's name the kernel keeps


def splat_tasks(path):
    """The task names (comm) of the kernel-log reports init echoed in one boot's log."""
    tasks = []
    if not os.path.exists(path):
        return tasks
    for line in open(path, errors="replace"):
        m = (re.match(r"# splat: .*CPU#\d+: (\S+)/\d+", line) or
             re.match(r"# splat\+? .* Comm: (\S+)", line))
        if m and m.group(1) not in tasks:
            tasks.append(m.group(1))
    return tasks


def blamed(tasks, tests):
    """The tests of the plan the reports' task names belong to; None for a task of no test."""
    out = []
    for task in tasks:
        owners = [t for t in tests if t[:COMM_LEN] == task]
        if not owners:
            return None
        out += [t for t in owners if t not in out]
    return out


def parse(path):
    """{test: (status, reason)} in plan order, from one boot's log."""
    results, tail = {}, []
    if not os.path.exists(path):
        return results
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("# === "):
            tail = []
            continue
        m = re.match(r"(not )?ok \d+ - (.*?)(?: # (.*))?$", line)
        if not m:
            if line.startswith("# ") and not re.match(r"# --- [\d.]+s$", line):
                tail = (tail + [line[2:].strip()])[-3:]
            continue
        kernel_log = m.group(2).startswith("kernel log")
        name = "(kernel log)" if kernel_log else m.group(2).split()[0]
        note = m.group(3) or ""
        if m.group(1):
            status = "TIMEOUT" if note.startswith("TIMEOUT") else "FAIL"
        else:
            status = "skip" if note.startswith("SKIP") else "pass"
        results[name] = (status, " / ".join(t for t in tail if t))
        tail = []
    return results


def samples(path):
    """{test: [statuses]} of a samples boot, every line counted."""
    counts = {}
    if not os.path.exists(path):
        return counts
    for line in open(path, errors="replace"):
        m = re.match(r"(not )?ok \d+ - (\S+)(?:.*? # (.*))?$", line.rstrip("\n"))
        if not m or m.group(2) == "kernel":
            continue
        status = "fail" if m.group(1) else ("skip" if (m.group(3) or "").startswith("SKIP") else "pass")
        counts.setdefault(m.group(2), []).append(status)
    # A kernel-log report is one more failure of the test whose task made it.
    for t in blamed(splat_tasks(path), list(counts)) or []:
        counts[t].append("fail")
    return counts


def suspects(res_base, res_series, splats=()):
    """Tests that passed on base and failed (or timed out) with the series,
    or to which a kernel-log report the series alone made is blamed."""
    out = [t for t, (s, _) in res_series.items()
           if s in ("FAIL", "TIMEOUT") and t != "(kernel log)"
           and res_base.get(t, ("-", ""))[0] == "pass"]
    if res_series.get("(kernel log)", ("-", ""))[0] == "FAIL" and \
       res_base.get("(kernel log)", ("-", ""))[0] == "pass":
        out += [t for t in blamed(splats, list(res_series)) or [] if t not in out]
    return out


def main():
    if sys.argv[1] == "--suspects":
        logs, run = sys.argv[2], sys.argv[3]
        res = {k: parse(os.path.join(logs, k, f"{run}.log")) for k in KERNELS}
        splats = splat_tasks(os.path.join(logs, "series", f"{run}.log"))
        print("\n".join(suspects(res["base"], res["series"], splats)))
        return 0
    logs, runs = sys.argv[1], sys.argv[2:]
    res = {(k, r): parse(os.path.join(logs, k, f"{r}.log")) for r in runs for k in KERNELS}
    smp = {(k, r): samples(os.path.join(logs, "samples", k, f"{r}.log")) for r in runs for k in KERNELS}
    tests = []
    for r in runs:
        for k in KERNELS:
            tests += [t for t in res[(k, r)] if t not in tests]

    out = ["# make regress: the upstream KVM selftests, unpatched base against the series\n"]
    cols = [f"{r} {k}" for r in runs for k in KERNELS]
    out.append("| test | " + " | ".join(cols) + " |")
    out.append("|---" * (len(cols) + 1) + "|")
    for t in tests:
        cells = [res[(k, r)].get(t, ("-", ""))[0] for r in runs for k in KERNELS]
        out.append(f"| {t} | " + " | ".join(cells) + " |")

    summary, regressions, base_bad, flaky = [], [], [], []
    for r in runs:
        ran = set(res[("base", r)]) | set(res[("series", r)])
        for k in KERNELS:
            st = [s for s, _ in res[(k, r)].values()]
            summary.append(f"{r} {k}: {st.count('pass')} passed, "
                           f"{st.count('FAIL') + st.count('TIMEOUT')} failed "
                           f"({st.count('TIMEOUT')} timeouts), {st.count('skip')} skipped, "
                           f"{sum(1 for t in ran if t not in res[(k, r)])} not run")
        splats = splat_tasks(os.path.join(logs, "series", f"{r}.log"))
        sus = suspects(res[("base", r)], res[("series", r)], splats)
        for t in tests:
            b = res[("base", r)].get(t, ("-", ""))
            s = res[("series", r)].get(t, ("-", ""))
            if b[0] not in ("pass", "skip", "-"):
                base_bad.append(f"{r}: {t}: {b[0]} on base ({b[1] or 'no output'})")
            if b[0] != "pass" or s[0] == "pass":
                continue
            if s[0] == "-":
                regressions.append(f"{r}: {t}: never run with the series")
                continue
            # A kernel-log report is judged as a failure of the tests it is blamed on.
            owners = blamed(splats, list(res[("series", r)])) if t == "(kernel log)" else [t]
            if owners is None or (t == "(kernel log)" and not owners):
                regressions.append(f"{r}: {t}: {s[0]} with the series, from a task of no "
                                   f"test ({', '.join(splats) or 'unnamed'}: {s[1]})")
                continue
            for o in owners:
                if o not in sus:
                    regressions.append(f"{r}: {t}: {s[0]} with the series ({s[1]})")
                    continue
                what = f"{o} (its kernel-log report)" if o != t else t
                bs, ss = smp[("base", r)].get(o, []), smp[("series", r)].get(o, [])
                # A skipped sample ran nothing: it is not a run of the test.
                runs = {k: len(n) - n.count("skip") + 1 for k, n in (("base", bs), ("series", ss))}
                counts = (f"base failed {bs.count('fail')} of {runs['base']} runs, "
                          f"series {ss.count('fail') + 1} of {runs['series']} runs")
                skips = [f"{k} {n.count('skip')}" for k, n in (("base", bs), ("series", ss))
                         if n.count("skip")]
                if skips:
                    counts += f" (samples that skipped: {', '.join(skips)})"
                if bs.count("fail") > 0:
                    flaky.append(f"{r}: {what}: flaky on base: {counts} ({s[1]})")
                else:
                    regressions.append(f"{r}: {what}: {s[0]} with the series; {counts} ({s[1]})")

    out.append("\n## Counts\n")
    out += [f"- {s}" for s in summary]
    out.append("\n## Regressions (pass on base, not with the series)\n")
    out += [f"- {x}" for x in regressions] or ["None."]
    out.append("\n## Passed on base, failed with the series, and flaky on base too (resampled)\n")
    out += [f"- {x}" for x in flaky] or ["None."]
    out.append("\n## Not passing on base (under TCG), with the last lines they printed\n")
    out += [f"- {x}" for x in base_bad] or ["None."]
    with open(os.path.join(logs, "table.md"), "w") as f:
        f.write("\n".join(out) + "\n")

    for s in summary:
        print(s)
    for x in flaky:
        print(f"FLAKY ON BASE: {x}")
    for x in regressions:
        print(f"REGRESSION: {x}")
    print(f"table: {os.path.join(logs, 'table.md')}")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
