"""Compares two Hive-partitioned directories of JSON-lines part files row for row.

Each row is normalised: its partition directories (`date=2026-11-27/hour=10`) become fields, numbers are
read as exact decimals, RFC 3339 / ISO-8601 timestamps become epoch milliseconds, and fields named with
--approx (doubles, whose last digits depend on summation order) must agree to a relative 1e-9.
Everything else must be equal: the two sides are compared as multisets of rows. Hidden files (in-progress parts) are ignored.

usage: compare_outputs.py LEFT_DIR RIGHT_DIR [--approx FIELD ...]
"""
import argparse
import collections
import json
import math
import os
import re
import sys
from datetime import datetime
from decimal import Decimal

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def normalise(value, approx):
    if isinstance(value, str) and TIMESTAMP.match(value):
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return ("ts", round(stamp.timestamp() * 1000))
    if isinstance(value, Decimal):
        return ("approx", float(value)) if approx else ("num", value.normalize())
    return ("val", value)


def rows(directory, approx):
    found = collections.Counter()
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        partition = [tuple(p.split("=", 1)) for p in os.path.relpath(root, directory).split(os.sep) if "=" in p]
        for name in files:
            if name.startswith(".") or name.startswith("_"):
                continue
            with open(os.path.join(root, name), encoding="utf-8") as f:
                for line in f:
                    if not line.strip():
                        continue
                    record = json.loads(line, parse_float=Decimal, parse_int=Decimal)
                    items = [(k, normalise(v, k in approx)) for k, v in record.items()]
                    items += [(k, ("val", v)) for k, v in partition]
                    found[tuple(sorted(items))] += 1
    return found


def exact_part(row):
    return tuple(item for item in row if item[1][0] != "approx")


def match_approx(left, right):
    """Pairs rows equal in their exact fields whose approximate fields agree; returns the unpaired ones."""
    groups = collections.defaultdict(list)
    for row, n in right.items():
        groups[exact_part(row)] += [row] * n
    unpaired = collections.Counter()
    for row, n in left.items():
        for _ in range(n):
            candidates = groups[exact_part(row)]
            near = next((c for c in candidates if all(
                math.isclose(a[1][1], b[1][1], rel_tol=1e-9) for a, b in zip(row, c) if a[1][0] == "approx")), None)
            if near is None:
                unpaired[row] += 1
            else:
                candidates.remove(near)
    rest = collections.Counter(r for rows in groups.values() for r in rows)
    return unpaired, rest


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("left")
    parser.add_argument("right")
    parser.add_argument("--approx", nargs="*", default=[])
    args = parser.parse_args()
    left = rows(args.left, set(args.approx))
    right = rows(args.right, set(args.approx))
    only_left, only_right = match_approx(left, right)
    total = sum(left.values())
    if not only_left and not only_right and total > 0:
        print(f"same: {total} rows in {args.left} and {args.right}")
        return 0
    print(f"DIFFERENT: {sum(left.values())} rows in {args.left}, {sum(right.values())} in {args.right}")
    for label, diff in (("only in " + args.left, only_left), ("only in " + args.right, only_right)):
        for row, n in list(diff.items())[:10]:
            print(f"  {label} (x{n}): {dict(row)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
