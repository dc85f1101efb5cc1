#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# report.py --out DIR [--build-seconds N] [--total-seconds N] CONSOLE_LOG:
# turn the BENCH lines of a `make bench` console log into DIR/results.csv
# (every repetition), DIR/results.json (min/median per variant and the
# ratios against the targets), DIR/table.txt (also printed) and PNG plots
# (gnuplot).  See Documentation/bench.rst.

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict

# A ratio row: (case, mem, label, subject (variant, metric), baseline
# (variant, metric), how the ratio is formed, target operator, target).
# "time": subject / baseline (lower is better); "speed": baseline /
# subject (a throughput ratio: higher is better).
ROWS = [
    ("populate", "guest write TOUCH vs host writes (time)",
     ("s2mmu", "sec"), ("host", "sec"), "time", "<=", 1.5),
    ("populate", "(info) guest write TOUCH vs GUP floor for write (time)",
     ("s2mmu", "sec"), ("gup-floor", "sec"), "time", None, None),
    ("populate", "(info) GUP floor for write vs host writes (time)",
     ("gup-floor", "sec"), ("host", "sec"), "time", None, None),
    ("fault", "s2mmu read TOUCH vs dmirror READ (throughput)",
     ("s2mmu-touch", "sec"), ("dmirror", "sec"), "speed", ">=", 2.0),
    ("fault", "s2mmu read TOUCH vs GUP floor (time)",
     ("s2mmu-touch", "sec"), ("gup-floor", "sec"), "time", "<=", 1.5),
    ("fault", "s2mmu read TOUCH, fault-around on, vs GUP floor (time)",
     ("s2mmu-touch-fa", "sec"), ("gup-floor", "sec"), "time", "<=", 1.5),
    ("fault", "(info) read TOUCH: fault-around on vs off (time)",
     ("s2mmu-touch-fa", "sec"), ("s2mmu-touch", "sec"), "time", None, None),
    ("fault", "(info) s2mmu PRE_FAULT vs dmirror READ (throughput)",
     ("s2mmu-prefault", "sec"), ("dmirror", "sec"), "speed", ">=", 2.0),
    ("fault", "(info) s2mmu PRE_FAULT vs GUP floor (time)",
     ("s2mmu-prefault", "sec"), ("gup-floor", "sec"), "time", "<=", 1.5),
    ("fault", "(info) s2mmu PRE_FAULT: unmapped vs mapped (time)",
     ("s2mmu-prefault", "sec"), ("s2mmu-prefault", "again_sec"), "time",
     None, None),
    ("fault", "(info) dmirror READ: first vs mirrored (time)",
     ("dmirror", "sec"), ("dmirror", "warm_sec"), "time", None, None),
    ("steady", "guest read TOUCH x4 vs host reads x4 (time)",
     ("s2mmu", "sec"), ("host", "sec"), "time", "<=", 3.0),
    ("munmap", "munmap with the VM vs without (time)",
     ("s2mmu", "sec"), ("host", "sec"), "time", "<=", 1.5),
    ("aging", "vCPU TOUCH throughput, aging vs none",
     ("s2mmu-aging", "sec"), ("s2mmu", "sec"), "speed", ">=", 0.97),
    ("aging", "aging pass time, lockless vs mmu_lock (time)",
     ("s2mmu-aging", "aging_pass_sec"), ("s2mmu-aging-locked", "aging_pass_sec"),
     "time", "<=", 0.2),
    ("aging", "(info) vCPU throughput, aging lockless vs mmu_lock",
     ("s2mmu-aging", "sec"), ("s2mmu-aging-locked", "sec"), "speed", None,
     None),
    ("aging", "(info) vCPU throughput, aging vs other vCPU spinning",
     ("s2mmu-aging", "sec"), ("s2mmu-spin", "sec"), "speed", None, None),
    ("aging", "(info) vCPU throughput, other vCPU spinning vs idle",
     ("s2mmu-spin", "sec"), ("s2mmu", "sec"), "speed", None, None),
    ("slots", "faults: 32764 slots vs 1 (time per page)",
     ("32764", "sec/pages"), ("1", "sec/pages"), "time", "<=", 1.2),
    ("slots", "(info) faults: 1024 slots vs 1 (time per page)",
     ("1024", "sec/pages"), ("1", "sec/pages"), "time", None, None),
    ("slots", "(info) faults: 64 slots vs 1 (time per page)",
     ("64", "sec/pages"), ("1", "sec/pages"), "time", None, None),
    ("slots", "(info) re-touch: 32764 slots vs 1 (time per page)",
     ("32764", "steady_sec/pages"), ("1", "steady_sec/pages"), "time",
     None, None),
    ("parallel", "(info) faults: 2 vCPUs vs 1 (throughput)",
     ("s2mmu-2", "sec"), ("s2mmu-1", "sec"), "speed", None, None),
    ("parallel", "(info) faults: 2 VMs of 1 vCPU vs 1 vCPU (throughput)",
     ("s2mmu-2vm", "sec"), ("s2mmu-1", "sec"), "speed", None, None),
    ("parallel", "(info) PRE_FAULT: 2 vCPUs vs 1 (throughput)",
     ("s2mmu-pf-2", "sec"), ("s2mmu-pf-1", "sec"), "speed", None, None),
    ("parallel", "(info) host populate: 2 threads vs 1 (throughput)",
     ("host-2", "sec"), ("host-1", "sec"), "speed", None, None),
    ("dirty", "vCPU write pass, logging (write-protect) vs off (throughput)",
     ("s2mmu-log-wp", "sec"), ("s2mmu-nolog", "sec"), "speed", None, None),
    ("dirty", "vCPU write pass, logging (Dirty bits) vs off (throughput)",
     ("s2mmu-log-dbit", "sec"), ("s2mmu-nolog", "sec"), "speed", None, None),
    ("dirty", "(info) get+clear of all memory vs one write pass, write-protect (time)",
     ("s2mmu-log-wp", "harvest_sec"), ("s2mmu-log-wp", "sec"), "time", None,
     None),
    ("dirty", "(info) get+clear of all memory, Dirty bits vs write-protect (time)",
     ("s2mmu-log-dbit", "harvest_sec"), ("s2mmu-log-wp", "harvest_sec"),
     "time", None, None),
    ("nx", "fault p99, NX recovery (read lock) vs none (time)",
     ("s2mmu-nx-read", "p99_us"), ("s2mmu-nx-off", "p99_us"), "time", "<=",
     1.5),
    ("nx", "(info) fault max, NX recovery (read lock) vs none (time)",
     ("s2mmu-nx-read", "max_us"), ("s2mmu-nx-off", "max_us"), "time", None,
     None),
    ("nx", "(info) fault p99, NX recovery (write lock) vs none (time)",
     ("s2mmu-nx-write", "p99_us"), ("s2mmu-nx-off", "p99_us"), "time", None,
     None),
    ("nx", "(info) fault max, NX recovery (write lock) vs none (time)",
     ("s2mmu-nx-write", "max_us"), ("s2mmu-nx-off", "max_us"), "time", None,
     None),
    ("nx", "(info) fault p99, NX recovery read vs write lock (time)",
     ("s2mmu-nx-read", "p99_us"), ("s2mmu-nx-write", "p99_us"), "time", None,
     None),
    ("nx", "(info) fault max, NX recovery read vs write lock (time)",
     ("s2mmu-nx-read", "max_us"), ("s2mmu-nx-write", "max_us"), "time", None,
     None),
    ("tables", "table pages vs format floor",
     ("s2mmu", "table_pages"), ("s2mmu", "floor_pages"), "time", "<=", 1.01),
    ("scale", "1 TiB: stage-2 table pages vs format floor",
     ("1t", "table_pages"), ("1t", "floor_pages"), "time", "<=", 1.01),
    ("scale", "PRE_FAULT time per GiB: 1 TiB vs 1 GiB",
     ("1t", "sec_per_gib"), ("1g", "sec_per_gib"), "time", "<=", 1.2),
    ("scale", "(info) PRE_FAULT time per GiB: 64 GiB vs 1 GiB",
     ("64g", "sec_per_gib"), ("1g", "sec_per_gib"), "time", None, None),
    ("scale", "(info) 1 TiB: PRE_FAULT vs GUP floor (time)",
     ("1t", "sec_per_gib"), ("1t", "floor_sec_per_gib"), "time", None, None),
    ("scale", "(info) 1 TiB: PRE_FAULT unmapped vs mapped (time)",
     ("1t", "sec_per_gib"), ("1t", "again_sec_per_gib"), "time", None,
     None),
    ("scale", "(info) 1 TiB: PRE_FAULT mapped vs GUP floor (time)",
     ("1t", "again_sec_per_gib"), ("1t", "floor_sec_per_gib"), "time", None,
     None),
    ("scale", "(info) 1 TiB: stage-2 vs host page-table pages",
     ("1t", "table_pages"), ("1t", "host_pt_pages"), "time", None, None),
    ("scale", "(info) 1 TiB: PRE_FAULT vs host read faults (time)",
     ("1t", "sec"), ("1t", "host_sec"), "time", None, None),
    ("scale", "(info) slot delete per GiB: 1 TiB vs 1 GiB",
     ("1t", "delete_sec_per_gib"), ("1g", "delete_sec_per_gib"), "time",
     None, None),
    ("scale", "(info) VM close per GiB: 1 TiB vs 1 GiB",
     ("1t", "close_sec_per_gib"), ("1g", "close_sec_per_gib"), "time",
     None, None),
    ("scale4k", "8 GiB: stage-2 table pages vs format floor",
     ("8g", "table_pages"), ("8g", "floor_pages"), "time", "<=", 1.01),
    ("scale4k", "(info) PRE_FAULT time per GiB: 8 GiB vs 1 GiB",
     ("8g", "sec_per_gib"), ("1g", "sec_per_gib"), "time", None, None),
    ("scale4k", "(info) 8 GiB: PRE_FAULT vs GUP floor (time)",
     ("8g", "sec_per_gib"), ("8g", "floor_sec_per_gib"), "time", None, None),
    ("scale4k", "(info) 8 GiB: PRE_FAULT unmapped vs mapped (time)",
     ("8g", "sec_per_gib"), ("8g", "again_sec_per_gib"), "time", None,
     None),
    ("scale4k", "(info) 8 GiB: stage-2 vs host page-table pages",
     ("8g", "table_pages"), ("8g", "host_pt_pages"), "time", None, None),
    ("scale4k", "(info) slot delete per GiB: 8 GiB vs 1 GiB",
     ("8g", "delete_sec_per_gib"), ("1g", "delete_sec_per_gib"), "time",
     None, None),
    ("scale4k", "(info) VM close per GiB: 8 GiB vs 1 GiB",
     ("8g", "close_sec_per_gib"), ("1g", "close_sec_per_gib"), "time",
     None, None),
]
THP_ROW = ("tables", "THP memory mapped at 2 MiB (%)",
           ("s2mmu", "pct_2m"), None, "value", ">=", 99.0)
# Values of one variant, on the memory kind the case runs: (case, label,
# (variant, metric), operator, target).
VALUE_ROWS = [
    ("scale", "(info) 1 TiB slot delete: worst scheduling latency (us)",
     ("1t", "delete_lat_us"), None, None),
    ("scale", "(info) 1 TiB VM close: worst scheduling latency (us)",
     ("1t", "close_lat_us"), None, None),
    ("scale", "(info) 1 TiB slot delete: seconds per GiB",
     ("1t", "delete_sec_per_gib"), None, None),
    ("scale", "(info) 1 TiB VM close: seconds per GiB",
     ("1t", "close_sec_per_gib"), None, None),
    ("scale", "(info) 1 TiB: worst latency, CPU idle (the floor, us)",
     ("1t", "idle_lat_us"), None, None),
    ("scale4k", "(info) 8 GiB: worst latency, CPU idle (the floor, us)",
     ("8g", "idle_lat_us"), None, None),
    ("scale4k", "(info) 8 GiB slot delete: worst scheduling latency (us)",
     ("8g", "delete_lat_us"), None, None),
    ("scale4k", "(info) 8 GiB VM close: worst scheduling latency (us)",
     ("8g", "close_lat_us"), None, None),
    ("scale4k", "(info) 8 GiB slot delete: seconds per GiB",
     ("8g", "delete_sec_per_gib"), None, None),
    ("scale4k", "(info) 8 GiB VM close: seconds per GiB",
     ("8g", "close_sec_per_gib"), None, None),
    ("footprint", "(info) KiB per VM at rest (no slot, no vCPU)",
     ("s2mmu", "kib_per_vm"), None, None),
    ("footprint", "(info) KiB per vCPU at rest",
     ("s2mmu", "kib_per_vcpu"), None, None),
    ("footprint", "(info) KiB of it: the software TLB",
     ("s2mmu", "kib_vcpu_tlb"), None, None),
    ("footprint", "(info) KiB per vCPU that has faulted: table cache, up to",
     ("s2mmu", "kib_vcpu_table_cache"), None, None),
]


def parse(path):
    runs, fails, info = [], [], {}
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip().replace("\r", "")
            i = line.find("BENCH")
            if i < 0:
                continue
            words = line[i:].split()
            if not words:
                continue
            if words[0] == "BENCH" and len(words) >= 6:
                case, mem, var, rep, sec = words[1:6]
                rec = {"case": case, "mem": mem, "variant": var,
                       "rep": int(rep), "sec": float(sec)}
                for kv in words[6:]:
                    k, _, v = kv.partition("=")
                    rec[k] = float(v)
                runs.append(rec)
            elif words[0] == "BENCH-FAIL":
                fails.append(line)
            elif words[0] in ("BENCH-KERNEL", "BENCH-CONFIG", "BENCH-THP",
                              "BENCH-END", "BENCH-MEM", "BENCH-CLOCK"):
                info[words[0]] = " ".join(words[1:])
            elif words[0] == "BENCH-INSMOD":
                info.setdefault("BENCH-INSMOD", []).append(" ".join(words[1:]))
    return runs, fails, info


def metric(rec, m):
    if "/" in m:
        a, b = m.split("/")
        return rec[a] / rec[b]
    return rec[m]


def stats(values):
    return {"min": min(values), "median": statistics.median(values),
            "max": max(values), "n": len(values)}


def fmt(v, m):
    if m == "speedup":
        return "%.2fx" % v
    if m.startswith("kib_"):
        return "%.1f KiB" % v
    if m.endswith("per_gib"):
        return "%.4f s/GiB" % v
    if m.endswith("_us"):
        return "%.0f us" % v
    if m.endswith("/pages"):
        return "%.0f ns/pg" % (v * 1e9)
    if m.endswith("sec"):
        return "%.3f s" % v
    if m.startswith("pct") or m.endswith("pct"):
        return "%.1f %%" % v
    return "%.0f" % v


def ratios(runs):
    by = defaultdict(dict)  # (case, mem) -> {(var, rep): rec}
    for r in runs:
        by[(r["case"], r["mem"])][(r["variant"], r["rep"])] = r
    out = []
    value_rows = [(c, label, subj, None, "value", op, target)
                  for c, label, subj, op, target in VALUE_ROWS]
    for case, label, subj, base, kind, op, target in \
            ROWS + [THP_ROW] + value_rows:
        for mem in ("4k", "thp"):
            recs = by.get((case, mem))
            if not recs:
                continue
            if kind == "value" and case == "tables" and mem != "thp":
                continue
            reps = sorted({rep for (_, rep) in recs})
            sv, bv, rv = [], [], []
            for rep in reps:
                s = recs.get((subj[0], rep))
                b = recs.get((base[0], rep)) if base else None
                if s is None or (base and b is None):
                    continue
                try:
                    x = metric(s, subj[1])
                    y = metric(b, base[1]) if base else None
                except (KeyError, ZeroDivisionError):
                    continue
                sv.append(x)
                if base:
                    bv.append(y)
                    rv.append(x / y if kind == "time" else y / x)
                else:
                    rv.append(x)
            if not rv:
                continue
            ratio = statistics.median(rv)
            met = None
            if op == "<=":
                met = ratio <= target
            elif op == ">=":
                met = ratio >= target
            out.append({
                "case": case, "mem": mem, "label": label,
                "subject": subj[0], "subject_metric": subj[1],
                "subject_stats": stats(sv),
                "baseline": base[0] if base else None,
                "baseline_metric": base[1] if base else None,
                "baseline_stats": stats(bv) if bv else None,
                "ratio_kind": kind, "ratio_median": ratio,
                "ratio_min": min(rv), "ratio_max": max(rv),
                "target": ("%s %g" % (op, target)) if op else None,
                "met": met,
            })
    out += scaling(by)
    return out


def scaling(by):
    """Parallel faults: s2mmu's 2-vs-1 speedup over the host's own."""
    out = []
    for mem in ("4k", "thp"):
        recs = by.get(("parallel", mem))
        if not recs:
            continue
        rv, sv, hv = [], [], []
        for rep in sorted({rep for (_, rep) in recs}):
            r = [recs.get((v, rep)) for v in
                 ("s2mmu-1", "s2mmu-2", "host-1", "host-2")]
            if None in r:
                continue
            s = r[0]["sec"] / r[1]["sec"]
            h = r[2]["sec"] / r[3]["sec"]
            sv.append(s)
            hv.append(h)
            rv.append(s / h)
        if not rv:
            continue
        ratio = statistics.median(rv)
        out.append({
            "case": "parallel", "mem": mem,
            "label": "2 vCPUs vs 1, against the host's 2 threads vs 1",
            "subject": "s2mmu-2/s2mmu-1", "subject_metric": "speedup",
            "subject_stats": stats(sv),
            "baseline": "host-2/host-1", "baseline_metric": "speedup",
            "baseline_stats": stats(hv),
            "ratio_kind": "speed", "ratio_median": ratio,
            "ratio_min": min(rv), "ratio_max": max(rv),
            "target": ">= 0.9", "met": ratio >= 0.9,
        })
    return out


def table(rows, info, fails, build_s, total_s):
    lines = []
    lines.append("s2mmu benchmarks (%s; %s; clocksource %s)" % (
        info.get("BENCH-KERNEL", "?"), info.get("BENCH-CONFIG", "?"),
        info.get("BENCH-CLOCK", "?")))
    lines.append("ratio: median of the per-repetition ratios (subject and "
                 "baseline interleaved); time ratios lower is better,")
    lines.append("throughput ratios higher is better; figures: min / median")
    hdr = "%-9s %-3s %-52s %-25s %-25s %-15s %-8s %s" % (
        "case", "mem", "what", "subject", "baseline", "ratio [min-max]",
        "target", "")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for r in rows:
        s = r["subject_stats"]
        subj = "%s / %s" % (fmt(s["min"], r["subject_metric"]),
                            fmt(s["median"], r["subject_metric"]))
        if r["baseline_stats"]:
            b = r["baseline_stats"]
            base = "%s / %s" % (fmt(b["min"], r["baseline_metric"]),
                                fmt(b["median"], r["baseline_metric"]))
        else:
            base = "-"
        if r["ratio_kind"] == "value":
            rat = "%.4g" % r["ratio_median"]
        else:
            f3 = "%.3g" if r["ratio_max"] < 0.1 else "%.2f"
            rat = (f3 + "x [" + f3 + "-" + f3 + "]") % (
                r["ratio_median"], r["ratio_min"], r["ratio_max"])
        verdict = "" if r["met"] is None else ("met" if r["met"] else "MISSED")
        lines.append("%-9s %-3s %-52s %-25s %-25s %-15s %-8s %s" % (
            r["case"], r["mem"], r["label"][:52], subj, base, rat,
            r["target"] or "", verdict))
    for f in fails:
        lines.append("FAILED: " + f)
    lines.append("bench kernel cold build: %s s; this make bench: %s s" % (
        build_s, total_s))
    return "\n".join(lines) + "\n"


def plots(out, runs, rows, mib):
    if not shutil.which("gnuplot"):
        print("report.py: gnuplot not found, no plots", file=sys.stderr)
        return
    med = defaultdict(list)
    for r in runs:
        med[(r["case"], r["mem"], r["variant"])].append(r)

    def m(case, mem, var, key):
        recs = med.get((case, mem, var), [])
        vals = [metric(x, key) for x in recs]
        return (statistics.median(vals), min(vals)) if vals else None

    # Memory slot scaling: ns per page, faulting and re-touching.
    have = set()
    with open(os.path.join(out, "slots.dat"), "w") as f:
        f.write("# slots fault_med fault_min retouch_med retouch_min (ns/page)\n")
        for n in ("1", "64", "1024", "32764"):
            a = m("slots", "4k", n, "sec/pages")
            b = m("slots", "4k", n, "steady_sec/pages")
            if a and b:
                have.add("slots")
                f.write("%s %g %g %g %g\n" % (n, a[0] * 1e9, a[1] * 1e9,
                                              b[0] * 1e9, b[1] * 1e9))
    # Parallel scaling: pages per second against threads.
    with open(os.path.join(out, "parallel.dat"), "w") as f:
        f.write("# threads s2mmu-4k s2mmu-thp host-4k host-thp (Mpages/s)\n")
        for n in ("1", "2"):
            cols = []
            for who in ("s2mmu", "host"):
                for mem in ("4k", "thp"):
                    x = m("parallel", mem, "%s-%s" % (who, n), "sec")
                    npages = mib * 256.0
                    cols.append("%g" % (npages / x[0] / 1e6) if x else "NaN")
                    if x:
                        have.add("parallel")
            f.write("%s %s\n" % (n, " ".join(cols)))
    # Ratios against targets.
    with open(os.path.join(out, "ratios.dat"), "w") as f:
        f.write("# idx label ratio target\n")
        i = 0
        for r in rows:
            if r["target"] is None or r["ratio_kind"] == "value" or \
               r["label"].startswith("(info)"):
                continue
            tgt = float(r["target"].split()[1])
            f.write('%d "%s %s" %g %g\n' % (i, r["case"], r["mem"],
                                           r["ratio_median"], tgt))
            i += 1
            have.add("ratios")
    # One plot per data file with points (a run of some CASES has fewer).
    head = """
set terminal pngcairo size 900,560 noenhanced
set grid
set key top left
"""
    slots = """
set output '{o}/slots.png'
set title 's2mmu: memory slot scaling (4 KiB pages, slot-hopping access order)'
set logscale x 2
set xlabel 'memory slots'
set ylabel 'ns per page (median; min dashed)'
plot '{o}/slots.dat' u 1:2 w lp lw 2 t 'fault (read TOUCH)', \\
     '' u 1:3 w l dt 2 t 'fault min', \\
     '' u 1:4 w lp lw 2 t 're-touch (TLB miss walk)', \\
     '' u 1:5 w l dt 2 t 're-touch min'
unset logscale x
"""
    parallel = """
set output '{o}/parallel.png'
set title 'parallel faults: s2mmu vCPU threads vs host threads populating'
set xlabel 'threads'
set ylabel 'Mpages/s (median)'
set xtics 1
set xrange [0.8:2.2]
plot '{o}/parallel.dat' u 1:2 w lp lw 2 t 's2mmu 4k', \\
     '' u 1:3 w lp lw 2 t 's2mmu thp', \\
     '' u 1:4 w lp lw 2 t 'host 4k (populate)', \\
     '' u 1:5 w lp lw 2 t 'host thp (populate)'
"""
    ratios = """
set output '{o}/ratios.png'
set title 'ratios (median) against targets'
unset xlabel
set key top right
set autoscale
set xrange [-0.7:*]
set style fill solid 0.6
set boxwidth 0.6
set xtics rotate by -40 font ',8'
set ylabel 'ratio'
set logscale y
plot '{o}/ratios.dat' u 1:3:xtic(2) w boxes t 'measured', \\
     '' u 1:4 w p pt 7 ps 1.5 t 'target'
"""
    script = head
    for name, part in (("slots", slots), ("parallel", parallel),
                       ("ratios", ratios)):
        if name in have:
            script += part.format(o=out)
    if not have:
        return
    with open(os.path.join(out, "plots.gp"), "w") as f:
        f.write(script)
    r = subprocess.run(["gnuplot", os.path.join(out, "plots.gp")],
                       capture_output=True, text=True)
    if r.returncode:
        print("report.py: gnuplot failed:\n" + r.stderr, file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--build-seconds", default="?")
    ap.add_argument("--total-seconds", default="?")
    ap.add_argument("log")
    a = ap.parse_args()
    runs, fails, info = parse(a.log)
    if not runs:
        sys.exit("report.py: no BENCH lines in %s" % a.log)
    mib = 1024
    for kv in info.get("BENCH-CONFIG", "").split():
        if kv.startswith("mib="):
            mib = int(kv[4:])
    os.makedirs(a.out, exist_ok=True)
    keys = ["case", "mem", "variant", "rep", "sec"]
    extra = sorted({k for r in runs for k in r} - set(keys))
    with open(os.path.join(a.out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys + extra)
        w.writeheader()
        for r in runs:
            w.writerow(r)
    rows = ratios(runs)
    summary = defaultdict(list)
    for r in runs:
        summary["%s/%s/%s" % (r["case"], r["mem"], r["variant"])].append(r["sec"])
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"info": info, "failures": fails,
                   "bench_kernel_build_seconds": a.build_seconds,
                   "make_bench_seconds": a.total_seconds,
                   "seconds": {k: stats(v) for k, v in summary.items()},
                   "ratios": rows, "runs": runs}, f, indent=1)
    text = table(rows, info, fails, a.build_seconds, a.total_seconds)
    with open(os.path.join(a.out, "table.txt"), "w") as f:
        f.write(text)
    sys.stdout.write(text)
    plots(a.out, runs, rows, mib)
    print("results: %s/{results.csv,results.json,table.txt,*.png}" % a.out)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
