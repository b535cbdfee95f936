"""Re-execute notebooks in place, top to bottom in a fresh kernel, saving outputs and widget state.

Usage: python tools/execute_notebooks.py [--timeout S] [PATH ...]
       (default: every notebook in book/ and notebooks/)

Each notebook runs with its own folder as the working directory, like nbval and the book
build, so the committed outputs are exactly what those see. Cell timing metadata is not recorded
(it would change every cell on every run and bury real changes in the diff). After executing,
the hygiene checks of `tools/notebook_checks.py` are printed for the notebook. A notebook whose
execution fails is left unchanged on disk; the command then exits 1 after trying the others.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from notebook_checks import all_notebooks, check_notebook  # noqa: E402


def execute(path: pathlib.Path, timeout: int = 600) -> float:
    """Execute one notebook in place; return the wall time in seconds.

    Raises nbclient's CellExecutionError (or CellTimeoutError) if a cell fails; the file on disk
    is then left as it was.
    """
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # drop timing metadata left by earlier runs or by Jupyter itself
        cell.metadata.pop("execution", None)
    # and the widget state of the last run: nbclient replaces it only when this run makes widgets
    nb.metadata.pop("widgets", None)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                            record_timing=False, resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    elapsed = time.perf_counter() - start
    nbformat.write(nb, path)
    return elapsed


def _display(path: pathlib.Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=pathlib.Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.paths] or all_notebooks()
    times, failed = {}, []
    for path in paths:
        print(f"executing {_display(path)} ...", flush=True)
        try:
            times[path] = execute(path, timeout=args.timeout)
        except (CellExecutionError, CellTimeoutError) as error:
            failed.append(path)
            print(f"  FAILED, left unchanged:\n{error}", flush=True)
            continue
        print(f"  done in {times[path]:.1f} s", flush=True)
        for problem in check_notebook(path):
            print(f"  hygiene: {problem}", flush=True)
    if len(paths) > 1:
        print("\nwall time per notebook:")
        for path, seconds in sorted(times.items(), key=lambda item: -item[1]):
            print(f"  {seconds:7.1f} s  {_display(path)}")
        print(f"  {sum(times.values()):7.1f} s  in all")
    if failed:
        print("failed: " + ", ".join(_display(p) for p in failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
