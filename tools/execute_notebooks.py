"""Re-execute notebooks in place, top to bottom in a fresh kernel, saving outputs and widget state.

Usage: python tools/execute_notebooks.py [PATH ...]   (default: every notebook in book/ and notebooks/)

Each notebook runs with its own folder as the working directory, like nbval and the book
build, so the committed outputs are exactly what those see.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]


def all_notebooks() -> list[pathlib.Path]:
    found = []
    for folder in ("book", "notebooks"):
        found += [p for p in sorted((ROOT / folder).rglob("*.ipynb"))
                  if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts]
    return found


def execute(path: pathlib.Path, timeout: int = 600) -> float:
    """Execute one notebook in place; return the wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    elapsed = time.perf_counter() - start
    nbformat.write(nb, path)
    return elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=pathlib.Path)
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.paths] or all_notebooks()
    for path in paths:
        print(f"executing {path.relative_to(ROOT)} ...", flush=True)
        print(f"  done in {execute(path):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
