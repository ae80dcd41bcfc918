"""Grouping accuracy of template discovery against drain3: ``python bench/templates_ga.py``.

Needs drain3 for the comparison (``pip install drain3``; ``--no-drain`` skips it).

For each of the 10 systems it reads the ``Content`` column of
``<S>_2k.log_structured.csv`` and the corrected labels of Khan et al. (ICSE 2022)
from ``<S>_2k.log_labels_corrected.csv``, feeds the lines in file order to

* drain3 0.9.11 with its defaults (``TemplateMiner()`` without a config file,
  ``add_log_message``; group = ``cluster_id``), and
* auracodec's ``TemplateMiner()`` with its default parameters (the same for every
  system; group = the id returned by ``add``, followed through later merges
  with ``resolve``),

and prints grouping accuracy (GA, Zhu et al., ICSE-SEIP 2019) per system and on
average (for the miner also "online" GA, taking the id ``add`` returned at the
time without following later merges), the median wall time of one ``add``
call for both, and, for the miner only, GA on the raw full lines (header
included) and the median time of a strict ``match`` of the same lines after
learning.

Usage:  python bench/templates_ga.py [--corpus DIR] [--systems A,B] [--no-drain] [--no-raw]

Writes bench/results/templates_ga.json. The logs are loghub's (Zhu et al.,
ISSRE 2023, https://github.com/logpai/loghub), with the corrected labels of
Khan et al., ICSE 2022.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import statistics
import time
from collections import Counter, defaultdict

from _common import CORPUS, LOG_SYSTEMS, write

from auracodec.plugins.binary_semantic import miner

DEFAULT_CORPUS = str(CORPUS / "logs")


def load(corpus: str, system: str):
    """Content lines, raw lines and corrected labels, aligned by LineId."""
    base = os.path.join(corpus, system, system + "_2k.log")
    with open(base + "_structured.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with open(base + "_labels_corrected.csv", newline="", encoding="utf-8") as f:
        labels = {r["LineId"]: r["EventId"] for r in csv.DictReader(f)}
    with open(base, encoding="utf-8", newline="") as f:
        raw = f.read().split("\r\n")
    if raw and raw[-1] == "":
        raw.pop()
    if len(raw) != len(rows):
        raise SystemExit(f"{system}: {len(raw)} raw lines but {len(rows)} structured rows")
    contents = [r["Content"] for r in rows]
    truth = [labels[r["LineId"]] for r in rows]
    return contents, raw, truth


def grouping_accuracy(pred, truth) -> float:
    """Fraction of messages whose predicted group is exactly their true group."""
    true_size = Counter(truth)
    groups = defaultdict(list)
    for i, p in enumerate(pred):
        groups[p].append(i)
    ok = 0
    for members in groups.values():
        labels = {truth[i] for i in members}
        if len(labels) == 1 and true_size[truth[members[0]]] == len(members):
            ok += len(members)
    return ok / len(truth)


def run_miner(lines):
    m = miner.TemplateMiner()
    clock = time.perf_counter_ns
    ids, times = [], []
    for line in lines:
        t0 = clock()
        ids.append(m.add(line))
        times.append(clock() - t0)
    pred = [m.resolve(i) for i in ids]
    m.online_ids = ids
    match_times = []
    for line in lines:
        t0 = clock()
        m.match(line)
        match_times.append(clock() - t0)
    return m, pred, times, match_times


def run_drain(lines):
    from drain3 import TemplateMiner as Drain3

    d = Drain3()
    clock = time.perf_counter_ns
    ids, times = [], []
    for line in lines:
        t0 = clock()
        r = d.add_log_message(line)
        times.append(clock() - t0)
        ids.append(r["cluster_id"])
    return ids, times


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    ap.add_argument("--systems", default=",".join(LOG_SYSTEMS))
    ap.add_argument("--no-drain", action="store_true")
    ap.add_argument("--no-raw", action="store_true")
    args = ap.parse_args(argv)
    logging.disable(logging.CRITICAL)  # drain3 logs every new cluster at INFO

    systems = args.systems.split(",")
    rows = []
    all_m, all_d, all_match, all_raw, all_raw150 = [], [], [], [], []
    for s in systems:
        contents, raw, truth = load(args.corpus, s)
        m, pred, tm, tmatch = run_miner(contents)
        all_m += tm
        all_match += tmatch
        row = {
            "system": s,
            "true": len(set(truth)),
            "ga": grouping_accuracy(pred, truth),
            "online": grouping_accuracy(m.online_ids, truth),
            "n": len(m.clusters),
            "t_med": statistics.median(tm) / 1000,
            "t_match": statistics.median(tmatch) / 1000,
        }
        if not args.no_drain:
            dpred, td = run_drain(contents)
            all_d += td
            row.update(
                d_ga=grouping_accuracy(dpred, truth),
                d_n=len(set(dpred)),
                d_t_med=statistics.median(td) / 1000,
            )
        if not args.no_raw:
            m2, pred2, tr, _ = run_miner(raw)
            all_raw += tr
            all_raw150 += [
                t for t, line in zip(tr, raw, strict=False) if 120 <= len(line.encode()) <= 180
            ]
            row.update(raw_ga=grouping_accuracy(pred2, truth), raw_n=len(m2.clusters))
        rows.append(row)

    def f(v):
        return f"{v:.4f}"

    head = ["system", "events", "miner GA", "(online)", "clusters", "us/add"]
    if not args.no_drain:
        head += ["drain3 GA", "clusters", "us/add"]
    if not args.no_raw:
        head += ["miner GA raw lines", "clusters"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for r in rows:
        cells = [
            r["system"],
            str(r["true"]),
            f(r["ga"]),
            f(r["online"]),
            str(r["n"]),
            "{:.1f}".format(r["t_med"]),
        ]
        if not args.no_drain:
            cells += [f(r["d_ga"]), str(r["d_n"]), "{:.1f}".format(r["d_t_med"])]
        if not args.no_raw:
            cells += [f(r["raw_ga"]), str(r["raw_n"])]
        print("| " + " | ".join(cells) + " |")
    avg = [
        "**average**",
        "",
        "**{}**".format(f(statistics.mean(r["ga"] for r in rows))),
        f(statistics.mean(r["online"] for r in rows)),
        "",
        "%.1f" % (statistics.median(all_m) / 1000),
    ]
    if not args.no_drain:
        avg += [
            "**{}**".format(f(statistics.mean(r["d_ga"] for r in rows))),
            "",
            "%.1f" % (statistics.median(all_d) / 1000),
        ]
    if not args.no_raw:
        avg += [f(statistics.mean(r["raw_ga"] for r in rows)), ""]
    print("| " + " | ".join(avg) + " |")
    print()
    print("median time per message over all systems (microseconds):")
    print("  miner add (Content):        %.1f" % (statistics.median(all_m) / 1000))
    print("  miner match, strict:        %.1f" % (statistics.median(all_match) / 1000))
    if all_raw:
        print("  miner add (raw full lines): %.1f" % (statistics.median(all_raw) / 1000))
        print(
            f"  miner add (raw lines of 120-180 bytes, n={len(all_raw150)}): "
            f"{statistics.median(all_raw150) / 1000:.1f}"
        )
    if all_d:
        print("  drain3 add_log_message:     %.1f" % (statistics.median(all_d) / 1000))
    summary = {
        "systems": rows,
        "average_ga": statistics.mean(r["ga"] for r in rows),
        "average_online_ga": statistics.mean(r["online"] for r in rows),
        "median_add_us": statistics.median(all_m) / 1000,
        "median_match_us": statistics.median(all_match) / 1000,
    }
    if not args.no_drain:
        summary["drain3_average_ga"] = statistics.mean(r["d_ga"] for r in rows)
        summary["drain3_median_add_us"] = statistics.median(all_d) / 1000
    if not args.no_raw:
        summary["average_ga_raw_lines"] = statistics.mean(r["raw_ga"] for r in rows)
    print("wrote", write("templates_ga.json", summary))


if __name__ == "__main__":
    main()
