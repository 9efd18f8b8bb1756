"""Paired difference of two localizers per generator, from a run's per_image.jsonl.

    python3 scripts/paired_by_generator.py RUN_DIR deeplabv3 resampling [--metric coss]

For each generator: mean of (A − B) over the fake images both scored in the clean condition,
with a 95 % percentile-bootstrap interval (2000 resamples, seed 0). The run's report.md has the
same comparison over all fakes; this breaks it down by generator (docs/reproduction.md, RQ3).
"""
import argparse
import json
import pathlib

import numpy as np

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("run", type=pathlib.Path)
ap.add_argument("a")
ap.add_argument("b")
ap.add_argument("--metric", default="coss")
ap.add_argument("--condition", default="clean")
args = ap.parse_args()

scores = {}
for line in open(args.run / "per_image.jsonl"):
    row = json.loads(line)
    if row["condition"] == args.condition and row[args.metric] is not None:
        scores[(row["localizer"], row["id"])] = (row["generator"], row[args.metric])
rng = np.random.default_rng(0)
by_generator = {}
for (loc, image), (generator, value) in scores.items():
    if loc == args.a and (args.b, image) in scores:
        by_generator.setdefault(generator, []).append(value - scores[(args.b, image)][1])
for generator, diffs in sorted(by_generator.items()):
    d = np.array(diffs)
    boot = d[rng.integers(0, len(d), (2000, len(d)))].mean(axis=1)
    low, high = np.percentile(boot, [2.5, 97.5])
    print(f"{generator:16s} {args.metric} {args.a} − {args.b}: {d.mean():+.3f} [{low:+.3f}, {high:+.3f}]  n={len(d)}")
