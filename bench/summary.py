"""Prints the figures of one bench/run.sh run (a directory of JSON files) as one table, and writes
them together to summary.json in that directory.

    /usr/bin/python3 bench/summary.py bench/results/<time>"""
import json
import os
import sys

from bench_common import print_table


def load(directory, name):
    path = os.path.join(directory, f"{name}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def micro_rows(micro):
    return [[b["name"], f"{b['cpu_time']:.0f} {b['time_unit']}"] for b in micro["benchmarks"]]


def load_rows(load_figures):
    rows = []
    for backend in load_figures["backends"]:
        for route, f in backend["routes"].items():
            target = f"≥{f['target_ratio']:.0%}" if "target_ratio" in f else ""
            met = {True: "yes", False: "NO", None: ""}[f["target_met"]]
            rows.append([backend["backend"], route, f"{f['rps']:.0f}", f"{f['p50_us'] / 1000:.2f}",
                         f"{f['p99_us'] / 1000:.2f}", f"{f['ratio_to_healthz']:.0%}", target, met])
    return rows


def flat(prefix, value):
    """Leaf figures of a nested JSON value as (dotted name, value)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from flat(f"{prefix}.{k}" if prefix else k, v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from flat(f"{prefix}[{i}]", v)
    else:
        yield prefix, value


def main():
    directory = sys.argv[1]
    summary = {}
    micro = load(directory, "micro")
    if micro:
        summary["micro"] = micro
        print("\nmicrobenchmarks (CPU time per call)")
        print_table(micro_rows(micro), ["benchmark", "cpu"])
    figures = load(directory, "load")
    if figures:
        summary["load"] = figures
        print("\nrequest rates at 64 connections (wrk), as a share of /healthz in the same run")
        print_table(load_rows(figures), ["backend", "route", "req/s", "p50 ms", "p99 ms", "of healthz", "target",
                                         "met"])
        rows = [[b["backend"], c["name"], f"{c['value']:.2f}", c["target"], "yes" if c["met"] else "NO"]
                for b in figures["backends"] for c in b["checks"]]
        print()
        print_table(rows, ["backend", "figure", "value", "target", "met"])
    for name in ("fs_memory", "s3_throughput", "direct_vs_proxied", "list_1m"):
        other = load(directory, name)
        if other is None:
            continue
        summary[name] = other
        print(f"\n{name}")
        print_table([[k, round(v, 2) if isinstance(v, float) else v] for k, v in flat("", other)],
                    ["figure", "value"])
    path = os.path.join(directory, "summary.json")
    with open(path, "w") as f:
        json.dump(summary, f, indent=2)
    print(f"\nall figures: {path}")


if __name__ == "__main__":
    main()
