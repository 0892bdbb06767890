#!/usr/bin/env python3
"""Prints a JSON document or a sweep.csv (file or stdin) without the fields that differ between two
identical runs.

What is removed, and only that: wall-clock times and timestamps, CPU and idle seconds, rates and
the measured kernel times of a dry run,
peak RSS and whether it stayed within its estimate, the resident memory a rank held when the job
began (memory_budget.baseline_bytes) and the bounds that add it (bound_bytes, memory_bound_bytes), warnings about peak memory, and the output's
total bytes (they include the report, whose length changes with its times). Everything
else (arguments, plan, per-linear counts, calibration starts and hashes, perplexities, per-rank
block and window ranges, bytes sent) is kept, so a change in any of it changes the hash.
Output: canonical JSON (sorted keys, no whitespace); for a .csv file, the same rows without the
columns whose header names seconds.
"""
import json
import sys

# output_bytes counts the report too, whose length changes with its times.
# baseline_bytes is the resident memory measured when the job began (issue 29 item 4), and the
# bounds that include it vary with it: a measurement, not an output.
VOLATILE_KEYS = {"finished_at", "started_at", "peak_within_bound", "output_bytes", "eta", "measured",
                 "baseline_bytes", "bound_bytes", "memory_bound_bytes"}
VOLATILE_PARTS = ("seconds", "per_second", "elapsed", "rss")


def volatile(key: str) -> bool:
    lower = key.lower()
    return key in VOLATILE_KEYS or any(part in lower for part in VOLATILE_PARTS)


def clean(value):
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if not volatile(k)}
    if isinstance(value, list):
        return [clean(v) for v in value if not (isinstance(v, str) and "peak memory" in v)]
    return value


def clean_csv(text: str) -> str:
    rows = [line.split(",") for line in text.splitlines()]
    keep = [i for i, name in enumerate(rows[0]) if not volatile(name)] if rows else []
    return "\n".join(",".join(row[i] for i in keep) for row in rows)


def main() -> None:
    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
    if len(sys.argv) > 1 and sys.argv[1].endswith(".csv"):
        print(clean_csv(text))
        return
    print(json.dumps(clean(json.loads(text)), sort_keys=True, separators=(",", ":")))


if __name__ == "__main__":
    main()
