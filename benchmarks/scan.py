"""The parallel scans of lstm_course.scan beside the sequential loop, T = 1e3 .. 1e5, side by side in one run.

Run ``python benchmarks/scan.py`` (under a minute on 2 cores); ``--quick`` for a smoke run;
``--json PATH`` writes the table (the chapter book/part5/linear_recurrences reads
``lstm_course/data/studies/scan_benchmark.json``). Every method gets the same ``a, b`` of shape
``(T, W)`` (``W`` channels: batch times hidden units) in float32; before timing, each method's
result is checked against the loop (relative error 1e-4 in float32): a wrong answer stops the run,
except for the closed form, whose underflow at long T is the point, and the log form, whose
float32 error grows with T (the sum of log-gates it subtracts); they are marked WRONG, without a
ratio, and each row stores its relative error. Timings interleave the methods (loop, scans, loop, scans, ...) and keep
each method's best of ``--reps``, so that a burst of load on a shared machine hits all methods
alike; the ratio column is loop time / method time. Target (issue 17): at least 10x at T = 1e4
for the best scan at the default width.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

METHODS = ("sequential", "hillis_steele", "blelloch", "closed_form", "log")
LENGTHS = (1_000, 10_000, 100_000)
TARGET_T, TARGET_RATIO = 10_000, 10.0


def _threads(n: int) -> None:
    """Set the thread count before torch starts its pools (re-executing once, like bench_rnn.py)."""
    if os.environ.get("SCAN_BENCH_THREADS") != str(n):
        env = dict(os.environ, SCAN_BENCH_THREADS=str(n), OMP_NUM_THREADS=str(n), MKL_NUM_THREADS=str(n),
                   OPENBLAS_NUM_THREADS=str(n))
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def run(lengths, width: int, reps: int, seed: int = 0) -> list:
    """Rows ``dict(T, width, method, seconds, ratio)``: best-of-``reps`` seconds and loop/method."""
    import torch

    from lstm_course import scan as S

    fns = {"sequential": S.scan_sequential, "hillis_steele": S.scan_hillis_steele,
           "blelloch": S.scan_blelloch, "closed_form": S.scan_closed_form,
           "log": lambda a, b: S.scan_log(a.log(), b.log()).exp()}
    rows = []
    g = torch.Generator().manual_seed(seed)
    for T in lengths:
        a = torch.rand(T, width, generator=g) * 0.1 + 0.9  # gates in [0.9, 1): a long memory
        b = torch.rand(T, width, generator=g) + 0.01  # positive, so that the log form applies
        ref = fns["sequential"](a, b)
        correct, error = {}, {}
        for name, fn in fns.items():
            error[name] = ((fn(a, b) - ref).abs().max() / ref.abs().max()).item()
            correct[name] = error[name] < 1e-4  # nan (the closed form's underflow) is not correct
            if not correct[name] and name in ("hillis_steele", "blelloch"):
                raise SystemExit(f"{name} differs from the loop at T={T}: relative error {error[name]:.1e}")
        best = {name: float("inf") for name in fns}
        for _ in range(reps):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn(a, b)
                best[name] = min(best[name], time.perf_counter() - start)
        for name in fns:
            rows.append(dict(T=T, width=width, method=name, seconds=best[name], correct=correct[name],
                             error=error[name] if error[name] == error[name] else None,
                             ratio=best["sequential"] / best[name] if correct[name] else None))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    parser.add_argument("--widths", default="16,256", help="channels W, comma-separated (first: the target's)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="T = 100, 1000; one width; 2 repetitions")
    parser.add_argument("--json", default=None, help="write the rows and provenance to this file")
    args = parser.parse_args(argv)
    _threads(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    lengths = (100, 1000) if args.quick else tuple(int(t) for t in args.lengths.split(","))
    widths = (16,) if args.quick else tuple(int(w) for w in args.widths.split(","))
    reps = 2 if args.quick else args.reps
    rows = [row for W in widths for row in run(lengths, W, reps)]
    print(f"torch {torch.__version__}, {args.threads} threads, float32, best of {reps}; ratio = loop / method")
    print(f"{'W':>5} {'T':>7} " + " ".join(f"{m:>22}" for m in METHODS))
    for W in widths:
        for T in lengths:
            cells = {r["method"]: r for r in rows if r["T"] == T and r["width"] == W}
            print(f"{W:5d} {T:7d} " + " ".join(
                f"{cells[m]['seconds'] * 1e3:10.2f} ms {cells[m]['ratio']:7.1f}x" if cells[m]["correct"]
                else f"{cells[m]['seconds'] * 1e3:10.2f} ms {'WRONG':>8s}" for m in METHODS))
    if TARGET_T in lengths:
        best = max((r for r in rows if r["T"] == TARGET_T and r["width"] == widths[0] and
                    r["method"] != "sequential" and r["correct"]), key=lambda r: r["ratio"])
        verdict = "met" if best["ratio"] >= TARGET_RATIO else "MISSED"
        print(f"target: best scan at T={TARGET_T}, W={widths[0]}: {best['method']} {best['ratio']:.1f}x "
              f"(target {TARGET_RATIO:.0f}x): {verdict}")
    if args.json:
        provenance = dict(torch=torch.__version__, python=platform.python_version(), threads=args.threads,
                          machine=platform.machine(), reps=reps,
                          cpu=next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                                    if line.startswith("model name")), platform.processor())
                          if os.path.exists("/proc/cpuinfo") else platform.processor(),
                          date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                          command="python benchmarks/scan.py " + " ".join(sys.argv[1:]))
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(dict(name="scan_benchmark", provenance=provenance, rows=rows), f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
