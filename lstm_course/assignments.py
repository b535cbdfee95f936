"""Student versions of the labs, and their automatic grading, with nbgrader's markers and metadata.

The committed labs hold the reference solutions between nbgrader's markers::

    def lstm_step_forward(x, h_prev, c_prev, params):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

and may hold hidden tests between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``.
A *student version* replaces every solution region by a stub that raises
``NotImplementedError`` (indented like the region, so the function's signature and
docstring stay), replaces written answers (markdown solution cells) by "YOUR ANSWER HERE",
removes hidden tests, and clears every output. This is what nbgrader's
``generate_assignment`` does, so instructors who use nbgrader can use the labs unchanged.

Usage::

    python -m lstm_course.assignments student notebooks/ student/     # every lab in notebooks/
    python -m lstm_course.assignments grade notebooks/lab3_lstm_numpy.ipynb submitted.ipynb

``grade`` restores the instructor's version of every graded cell (matched by nbgrader's
``grade_id``, hidden tests included) in the submission, runs it, and scores each graded cell
by whether it raised.
"""
from __future__ import annotations

import argparse
import copy
import json
import pathlib
import sys
import tempfile

import nbformat

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = "YOUR ANSWER HERE"


class MarkerError(ValueError):
    """The solution or hidden-test markers of a cell are unbalanced or nested."""


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def strip_cell_source(source: str, markdown: bool = False, where: str = "a cell") -> str:
    """The student's text of one cell: solution regions stubbed, hidden tests removed.

    Args:
        source: the cell's text.
        markdown: a markdown cell (its stub is :data:`MARKDOWN_STUB`).
        where: for error messages, e.g. ``"lab1_rnn.ipynb, cell 7"``.

    Raises:
        MarkerError: a region that is not closed, closed without being opened, or nested.
    """
    out, inside = [], None
    for number, line in enumerate(source.splitlines(), 1):
        marker = line.strip()
        if marker in (BEGIN_SOLUTION, BEGIN_HIDDEN):
            if inside is not None:
                raise MarkerError(f"{where}, line {number}: {marker!r} inside an open {inside!r} region")
            inside = marker
            if marker == BEGIN_SOLUTION:
                indent = line[: len(line) - len(line.lstrip())]
                out += [MARKDOWN_STUB] if markdown else [indent + stub for stub in CODE_STUB]
        elif marker in (END_SOLUTION, END_HIDDEN):
            opening = BEGIN_SOLUTION if marker == END_SOLUTION else BEGIN_HIDDEN
            if inside != opening:
                raise MarkerError(f"{where}, line {number}: {marker!r} without a matching {opening!r}")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise MarkerError(f"{where}: {inside!r} is never closed")
    return "\n".join(out)


def has_markers(source: str) -> bool:
    """True when the text holds a solution or hidden-test marker."""
    return any(line.strip() in (BEGIN_SOLUTION, BEGIN_HIDDEN) for line in source.splitlines())


def student_notebook(nb, name: str = "the notebook"):
    """Return the student version of a notebook (a new object; ``nb`` is not changed).

    A solution cell (nbgrader ``solution: true``) without markers is replaced whole, as
    nbgrader does. Outputs, execution counts and saved widget state are cleared.
    """
    if not isinstance(nb, nbformat.NotebookNode):
        raise TypeError(f"student_notebook needs a notebook read with nbformat; got {type(nb).__name__}")
    student = copy.deepcopy(nb)
    for index, cell in enumerate(student.cells):
        where = f"{name}, cell {index}"
        markdown = cell.cell_type == "markdown"
        if has_markers(cell.source):
            cell.source = strip_cell_source(cell.source, markdown, where)
        elif _nbgrader(cell).get("solution"):
            cell.source = MARKDOWN_STUB if markdown else "\n".join(CODE_STUB)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    student.metadata.pop("widgets", None)
    return student


def solution_lines(nb) -> list[str]:
    """Every line inside a solution region (or of a marker-less solution cell), stripped."""
    lines = []
    for cell in nb.cells:
        inside = False
        whole = _nbgrader(cell).get("solution") and not has_markers(cell.source)
        for line in cell.source.splitlines():
            marker = line.strip()
            if marker == BEGIN_SOLUTION:
                inside = True
            elif marker == END_SOLUTION:
                inside = False
            elif (inside or whole) and marker:
                lines.append(marker)
    return lines


def _lab_paths(src: pathlib.Path) -> list[pathlib.Path]:
    if not src.exists():
        raise FileNotFoundError(f"no such notebook or folder: {src}")
    if src.is_file():
        if src.suffix != ".ipynb":
            raise ValueError(f"expected a .ipynb notebook or a folder of them; got the file {src}")
        return [src]
    paths = sorted(p for p in src.glob("*.ipynb") if not p.name.startswith("."))
    if not paths:
        raise ValueError(f"the folder {src} holds no .ipynb notebook")
    return paths


def write_student_versions(src, out) -> list[pathlib.Path]:
    """Write the student version of every notebook in ``src`` (a folder or one notebook) into ``out``.

    Args:
        src: a ``.ipynb`` file or a folder of them (not searched recursively).
        out: the output folder; created if missing. It may not be ``src`` itself: the
            solutions would be overwritten.

    Returns:
        the paths written, one per notebook, named like their sources.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        ValueError: ``src`` is not a notebook or holds none; ``out`` is a file or ``src``'s folder.
        MarkerError: a notebook's markers are unbalanced.
    """
    src, out = pathlib.Path(src), pathlib.Path(out)
    paths = _lab_paths(src)
    if out.exists() and not out.is_dir():
        raise ValueError(f"the output must be a folder; {out} is a file")
    if any(p.parent.resolve() == out.resolve() for p in paths):
        raise ValueError(f"the output folder {out} is the folder of the labs: their solutions would be "
                         "overwritten; choose another folder (e.g. student/)")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        target = out / path.name
        nbformat.write(student_notebook(nb, path.name), target)
        written.append(target)
    return written


def graded_cells(nb, cell_type: str = "code") -> dict:
    """grade_id → (points, cell) for every graded cell (nbgrader ``grade: true``) of ``cell_type``.

    Graded code cells are tests, graded automatically; graded markdown cells are written
    answers, graded by hand.
    """
    return {_nbgrader(c)["grade_id"]: (float(_nbgrader(c).get("points", 0)), c) for c in nb.cells
            if c.cell_type == cell_type and _nbgrader(c).get("grade") and "grade_id" in _nbgrader(c)}


def grade(source_path, submission_path, timeout: int = 600) -> dict:
    """Grade a submitted lab against the instructor's version.

    Every graded cell of the submission (matched by ``grade_id``) gets the instructor's source
    back, hidden tests included; the notebook runs top to bottom in a fresh kernel (errors
    allowed); a graded cell earns its points when it runs without an error.

    Returns:
        ``{"score", "max_score", "cells": {grade_id: {"points", "earned", "error"}}, "manual": {grade_id: points}}``:
        the automatic score, and the written answers left to grade by hand. A graded cell
        missing from the submission earns nothing (``error: "missing"``).
    """
    from nbclient import NotebookClient

    source = nbformat.read(pathlib.Path(source_path), as_version=4)
    submission = nbformat.read(pathlib.Path(submission_path), as_version=4)
    wanted = graded_cells(source)
    present = set()
    for cell in submission.cells:
        gid = _nbgrader(cell).get("grade_id")
        if gid in wanted and cell.cell_type == "code":
            cell.source = wanted[gid][1].source  # the instructor's test, hidden part included
            present.add(gid)
    with tempfile.TemporaryDirectory() as folder:
        NotebookClient(submission, timeout=timeout, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": folder}}).execute()
    result = {"cells": {}, "score": 0.0, "max_score": sum(p for p, _ in wanted.values()),
              "manual": {gid: p for gid, (p, _) in graded_cells(source, "markdown").items()}}
    by_id = {_nbgrader(c).get("grade_id"): c for c in submission.cells}
    for gid, (points, _) in wanted.items():
        if gid not in present:
            result["cells"][gid] = {"points": points, "earned": 0.0, "error": "missing"}
            continue
        errors = [o for o in by_id[gid].get("outputs", []) if o.get("output_type") == "error"]
        error = f"{errors[0]['ename']}: {errors[0]['evalue']}".splitlines()[0] if errors else None
        result["cells"][gid] = {"points": points, "earned": 0.0 if errors else points, "error": error}
        result["score"] += 0.0 if errors else points
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lstm_course.assignments", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("student", help="write the student versions of the labs")
    s.add_argument("src", type=pathlib.Path, help="a lab notebook or a folder of them (e.g. notebooks/)")
    s.add_argument("out", type=pathlib.Path, help="the output folder (e.g. student/)")
    g = sub.add_parser("grade", help="grade a submitted lab against the instructor's version")
    g.add_argument("source", type=pathlib.Path, help="the instructor's lab (with solutions)")
    g.add_argument("submission", type=pathlib.Path, help="the student's notebook")
    g.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    try:
        if args.command == "student":
            for path in write_student_versions(args.src, args.out):
                print(f"wrote {path}")
            return 0
        for p in (args.source, args.submission):
            if not p.is_file():
                raise FileNotFoundError(f"no such notebook: {p}")
        result = grade(args.source, args.submission)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for gid, r in result["cells"].items():
            print(f"{gid:<32} {r['earned']:g}/{r['points']:g}" + (f"   ({r['error']})" if r["error"] else ""))
        print(f"{'total':<32} {result['score']:g}/{result['max_score']:g}")
        for gid, points in result["manual"].items():
            print(f"{gid:<32} ?/{points:g}   (a written answer: grade it by hand)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
