"""Hygiene checks for the committed, executed notebooks of the course.

Usage: python tools/notebook_checks.py [PATH ...]   (default: every notebook in book/ and notebooks/)

Each check reads a notebook as committed and returns a list of problems (empty when clean).
`tests/test_book_pipeline.py` runs them on every notebook; `tools/execute_notebooks.py` prints
them right after executing, so an author sees the problem before the test suite does.
"""
from __future__ import annotations

import argparse
import ast
import json
import math
import pathlib
import re
import sys

import nbformat

from lstm_course.utils import round_to_format

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK_FOLDERS = ("book", "notebooks")

#: Paths of the machine that executed a notebook; they must never reach a committed output.
MACHINE_PATH = re.compile(r"(/tmp/|/root/|/work/|/home/|/Users/|/private/var/|[A-Z]:\\Users\\)[^\"'\s]{0,60}")
#: nbval's comment markers: readers would see them. Use the cell tags (nbval-ignore-output, ...).
NBVAL_COMMENT = re.compile(r"^\s*#\s*(NBVAL_\w+|PYTEST_VALIDATE_IGNORE_OUTPUT)\b", re.MULTILINE)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
MAX_BYTES = 3_000_000
#: Output mimetypes that carry text (checked for machine paths); images are base64 and skipped.
TEXT_MIMETYPES = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json",
                  "image/svg+xml")


def all_notebooks(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """Every notebook in book/ and notebooks/ (the template included), sorted."""
    found = []
    for folder in NOTEBOOK_FOLDERS:
        found += [p for p in sorted((root / folder).rglob("*.ipynb"))
                  if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts]
    return found


def code_cells(nb) -> list:
    """The code cells that have source (empty cells are never executed and are ignored)."""
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def check_metadata(nb) -> list[str]:
    """The kernel is the standard `python3` kernel and the language is Python."""
    problems = []
    kernelspec = nb.metadata.get("kernelspec", {})
    if kernelspec.get("name") != "python3":
        problems.append(f"kernelspec name is {kernelspec.get('name')!r}; expected 'python3'")
    language = nb.metadata.get("language_info", {}).get("name") or kernelspec.get("language")
    if language != "python":
        problems.append(f"language is {language!r}; expected 'python'")
    return problems


def check_executed_in_order(nb) -> list[str]:
    """Every code cell was executed, once, top to bottom in one fresh kernel: counts 1, 2, 3, ..."""
    counts = [c.execution_count for c in code_cells(nb)]
    if not counts:
        return []
    if all(n is None for n in counts):
        return ["not executed: commit notebooks executed (make execute or tools/execute_notebooks.py)"]
    if counts != list(range(1, len(counts) + 1)):
        return [f"execution counts are {counts}; expected 1..{len(counts)} "
                "(re-execute with `make execute` or tools/execute_notebooks.py)"]
    return []


def check_outputs(nb) -> list[str]:
    """No errors, no stderr, no machine paths; every widget view has saved state."""
    problems = []
    saved = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"cell {index}"
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                problems.append(f"{where}: committed error output {output.get('ename')}: {output.get('evalue')}")
                continue
            if kind == "stream":
                if output.get("name") == "stderr":
                    problems.append(f"{where}: stderr output {output.get('text', '')[:80]!r}")
                texts = [output.get("text", "")]
            else:
                data = output.get("data", {})
                texts = [v if isinstance(v, str) else json.dumps(v) for k, v in data.items()
                         if k in TEXT_MIMETYPES]
                view = data.get(WIDGET_VIEW)
                if view and view.get("model_id") not in saved:
                    problems.append(f"{where}: widget view {view.get('model_id')} has no saved widget "
                                    "state (execute with tools/execute_notebooks.py)")
            for text in texts:
                match = MACHINE_PATH.search(text)
                if match:
                    problems.append(f"{where}: output names a machine path: {match.group(0)!r}")
    return problems


def check_no_nbval_comments(nb) -> list[str]:
    """nbval is steered by cell tags, never by comments that readers would see."""
    return [f"cell {i}: nbval comment marker {m.group(1)}; use the cell tag instead"
            for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for m in [NBVAL_COMMENT.search(c.source)] if m]


def check_progress_bars(nb) -> list[str]:
    """No progress bar is saved red: tqdm paints a bar closed short of its total "danger", which
    a reader takes for a failed run. A run that stops early must close its bar as finished."""
    saved = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    return [f"widget {model_id}: a progress bar saved red (bar_style 'danger') at "
            f"{state.get('state', {}).get('value')} of {state.get('state', {}).get('max')}"
            for model_id, state in saved.items()
            if state.get("state", {}).get("bar_style") == "danger"]


def check_widget_state_displayed(nb) -> list[str]:
    """Every widget model in the saved state belongs to a widget an output displays (the view's
    model or one it refers to, ``IPY_MODEL_<id>``; :func:`check_outputs` checks the converse). A model
    that no output reaches is left from an earlier execution: the page would load the widget
    manager for it, and its bar or value describes a run that is no longer on the page."""
    saved = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    views = [o["data"][WIDGET_VIEW]["model_id"] for c in nb.cells if c.cell_type == "code"
             for o in c.get("outputs", []) if WIDGET_VIEW in o.get("data", {})]
    reached, todo = set(), [m for m in views if m in saved]
    while todo:
        model = todo.pop()
        if model not in reached:
            reached.add(model)
            todo += [ref for ref in re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(saved[model])) if ref in saved]
    if len(reached) == len(saved):
        return []
    return [f"widget state: {len(saved) - len(reached)} of {len(saved)} saved models belong to no displayed "
            "widget (left from an earlier execution): re-execute the notebook"]


def check_setup_cell(nb) -> list[str]:
    """The first code cell is the set-up cell (tag `setup`); its text is kept by sync_setup_cells."""
    cells = code_cells(nb)
    if not cells:
        return []
    if "setup" not in cells[0].metadata.get("tags", []):
        return ["the first code cell has no `setup` tag (copy it from book/_template.ipynb or run "
                "tools/sync_setup_cells.py)"]
    return []


def check_figures_captioned(nb) -> list[str]:
    """In the book's chapters every figure is captioned and named through the cell metadata."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        has_image = any(k.startswith("image/") for o in cell.get("outputs", [])
                        for k in o.get("data", {}))
        if not has_image:
            continue
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        if not figure.get("caption") or not str(figure.get("name", "")).startswith("fig-"):
            problems.append(f"cell {index}: a figure without mystnb.figure caption and name 'fig-...' "
                            "in its cell metadata")
    return problems


#: A glued value cited in the prose, with its optional format spec: {glue:text}`name:.2f`.
GLUE_REF = re.compile(r"\{glue:text\}`([^`:]+)(?::([^`]+))?`")
GLUE_MIME = "application/papermill.record/text/plain"


def _rounded_to(value: float, spec: str) -> bool:
    """True when `value` keeps no digit beyond what `format(value, spec)` shows."""
    try:
        shown = round_to_format(value, spec)
    except ValueError:  # not a float spec: the prose formats it some other way
        return False
    return abs(shown - value) <= 1e-12 * max(abs(value), 1e-300)


def check_glue_precision(nb) -> list[str]:
    """Every float the prose cites is stored with no more digits than the prose shows.

    The digits beyond those belong to the CPU that ran the cell (book/contributing.md,
    "Reproducible outputs"): stored, they would make nbval fail on another processor.
    `lstm_course.utils.glue(name, value, fmt)` stores them rounded.
    """
    specs: dict[str, set[str]] = {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for name, spec in GLUE_REF.findall(cell.source):
                specs.setdefault(name, set()).add(spec)
    problems = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            text = output.get("data", {}).get(GLUE_MIME)
            if name not in specs or text is None:
                continue
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                continue
            if not isinstance(value, float) or not math.isfinite(value):
                continue
            shown = sorted(s for s in specs[name] if s)
            if not shown:
                problems.append(f"cell {index}: glued float {name} = {text} is cited without a format "
                                "spec; cite it as {glue:text}`" + name + ":.2f` (or the precision it has)")
            elif not any(_rounded_to(value, s) for s in shown):
                problems.append(f"cell {index}: glued float {name} = {text} has more digits than the prose "
                                f"shows ({', '.join(shown)}); glue it with lstm_course.utils.glue(name, value, "
                                f"{shown[-1]!r})")
    return problems


def check_glued_keys_exist(nb) -> list[str]:
    """Every key the prose cites with ``{glue:text}`` has a glued value among the notebook's outputs
    (a notebook executed outside IPython, or one whose gluing cell failed, stores nothing, and the
    page would then show a warning)."""
    cited = {name for cell in nb.cells if cell.cell_type == "markdown"
             for name, _ in GLUE_REF.findall(cell.source)}
    glued = {output.get("metadata", {}).get("scrapbook", {}).get("name")
             for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", [])}
    return [f"{{glue:text}}`{name}` is cited but no cell output glues it: re-execute the notebook in "
            "the course's environment (make execute)" for name in sorted(cited - glued)]


CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_no_control_characters(nb) -> list[str]:
    """No control character in the prose: ``\\vc`` written in a non-raw Python string becomes a
    vertical tab and ``c``, which MathJax cannot parse."""
    return [f"cell {k}: control character {ch!r} in the text (a '\\v', '\\f' or '\\b' of a TeX "
            "macro written in a non-raw string?)" for k, cell in enumerate(nb.cells)
            if cell.cell_type == "markdown" for ch in sorted(set(CONTROL_CHARACTER.findall(cell.source)))]


#: The widest code line that fits the rendered book's code column without a horizontal scroll bar.
MAX_CODE_WIDTH = 90


def check_code_width(nb) -> list[str]:
    """No code line is wider than :data:`MAX_CODE_WIDTH` characters (no cell scrolls sideways)."""
    problems = []
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for n, line in enumerate(cell.source.splitlines(), start=1):
            if len(line) > MAX_CODE_WIDTH:
                problems.append(f"cell {k}, line {n}: {len(line)} characters (at most {MAX_CODE_WIDTH}): "
                                f"{line.strip()[:50]}...")
    return problems


def _figure_only(cell) -> bool:
    """A code cell whose outputs are images and nothing else (no printed text, no table)."""
    outputs = cell.get("outputs", [])
    return bool(outputs) and all(o.output_type == "display_data" and set(o.get("data", {})) <= {"image/png", "text/plain"}
                                 and "image/png" in o.get("data", {}) for o in outputs)


#: Calls that only set the notebook up or hand a value to the prose: a code cell made of these
#: and imports is bookkeeping, which a chapter collapses (``hide-input``).
BOOKKEEPING_CALLS = {"glue", "use_style", "seed_everything", "set_num_threads", "manual_seed"}


def _call_name(node) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return None


def _bookkeeping_only(cell) -> bool:
    """A code cell of imports and :data:`BOOKKEEPING_CALLS` only, which shows nothing (its outputs,
    if any, are glued values, which the page does not display)."""
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return False
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(statement, (ast.Expr, ast.Assign)) and _call_name(statement.value) in BOOKKEEPING_CALLS:
            continue
        return False
    return bool(tree.body) and all(
        o.output_type == "display_data" and all(m.startswith("application/papermill.record/") for m in o.get("data", {}))
        for o in cell.get("outputs", []))


def check_figure_cells_collapsed(nb) -> list[str]:
    """A chapter's cells that only draw a figure are collapsed (tag ``hide-input``): the reader meets
    prose, figure and caption, and the code is one click away."""
    return [f"cell {k} only draws a figure: tag it hide-input" for k, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and _figure_only(cell)
            and "hide-input" not in cell.get("metadata", {}).get("tags", [])]


def check_bookkeeping_cells_collapsed(nb) -> list[str]:
    """A chapter's cells that only import, set up or glue (:func:`_bookkeeping_only`) are collapsed
    (tag ``hide-input``, or ``remove-cell`` for the set-up cell), like the figure-only cells."""
    hidden = {"hide-input", "remove-cell", "remove-input"}
    return [f"cell {k} only imports, sets up or glues: tag it hide-input" for k, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and _bookkeeping_only(cell)
            and not hidden & set(cell.get("metadata", {}).get("tags", []))]


def check_notebook(path: pathlib.Path, root: pathlib.Path = ROOT) -> list[str]:
    """All the checks above for one notebook file."""
    if path.stat().st_size > MAX_BYTES:
        size_problem = [f"{path.stat().st_size / 1e6:.1f} MB (limit {MAX_BYTES / 1e6:.0f} MB): "
                        "are the figures larger than they need to be?"]
    else:
        size_problem = []
    nb = nbformat.read(path, as_version=4)
    problems = (size_problem + check_metadata(nb) + check_executed_in_order(nb) + check_outputs(nb)
                + check_no_nbval_comments(nb) + check_setup_cell(nb) + check_glue_precision(nb)
                + check_progress_bars(nb) + check_widget_state_displayed(nb) + check_code_width(nb)
                + check_glued_keys_exist(nb)
                + check_no_control_characters(nb))
    relative = path.resolve().relative_to(root.resolve()) if path.resolve().is_relative_to(root.resolve()) else path
    if relative.parts and relative.parts[0] == "book":
        problems += (check_figures_captioned(nb) + check_figure_cells_collapsed(nb)
                     + check_bookkeeping_cells_collapsed(nb))
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=pathlib.Path)
    args = parser.parse_args(argv)
    paths = args.paths or all_notebooks()
    failed = 0
    for path in paths:
        problems = check_notebook(path)
        for problem in problems:
            print(f"{path}: {problem}")
        failed += bool(problems)
    print(f"{len(paths) - failed} clean, {failed} with problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
