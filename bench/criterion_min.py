#!/usr/bin/env python3
"""Per-iteration time of criterion benchmarks from their raw samples.

    python3 bench/criterion_min.py [TARGET_DIR] GROUP/BENCH [GROUP/BENCH ...]

BENCH is as criterion stores it (slashes in a benchmark's name become
underscores: `customer_token/RS256_access_token`). For each, prints the
fastest sample's time per iteration, the 10th percentile and the median,
from the last run (`new/sample.json`), and each row's ratio to the first.

On a noisy machine a neighbour's burst slows some samples but never makes
one faster: the fastest sample is the steadiest figure of a run (on this
project's machine it repeated within 2% where criterion's estimate moved by
30%). It is a different statistic from criterion's estimate; say which one
a figure is.
"""
import json
import statistics
import sys
from pathlib import Path

args = sys.argv[1:]
root = Path("target")
if args and Path(args[0]).is_dir():
    root = Path(args.pop(0))
rows = []
for bench in args:
    path = root / "criterion" / bench / "new" / "sample.json"
    data = json.loads(path.read_text())
    per = sorted(t / i for t, i in zip(data["times"], data["iters"]))
    rows.append((bench, per[0], per[len(per) // 10], statistics.median(per)))
if not rows:
    sys.exit(__doc__)
first = rows[0][1]
print(f"| benchmark | fastest sample ns/iter | p10 | median | fastest / first row's |")
print("|---|---|---|---|---|")
for bench, low, p10, med in rows:
    print(f"| {bench} | {low:,.1f} | {p10:,.1f} | {med:,.1f} | {low / first:.3f} |")
