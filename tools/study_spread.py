"""Re-run a sample of a study's rows under several CPU kernel profiles and print how far they spread.

Usage: python tools/study_spread.py [--rows sample|all] [--profile NAME ...] [--out FILE.json]

A training run's last digits belong to the CPU's kernels (vector width, BLAS code path, thread
count), and a long run amplifies them. This measures by how much, to set the tolerance of
tests/test_studies.py: every profile runs in its own process (the variables must be set before
torch loads), one run after another, and each row is compared with the committed results file.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's lstm_course
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))

from output_spread import PROFILES  # noqa: E402  (the kernel profiles of the notebooks' measurements)

CHILD = """
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
from lstm_course.studies import load_results, run_job
config = load_results("long_range")["config"]
rows = [run_job(*job, config=config) for job in json.loads(sys.argv[2])]
print(json.dumps(rows))
"""


def run_profile(env: dict, jobs: list) -> list:
    """The rows of ``jobs`` computed in a fresh process with the profile ``env`` (and its threads)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    threads = env.get("OMP_NUM_THREADS", "1")
    out = subprocess.run([sys.executable, "-c", CHILD, threads, json.dumps(jobs)], env=full_env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", choices=["sample", "all"], default="sample",
                        help="the test's sample (default) or every row of the study")
    parser.add_argument("--profile", action="append", choices=list(PROFILES),
                        help="a profile to run (repeat for several; default: all)")
    parser.add_argument("--out", default=None, help="also write every profile's rows to this JSON file")
    args = parser.parse_args()
    from lstm_course.studies import load_results, row_key
    from test_studies import SAMPLE

    committed = {row_key(r): r for r in load_results("long_range")["rows"]}
    jobs = [list(job) for job in (SAMPLE if args.rows == "sample" else committed)]
    found = {}
    for name in args.profile or PROFILES:
        found[name] = run_profile(PROFILES[name], jobs)
        print(f"{name}: {sum(r['seconds'] for r in found[name]):.1f} s", flush=True)
    print(f"\n{'row':28s} {'profile':20s} {'solved':>7s} {'step':>5s} {'final loss':>11s} "
          f"{'rel. diff':>9s} {'first eval diff':>15s} {'evals equal':>11s}")
    for i, job in enumerate(jobs):
        ref = committed[tuple(job)]
        for name, rows in found.items():
            r = rows[i]
            diffs = [abs(a - b) / abs(b) for a, b in zip(r["eval_loss"], ref["eval_loss"])]
            equal = next((k for k, d in enumerate(diffs) if d > 1e-5), len(diffs))
            print(f"{str(tuple(job)):28s} {name:20s} {str(r['solved']):>7s} {str(r['solved_step']):>5s} "
                  f"{r['final_eval_loss']:11.5g} {abs(r['final_eval_loss'] / ref['final_eval_loss'] - 1):9.2e} "
                  f"{diffs[0]:15.2e} {equal:5d} of {len(diffs):<3d}")
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(found, indent=1))


if __name__ == "__main__":
    main()
