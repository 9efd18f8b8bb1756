#!/usr/bin/env python3
"""Compares two harness result documents, e.g. a merged sharded run's results.json with an
unsharded run's, and prints every path where they differ.

Usage: compare_results.py A B [--ignore KEY]...

A and B are JSON files (results.json) or JSON Lines files (per_image.jsonl, compared row by
row), chosen by the `.jsonl` suffix. Values must be equal exactly (a merged run is meant to be
identical to an unsharded one); NaN equals NaN. What may legitimately differ between two runs
of one suite is ignored: the constants below list it (--help prints them).

Exit status: 0 equal, 1 different, 2 usage error or unreadable/invalid input.
"""
import json
import math
import sys

# Top-level keys of results.json that describe how and where a run happened, not what it found:
# the environment (OS, threads, start/end time, wall seconds), the timing (where the time went), a
# shard's record and the list of shards a merged run was made from.
IGNORED_TOP_LEVEL_KEYS = {"environment", "timing", "shard", "merged_from"}


def describe(value):
    text = json.dumps(value, sort_keys=True, allow_nan=True)
    return text if len(text) <= 120 else text[:117] + "..."


def compare(a, b, path, diffs, top_level=False, ignored_top=frozenset()):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if top_level and key in ignored_top:
                continue
            sub = f"{path}.{key}"
            if key not in b:
                diffs.append(f"{sub}: only in A ({describe(a[key])})")
            elif key not in a:
                diffs.append(f"{sub}: only in B ({describe(b[key])})")
            else:
                compare(a[key], b[key], sub, diffs)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            diffs.append(f"{path}: length {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            compare(x, y, f"{path}[{i}]", diffs)
        for i in range(len(b), len(a)):
            diffs.append(f"{path}[{i}]: only in A ({describe(a[i])})")
        for i in range(len(a), len(b)):
            diffs.append(f"{path}[{i}]: only in B ({describe(b[i])})")
    else:
        # bool is an int in Python: compare types too, so true != 1.
        same_type = type(a) is type(b) or (
            isinstance(a, (int, float)) and isinstance(b, (int, float))
            and not isinstance(a, bool) and not isinstance(b, bool))
        both_nan = isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
        if not both_nan and (not same_type or a != b):
            diffs.append(f"{path}: {describe(a)} != {describe(b)}")


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            if path.endswith(".jsonl"):
                return [json.loads(line) for line in f if line.strip()]
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"compare_results.py: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(2)


def main(argv):
    files, ignored = [], set(IGNORED_TOP_LEVEL_KEYS)
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            print(__doc__.strip())
            print(f"\nIgnored top-level keys: {', '.join(sorted(IGNORED_TOP_LEVEL_KEYS))}")
            return 0
        if arg == "--ignore":
            if not args:
                print("compare_results.py: --ignore needs a KEY", file=sys.stderr)
                return 2
            ignored.add(args.pop(0))
        elif arg.startswith("--ignore="):
            ignored.add(arg.split("=", 1)[1])
        elif arg.startswith("-"):
            print(f"compare_results.py: unknown option {arg}", file=sys.stderr)
            return 2
        else:
            files.append(arg)
    if len(files) != 2:
        print("usage: compare_results.py A B [--ignore KEY]...", file=sys.stderr)
        return 2
    a, b = (load(f) for f in files)
    diffs = []
    if isinstance(a, list) and isinstance(b, list):  # JSON Lines: each row is a document
        if len(a) != len(b):
            diffs.append(f"$: {len(a)} rows != {len(b)} rows")
        for i, (x, y) in enumerate(zip(a, b)):
            compare(x, y, f"$[{i}]", diffs, top_level=True, ignored_top=frozenset(ignored))
        for i in range(len(b), len(a)):
            diffs.append(f"$[{i}]: only in A ({describe(a[i])})")
        for i in range(len(a), len(b)):
            diffs.append(f"$[{i}]: only in B ({describe(b[i])})")
    else:
        compare(a, b, "$", diffs, top_level=True, ignored_top=frozenset(ignored))
    for d in diffs:
        print(d)
    if diffs:
        print(f"{len(diffs)} difference(s) between {files[0]} (A) and {files[1]} (B)", file=sys.stderr)
        return 1
    print(f"same: {files[0]} and {files[1]} (ignoring {', '.join(sorted(ignored))})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
