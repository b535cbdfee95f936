"""The labs through nbgrader: student versions from `nbgrader generate_assignment`, no solution or
hidden test survives in them, they run and say "not implemented yet", and `nbgrader autograde`
with nbgrader's real gradebook scores sample submissions as expected.

Autograding runs Lab 3 only (three submissions, about 15 s of notebook time each): the
reference solution, the student version left blank, and a submission with one diagnosed
mistake. Every lab's student version is generated.
"""
from __future__ import annotations

import ast
import pathlib
import re
import sys

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import nbgrader_course as NC  # noqa: E402

LABS = sorted((ROOT / "notebooks").glob("lab*.ipynb"))
EXPECTED_LABS = ["lab1_rnn", "lab2_vanishing", "lab3_lstm_numpy", "lab4_lstm_torch", "lab5_long_range",
                 "lab6_char_lm", "lab7_gru_numpy", "lab8_bilstm_packing",
                 "lab9_tbptt_loop"]
#: Per lab, the package functions that would solve one of its exercises: a student version imports none.
#: (Lab 2 may use the package's forward pass, Lab 3 its gradcheck, Lab 9 its window helpers.)
SOLVES = {
    "lab1_rnn": r"\brnn_\w+|numerical_gradient|\bgradcheck\b",
    "lab2_vanishing": r"rnn_(step_)?backward|state_gradients|hidden_gradient_norms|jacobian",
    "lab3_lstm_numpy": r"lstm_(step_)?(forward|backward)|\bfast\b",
    "lab4_lstm_torch": r"\bLSTM(Cell)?\b|lstm_cell_step|lstm_bptt",
    "lab5_long_range": None,  # its exercises (the baseline of any targets, an experiment) have no package twin
    "lab6_char_lm": r"\bgenerate\b|softmax_with_temperature|sample_next|tbptt_window|\bperplexity\b|"
                    r"continuation_log_prob",
    "lab7_gru_numpy": r"gru_(step_)?(forward|backward)",
    "lab8_bilstm_packing": r"SequenceModel",
    "lab9_tbptt_loop": r"\bbatchify\b|train_charlm|\bperplexity\b|detach_state",
}
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def _regions(source: str, begin: str, end: str) -> list[str]:
    """Stripped lines inside every ``begin`` ... ``end`` region."""
    out, inside = [], False
    for line in source.splitlines():
        if line.strip() == begin:
            inside = True
        elif line.strip() == end:
            inside = False
        elif inside and line.strip():
            out.append(line.strip())
    return out


def _solution_lines(nb) -> set[str]:
    lines = set()
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and "### BEGIN SOLUTION" not in cell.source:
            lines |= {line.strip() for line in cell.source.splitlines() if line.strip()}  # a whole-cell answer
        lines |= set(_regions(cell.source, "### BEGIN SOLUTION", "### END SOLUTION"))
    return lines


def _hidden_lines(nb) -> set[str]:
    return {line for c in nb.cells for line in _regions(c.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")}


def _all_lines(nb) -> set[str]:
    return {line.strip() for c in nb.cells for line in c.source.splitlines() if line.strip()}


def _package_imports(nb) -> list[str]:
    """``module.name`` for every name a code cell imports from lstm_course (its checkers excepted)."""
    names = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lstm_course") \
                    and not node.module.startswith("lstm_course.checks"):
                names += [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names += [alias.name for alias in node.names if alias.name.startswith("lstm_course")]
    return names


def _nontrivial(line: str) -> bool:
    return len(line) >= 6 and re.search(r"[A-Za-z0-9]", line) is not None


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course directory with every lab released by nbgrader (its gradebook.db included)."""
    root = tmp_path_factory.mktemp("course")
    written = NC.release(root)
    assert [p.parent.name for p in written] == EXPECTED_LABS and all(p.exists() for p in written)
    assert (root / "gradebook.db").exists()
    return root


def _student(course, lab):
    return nbformat.read(course / "release" / lab / f"{lab}.ipynb", as_version=4)


# ---------------------------------------------------------------------------------------------
# The committed labs are well-formed nbgrader source notebooks
# ---------------------------------------------------------------------------------------------
def test_the_labs_exist():
    assert [p.stem for p in LABS] == EXPECTED_LABS


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.stem)
def test_lab_markers_and_nbgrader_metadata(path):
    nb = nbformat.read(path, as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "grade_ids are unique"
    solutions = tests = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        for line in cell.source.splitlines():
            # nbgrader finds its markers anywhere in a line: prose may not quote them
            for phrase in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
                if phrase in line:
                    assert line.strip() == f"### {phrase}", f"{path.name}: {phrase!r} quoted in {line!r}"
        if "### BEGIN SOLUTION" in cell.source:
            assert meta.get("solution") is True and meta.get("schema_version") == 3, cell.source[:80]
            solutions += 1
        if "### BEGIN HIDDEN TESTS" in cell.source:
            assert meta.get("grade") is True and meta.get("points", 0) > 0 and meta.get("locked") is True
            tests += 1
    assert solutions >= 2 and tests >= 2
    first = nb.cells[0].source
    assert first.startswith("# Lab ") and "Learning goals" in first and "Expected time" in first


# ---------------------------------------------------------------------------------------------
# No solution or hidden test survives in nbgrader's student versions
# ---------------------------------------------------------------------------------------------
def test_no_solution_line_survives_in_any_student_version(course):
    sources = {p.stem: nbformat.read(p, as_version=4) for p in LABS}
    given = set()
    for nb in sources.values():
        given |= _all_lines(nb) - _solution_lines(nb) - _hidden_lines(nb)
    secret = {line for nb in sources.values() for line in _solution_lines(nb) if _nontrivial(line)} - given
    hidden = set().union(*(_hidden_lines(nb) for nb in sources.values())) - given
    assert len(secret) > 150 and len(hidden) >= 4  # the comparison has something to compare
    for lab in EXPECTED_LABS:
        lines = _all_lines(_student(course, lab))
        assert not (lines & secret), f"{lab}: solution lines leaked: {sorted(lines & secret)[:5]}"
        assert not (lines & hidden), f"{lab}: hidden tests leaked: {sorted(lines & hidden)[:5]}"
        assert not (lines & set(MARKERS)), f"{lab}: a marker survived"


def test_student_versions_have_stubs_and_no_outputs(course):
    for path in LABS:
        source = nbformat.read(path, as_version=4)
        nb = _student(course, path.stem)
        assert len(nb.cells) == len(source.cells)
        code_regions = sum(1 for c in source.cells if c.cell_type == "code" and "### BEGIN SOLUTION" in c.source)
        stubs = sum("raise NotImplementedError()" in c.source for c in nb.cells if c.cell_type == "code")
        assert stubs == code_regions > 0
        assert all(not c.outputs and c.execution_count is None for c in nb.cells if c.cell_type == "code")
        answers = [c for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")]
        assert answers and all(c.source == "YOUR ANSWER HERE" for c in answers)
        defs = {line for line in _all_lines(source) - _solution_lines(source) if line.startswith(("def ", "class "))}
        assert defs <= _all_lines(nb), "every signature of the instructor's version stays"
        found = [name for name in _package_imports(nb) if SOLVES[path.stem] and re.search(SOLVES[path.stem], name)]
        assert not found, f"{path.stem}: a student version imports what solves an exercise: {found}"


@pytest.mark.parametrize("lab", ["lab3_lstm_numpy"])
def test_student_version_runs_and_reports_not_implemented(course, lab, tmp_path):
    nb = _student(course, lab)
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
    assert checks >= 2


# ---------------------------------------------------------------------------------------------
# nbgrader autograde with the real gradebook
# ---------------------------------------------------------------------------------------------
def test_autograde_scores_the_sample_submissions(course, tmp_path):
    lab = "lab3_lstm_numpy"
    source = nbformat.read(ROOT / "notebooks" / f"{lab}.ipynb", as_version=4)
    for cell in source.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(source, tmp_path / "reference.ipynb")
    mistake = nbformat.read(tmp_path / "reference.ipynb", as_version=4)
    step_backward = next(c for c in mistake.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "lstm_step_backward")
    assert "dc_total = dc + dh * o" in step_backward.source
    step_backward.source = step_backward.source.replace("dc_total = dc + dh * o", "dc_total = dh * o")  # dc ignored
    test_cell = next(c for c in mistake.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "check_lstm_step_backward")
    test_cell.source = "result = None  # a student who deleted the test: nbgrader restores it"
    nbformat.write(mistake, tmp_path / "mistake.ipynb")
    NC.submit(course, lab, "reference", tmp_path / "reference.ipynb")
    NC.submit(course, lab, "blank", course / "release" / lab / f"{lab}.ipynb")
    NC.submit(course, lab, "mistake", tmp_path / "mistake.ipynb")

    result = NC.autograde(course, lab)

    assert set(result) == {"reference", "blank", "mistake"}
    points = {"check_lstm_step_forward": 2, "check_lstm_step_backward": 3, "check_lstm_forward": 1,
              "check_lstm_backward": 2, "check_lstm_gradcheck": 1}
    assert {gid: mx for gid, (_, mx) in result["reference"]["auto"].items()} == points
    assert result["reference"]["max_score"] == 10 and result["reference"]["manual"] == {"answer_cec": 1.0}
    assert result["reference"]["score"] == 9
    assert result["blank"]["score"] == 0
    # the mistake costs the step backward and everything built on it: BPTT and the gradient check
    assert {gid for gid, (s, mx) in result["mistake"]["auto"].items() if s == mx} == {
        "check_lstm_step_forward", "check_lstm_forward"}
    assert result["mistake"]["score"] == 3
    graded = nbformat.read(course / "autograded" / "mistake" / lab / f"{lab}.ipynb", as_version=4)
    cell = next(c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "check_lstm_step_backward")
    text = "".join(o.get("text", "") + o.get("evalue", "") for o in cell.outputs)
    assert "the gradient dc arriving at the cell state from the next step is not used" in text, text
