#!/usr/bin/env python3
"""Prints a markdown table of one metric from a run's results.json: a row per condition (or per
category with --by category), a column per localizer, "mean [ci_low, ci_high]" in each cell.

    python3 scripts/results_table.py RUN_DIR --metric auc [--gamma] [--localizers a,b]
        [--by condition|category] [--condition clean] [--digits 3]

--gamma reads γ (% of clean) instead of the aggregates. docs/reproduction.md's tables are made
with it, so the numbers there are the run's, not retyped.
"""
import argparse
import json
import pathlib
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=pathlib.Path, help="run directory (holds results.json)")
    parser.add_argument("--metric", required=True)
    parser.add_argument("--gamma", action="store_true", help="γ (%% of clean) instead of values")
    parser.add_argument("--localizers", help="comma-separated, in column order (default: all)")
    parser.add_argument("--by", choices=["condition", "category"], default="condition")
    parser.add_argument("--condition", default="clean", help="with --by category")
    parser.add_argument("--digits", type=int, help="decimals (default 3, γ 0)")
    args = parser.parse_args()

    path = args.run / "results.json"
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        sys.exit(f"error: {path}: {e}")
    entries = results["gamma" if args.gamma else "aggregates"]
    entries = [e for e in entries if e["metric"] == args.metric]
    if args.by == "condition":
        entries = [e for e in entries if e["category"] == "all"]
        row_of = lambda e: e["condition"]
    else:
        entries = [e for e in entries if e["condition"] == args.condition]
        row_of = lambda e: e["category"]
    if not entries:
        sys.exit(f"error: {path}: no {'γ of ' if args.gamma else ''}{args.metric} entries")
    localizers = (
        args.localizers.split(",")
        if args.localizers
        else list(dict.fromkeys(e["localizer"] for e in entries))
    )
    digits = args.digits if args.digits is not None else (0 if args.gamma else 3)
    rows = list(dict.fromkeys(row_of(e) for e in entries))
    cell = {(row_of(e), e["localizer"]): e for e in entries}

    def fmt(e):
        if e is None:
            return "–"
        return f"{e['mean']:.{digits}f} [{e['ci_low']:.{digits}f}, {e['ci_high']:.{digits}f}]"

    print(f"| {args.by} | " + " | ".join(localizers) + " |")
    print("|---" * (len(localizers) + 1) + "|")
    for row in rows:
        print(f"| {row} | " + " | ".join(fmt(cell.get((row, l))) for l in localizers) + " |")


if __name__ == "__main__":
    main()
