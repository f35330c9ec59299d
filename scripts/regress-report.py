#!/usr/bin/env python3
"""regress-report: the table of `make regress` (scripts/regress.sh).

Usage: regress-report.py LOGS RUN...

Reads LOGS/base/RUN.log and LOGS/series/RUN.log (the TAP the guest's init
printed for the suite's plan) and writes LOGS/table.md: one row per test,
one column per run and kernel (pass, FAIL, TIMEOUT, skip, or "-" when the
guest never got to it), then the counts per run and kernel, the regressions
(passed on base, did not pass with the series) and every test that did not
pass on base with the last lines it printed (its reason).  Prints the counts
and regressions; exits 1 if there is a regression.
"""
import os
import re
import sys

KERNELS = ("base", "series")


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


def main():
    logs, runs = sys.argv[1], sys.argv[2:]
    res = {(k, r): parse(os.path.join(logs, k, f"{r}.log")) for r in runs for k in KERNELS}
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

    summary, regressions, base_bad = [], [], []
    for r in runs:
        for k in KERNELS:
            st = [s for s, _ in res[(k, r)].values()]
            summary.append(f"{r} {k}: {st.count('pass')} passed, "
                           f"{st.count('FAIL') + st.count('TIMEOUT')} failed "
                           f"({st.count('TIMEOUT')} timeouts), {st.count('skip')} skipped, "
                           f"{sum(1 for t in tests if t not in res[(k, r)])} not run")
        for t in tests:
            b = res[("base", r)].get(t, ("-", ""))
            s = res[("series", r)].get(t, ("-", ""))
            if b[0] == "pass" and s[0] != "pass":
                regressions.append(f"{r}: {t}: {s[0]} with the series ({s[1]})")
            if b[0] not in ("pass", "skip"):
                base_bad.append(f"{r}: {t}: {b[0]} on base ({b[1] or 'no output'})")

    out.append("\n## Counts\n")
    out += [f"- {s}" for s in summary]
    out.append("\n## Regressions (pass on base, not with the series)\n")
    out += [f"- {x}" for x in regressions] or ["None."]
    out.append("\n## Not passing on base (under TCG), with the last lines they printed\n")
    out += [f"- {x}" for x in base_bad] or ["None."]
    with open(os.path.join(logs, "table.md"), "w") as f:
        f.write("\n".join(out) + "\n")

    for s in summary:
        print(s)
    for x in regressions:
        print(f"REGRESSION: {x}")
    print(f"table: {os.path.join(logs, 'table.md')}")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
