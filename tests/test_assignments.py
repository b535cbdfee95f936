"""Student versions of the labs: no solution survives, they run, their checkers say "not implemented yet".

Also: the markers are parsed strictly, bad paths fail clearly, and grading restores the hidden
tests and scores a correct and a stub submission as it should.
"""
from __future__ import annotations

import pathlib
import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lstm_course import assignments as A

ROOT = pathlib.Path(__file__).resolve().parents[1]
LABS = sorted((ROOT / "notebooks").glob("lab*.ipynb"))
EXPECTED_LABS = ["lab1_rnn", "lab2_vanishing", "lab3_lstm_numpy", "lab4_lstm_torch", "lab5_long_range",
                 "lab6_char_lm"]


def _lines(nb, solution: bool | None = None) -> set[str]:
    """Stripped lines of every cell (solution=None), of solution regions only (True), or outside them (False)."""
    if solution is None:
        return {line.strip() for c in nb.cells for line in c.source.splitlines() if line.strip()}
    inside_lines = set(A.solution_lines(nb))
    if solution:
        return inside_lines
    outside = set()
    for cell in nb.cells:
        whole = cell.metadata.get("nbgrader", {}).get("solution") and not A.has_markers(cell.source)
        inside = False
        for line in cell.source.splitlines():
            marker = line.strip()
            if marker in (A.BEGIN_SOLUTION, A.BEGIN_HIDDEN):
                inside = True
            elif marker in (A.END_SOLUTION, A.END_HIDDEN):
                inside = False
            elif not inside and not whole and marker:
                outside.add(marker)
    return outside


def _hidden_lines(nb) -> set[str]:
    out = set()
    for cell in nb.cells:
        found = re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S)
        out |= {line.strip() for block in found for line in block.splitlines() if line.strip()}
    return out


def _has(source: str, marker: str) -> bool:
    """``marker`` on a line of its own (prose may quote a marker inside a sentence)."""
    return any(line.strip() == marker for line in source.splitlines())


def _nontrivial(line: str) -> bool:
    return len(line) >= 6 and re.search(r"[A-Za-z0-9]", line) is not None


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    written = A.write_student_versions(ROOT / "notebooks", out)
    assert sorted(p.stem for p in written) == EXPECTED_LABS
    return out


# ---------------------------------------------------------------------------------------------
# The committed labs are well formed for nbgrader
# ---------------------------------------------------------------------------------------------
def test_the_six_labs_exist():
    assert [p.stem for p in LABS] == EXPECTED_LABS


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.stem)
def test_lab_markers_and_nbgrader_metadata(path):
    nb = nbformat.read(path, as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "grade_ids are unique"
    solutions = tests = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if _has(cell.source, A.BEGIN_SOLUTION):
            assert meta.get("solution") is True and meta.get("schema_version") == 3, cell.source[:80]
            solutions += 1
        if _has(cell.source, A.BEGIN_HIDDEN):
            assert meta.get("grade") is True and meta.get("points", 0) > 0 and meta.get("locked") is True
            tests += 1
        if "HIDDEN TESTS" in cell.source:  # nbgrader matches this phrase anywhere in a line
            assert meta.get("grade") is True, "nbgrader would refuse hidden tests outside a graded cell"
        A.strip_cell_source(cell.source, cell.cell_type == "markdown", f"{path.name}")  # balanced markers
    assert solutions >= 2 and tests >= 2
    first = nb.cells[0].source
    assert first.startswith("# Lab ") and "Learning goals" in first and "Expected time" in first


# ---------------------------------------------------------------------------------------------
# No solution survives
# ---------------------------------------------------------------------------------------------
def test_no_solution_line_survives_in_any_student_version(student_dir):
    sources = {p.stem: nbformat.read(p, as_version=4) for p in LABS}
    students = {p.stem: nbformat.read(student_dir / p.name, as_version=4) for p in LABS}
    given = set().union(*(_lines(nb, solution=False) for nb in sources.values()))
    secret = {line for nb in sources.values() for line in _lines(nb, solution=True) if _nontrivial(line)} - given
    hidden = set().union(*(_hidden_lines(nb) for nb in sources.values())) - given
    assert len(secret) > 150 and len(hidden) >= 4  # the comparison has something to compare
    for name, nb in students.items():
        lines = _lines(nb)
        assert not (lines & secret), f"{name}: solution lines leaked: {sorted(lines & secret)[:5]}"
        assert not (lines & hidden), f"{name}: hidden tests leaked: {sorted(lines & hidden)[:5]}"
        for cell in nb.cells:
            assert not any(_has(cell.source, m) for m in (A.BEGIN_SOLUTION, A.END_SOLUTION, A.BEGIN_HIDDEN, A.END_HIDDEN))


def test_student_versions_have_stubs_and_no_outputs(student_dir):
    for path in LABS:
        source = nbformat.read(path, as_version=4)
        nb = nbformat.read(student_dir / path.name, as_version=4)
        assert len(nb.cells) == len(source.cells)
        stubs = sum("raise NotImplementedError()" in c.source for c in nb.cells if c.cell_type == "code")
        regions = sum(1 for c in source.cells if c.cell_type == "code" for line in c.source.splitlines()
                      if line.strip() == A.BEGIN_SOLUTION)
        assert stubs == sum(1 for c in source.cells if c.cell_type == "code" and _has(c.source, A.BEGIN_SOLUTION))
        assert regions >= stubs > 0
        assert all(not c.outputs and c.execution_count is None for c in nb.cells if c.cell_type == "code")
        assert "widgets" not in nb.metadata
        answers = [c for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")]
        assert answers and all(c.source == A.MARKDOWN_STUB for c in answers)
        # the signature lines stay: every `def` of the instructor version is still there
        defs = {line for line in _lines(source, solution=False) if line.startswith(("def ", "class "))}
        assert defs <= _lines(nb)


# ---------------------------------------------------------------------------------------------
# A student version runs, and its checkers say "not implemented yet"
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lab", ["lab2_vanishing", "lab3_lstm_numpy", "lab5_long_range"])
def test_student_version_runs_and_reports_not_implemented(student_dir, lab, tmp_path):
    nb = nbformat.read(student_dir / f"{lab}.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    checks = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert all(e.ename == "NotImplementedError" for e in errors), [(e.ename, e.evalue) for e in errors]
        if "result = check_" in cell.source:
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert not errors and "not implemented yet" in text, text
            checks += 1
    assert checks >= 1


# ---------------------------------------------------------------------------------------------
# The marker parser and the command line
# ---------------------------------------------------------------------------------------------
def test_strip_cell_source_keeps_indentation_and_signature():
    source = "def f(x):\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
    assert A.strip_cell_source(source) == "def f(x):\n    \"\"\"Doc.\"\"\"\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    hidden = "r = check(f)\n### BEGIN HIDDEN TESTS\nassert r.passed\n### END HIDDEN TESTS\nprint(r)"
    assert A.strip_cell_source(hidden) == "r = check(f)\nprint(r)"
    assert A.strip_cell_source("### BEGIN SOLUTION\nAn answer.\n### END SOLUTION", markdown=True) == A.MARKDOWN_STUB


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("x = 1\n### END SOLUTION\n", "line 2: '### END SOLUTION' without a matching '### BEGIN SOLUTION'"),
    ("### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n", "line 2: '### BEGIN HIDDEN TESTS' inside an open"),
    ("### BEGIN HIDDEN TESTS\n### END SOLUTION\n", "without a matching"),
])
def test_unbalanced_markers_are_refused(source, message):
    with pytest.raises(A.MarkerError, match=re.escape(message)):
        A.strip_cell_source(source, where="lab.ipynb, cell 3")


def test_student_notebook_refuses_what_is_not_a_notebook():
    with pytest.raises(TypeError, match="needs a notebook read with nbformat; got dict"):
        A.student_notebook({"cells": []})


def test_bad_paths_fail_clearly(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no such notebook or folder"):
        A.write_student_versions(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no .ipynb notebook"):
        A.write_student_versions(tmp_path / "empty", tmp_path / "out")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ValueError, match="expected a .ipynb notebook or a folder of them"):
        A.write_student_versions(tmp_path / "notes.txt", tmp_path / "out")
    with pytest.raises(ValueError, match="the output must be a folder"):
        A.write_student_versions(LABS[0], tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="solutions would be overwritten"):
        A.write_student_versions(ROOT / "notebooks", ROOT / "notebooks")
    assert A.main(["student", str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    assert "error: no such notebook or folder" in capsys.readouterr().err
    assert A.main(["student", str(LABS[0]), str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / LABS[0].name).exists() and "wrote" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# Grading restores the instructor's tests
# ---------------------------------------------------------------------------------------------
def _tiny_lab():
    solution = new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                             metadata={"nbgrader": {"grade": False, "solution": True, "locked": False,
                                                    "grade_id": "double", "schema_version": 3}})
    test = new_code_cell("value = double(3)\n### BEGIN HIDDEN TESTS\nassert value == 6\n### END HIDDEN TESTS",
                         metadata={"nbgrader": {"grade": True, "solution": False, "locked": True, "points": 2,
                                                "grade_id": "test_double", "schema_version": 3}})
    answer = new_markdown_cell("### BEGIN SOLUTION\nBecause.\n### END SOLUTION",
                               metadata={"nbgrader": {"grade": True, "solution": True, "locked": False,
                                                      "points": 1, "grade_id": "why", "schema_version": 3}})
    nb = new_notebook(cells=[solution, test, answer])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def test_grade_restores_hidden_tests_and_scores(tmp_path, capsys):
    source = _tiny_lab()
    nbformat.write(source, tmp_path / "lab.ipynb")
    stub = A.student_notebook(source)
    nbformat.write(stub, tmp_path / "stub.ipynb")
    cheat = A.student_notebook(source)
    cheat.cells[0].source = "def double(x):\n    return x + 1"  # wrong ...
    cheat.cells[1].source = "value = 6"  # ... and the test cell tampered with
    nbformat.write(cheat, tmp_path / "cheat.ipynb")
    good = A.student_notebook(source)
    good.cells[0].source = "def double(x):\n    return x * 2"
    nbformat.write(good, tmp_path / "good.ipynb")

    assert A.grade(tmp_path / "lab.ipynb", tmp_path / "good.ipynb")["score"] == 2
    stub_result = A.grade(tmp_path / "lab.ipynb", tmp_path / "stub.ipynb")
    assert stub_result["score"] == 0 and "NotImplementedError" in stub_result["cells"]["test_double"]["error"]
    assert stub_result["manual"] == {"why": 1.0}
    assert A.grade(tmp_path / "lab.ipynb", tmp_path / "cheat.ipynb")["score"] == 0
    assert A.main(["grade", str(tmp_path / "lab.ipynb"), str(tmp_path / "good.ipynb")]) == 0
    out = capsys.readouterr().out
    assert "total" in out and "2/2" in out and "grade it by hand" in out
    assert A.main(["grade", str(tmp_path / "lab.ipynb"), str(tmp_path / "nope.ipynb")]) == 2
