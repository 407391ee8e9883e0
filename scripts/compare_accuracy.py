#!/usr/bin/env python3
"""Compares the final test accuracy of training runs with a reference.

    compare_accuracy.py --cpu CSV --runs DIR [DIR ...] [--points P]
    compare_accuracy.py --selftest

CSV has a row per seed (columns seed, test_accuracy, ...; the CPU's runs of
the default recipe, bench/results/mnist/cpu-seeds.csv). Each DIR is an
ember-mnist run directory; its metrics.csv's last row gives the run's final
test accuracy and its median samples/s. Prints a markdown table, and exits 1
when the runs' mean accuracy is more than P points (default 0.3) from the
reference's mean. scripts/gpu_check.sh's train step uses it on the GPU runs.
"""
import argparse
import csv
import os
import statistics
import sys
import tempfile


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run_summary(run_dir):
    rows = read_rows(os.path.join(run_dir, "metrics.csv"))
    if not rows:
        raise SystemExit(f"compare_accuracy.py: {run_dir}/metrics.csv has no epochs")
    speeds = [float(r["samples_per_second"]) for r in rows]
    return float(rows[-1]["test_accuracy"]), statistics.median(speeds), len(rows)


def compare(cpu_csv, run_dirs, points, out=sys.stdout):
    cpu = [float(r["test_accuracy"]) for r in read_rows(cpu_csv)]
    runs = [run_summary(d) for d in run_dirs]
    cpu_mean = statistics.mean(cpu)
    run_mean = statistics.mean(a for a, _, _ in runs)
    diff = 100 * (run_mean - cpu_mean)
    ok = abs(diff) <= points
    print("| run | epochs | final test accuracy | samples/s (median epoch) |", file=out)
    print("| --- | --- | --- | --- |", file=out)
    for d, (acc, speed, epochs) in zip(run_dirs, runs):
        print(f"| {os.path.basename(d.rstrip('/'))} | {epochs} | {100 * acc:.2f}% | {speed:.0f} |", file=out)
    print(f"| reference mean ({len(cpu)} runs, {os.path.basename(cpu_csv)}) | | {100 * cpu_mean:.2f}% | |", file=out)
    print(file=out)
    verdict = "within" if ok else "NOT within"
    print(f"Mean of {len(runs)} runs {100 * run_mean:.2f}% against {100 * cpu_mean:.2f}%: "
          f"{diff:+.2f} points, {verdict} {points} points.", file=out)
    return ok


def selftest():
    with tempfile.TemporaryDirectory() as tmp:
        ref = os.path.join(tmp, "ref.csv")
        with open(ref, "w") as f:
            f.write("seed,test_accuracy\n0,0.990\n1,0.988\n2,0.992\n")

        def run(name, acc):
            d = os.path.join(tmp, name)
            os.makedirs(d)
            with open(os.path.join(d, "metrics.csv"), "w") as f:
                f.write("epoch,test_accuracy,samples_per_second\n1,0.5,100\n2,%s,300\n" % acc)
            return d

        null = open(os.devnull, "w")
        close = [run("a", 0.991), run("b", 0.987), run("c", 0.990)]  # mean 0.98933: -0.07 points
        far = [run("d", 0.985), run("e", 0.985), run("f", 0.984)]    # mean 0.98467: -0.53 points
        assert compare(ref, close, 0.3, null), "runs 0.07 points off must pass at 0.3"
        assert not compare(ref, far, 0.3, null), "runs 0.53 points off must fail at 0.3"
        assert compare(ref, far, 0.6, null), "... and pass at 0.6"
        assert run_summary(close[0]) == (0.991, 200, 2), "the last epoch's accuracy, the median speed"
    print("compare_accuracy.py selftest: passed")
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpu", help="reference CSV (seed, test_accuracy)")
    ap.add_argument("--runs", nargs="+", help="ember-mnist run directories")
    ap.add_argument("--points", type=float, default=0.3)
    ap.add_argument("--selftest", action="store_true")
    a = ap.parse_args()
    if a.selftest:
        return 0 if selftest() else 1
    if not a.cpu or not a.runs:
        ap.error("--cpu and --runs are required")
    return 0 if compare(a.cpu, a.runs, a.points) else 1


if __name__ == "__main__":
    sys.exit(main())
