"""Save every diagram of `lstm_course.diagrams` as a PNG, to look at them (the PNGs are not committed).

Usage: python tools/draw_diagrams.py FOLDER [--dpi DPI]

Writes lstm_cell.png, lstm_cell_backward.png and unrolled_<kind>.png for every kind of unrolled
network into FOLDER (created if missing), at the book's width and by default its resolution.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # this checkout's lstm_course
from lstm_course import diagrams  # noqa: E402


def drawings():
    """(file name, function that draws it) for every diagram."""
    yield "lstm_cell.png", lambda: diagrams.draw_lstm_cell()
    yield "lstm_cell_backward.png", lambda: diagrams.draw_lstm_cell(backward=True)
    for kind in diagrams.KINDS:
        yield f"unrolled_{kind}.png", lambda kind=kind: diagrams.draw_unrolled(kind=kind)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=pathlib.Path, help="where to write the PNGs")
    parser.add_argument("--dpi", type=int, default=100, help="resolution in dots per inch (default 100, the book's)")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    for name, draw in drawings():
        ax = draw()
        ax.figure.savefig(args.folder / name, dpi=args.dpi)
        plt.close(ax.figure)
        print(args.folder / name)


if __name__ == "__main__":
    main()
