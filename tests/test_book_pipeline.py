"""The book's pipeline: strict build, notebook hygiene, set-up cells, and self-tests of the machinery.

The self-tests build a tiny book and run nbval on tiny notebooks in a temporary folder, with the
repository's own `_config.yml`, `pytest.ini` and sanitize file, and show that a broken cell, a
stale output and a broken cross-reference each make the test command fail.
"""
from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import nbformat
import pytest
import yaml

from .conftest import ROOT, build_book

sys.path.insert(0, str(ROOT / "tools"))
import colab_check  # noqa: E402
import execute_notebooks  # noqa: E402
import notebook_checks  # noqa: E402
import sync_setup_cells  # noqa: E402

NOTEBOOKS = notebook_checks.all_notebooks()
TEMPLATE = ROOT / "book" / "_template.ipynb"


def _toc_files() -> list[str]:
    """Every `file:` of _toc.yml (root included), without suffix, relative to the repository."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


# --------------------------------------------------------------------------------------------
# The real book and its notebooks
# --------------------------------------------------------------------------------------------

def test_every_notebook_is_in_the_toc():
    """A notebook in book/ or notebooks/ that is not in _toc.yml would be silently left out."""
    listed = set(_toc_files())
    missing = [str(p.relative_to(ROOT).with_suffix("")) for p in NOTEBOOKS
               if p != TEMPLATE and str(p.relative_to(ROOT).with_suffix("")) not in listed]
    assert not missing, f"notebooks not in _toc.yml (uncomment or add their entries): {missing}"


def test_every_toc_entry_exists():
    absent = [f for f in _toc_files()
              if not any((ROOT / f"{f}{suffix}").is_file() for suffix in (".md", ".ipynb"))]
    assert not absent, f"_toc.yml lists files that do not exist: {absent}"


def test_setup_cells_match_the_repository_in_config():
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "sync_setup_cells.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_notebook_hygiene(path):
    """Executed in order, python3 kernel, set-up cell first, no stderr, errors or machine paths."""
    problems = notebook_checks.check_notebook(path)
    assert not problems, f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


def _bibfiles() -> list[pathlib.Path]:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    return [ROOT / name for name in config["bibtex_bibfiles"]]


def test_every_bib_file_is_listed_in_the_config():
    """sphinxcontrib-bibtex reads only the files listed in _config.yml: a forgotten one would
    leave its citations unresolved (a build error) or, unused, silently out of the book."""
    listed = {path.resolve() for path in _bibfiles()}
    on_disk = {path.resolve() for path in (ROOT / "book").rglob("*.bib") if "_build" not in path.parts}
    assert on_disk <= listed, f"not in bibtex_bibfiles of _config.yml: {sorted(map(str, on_disk - listed))}"
    assert all(path.is_file() for path in listed), sorted(map(str, listed))


def test_bibliography_keys_are_unique():
    """Every .bib file parses, and one key is one entry across all of them."""
    from pybtex.database import parse_file  # what sphinxcontrib-bibtex reads them with

    seen: dict[str, str] = {}
    duplicates = []
    for bib in _bibfiles():
        assert parse_file(str(bib)).entries, f"{bib.name} has no entries"
        for key in re.findall(r"^\s*@\w+\s*\{\s*([^,\s]+)\s*,", bib.read_text(encoding="utf8"), re.M):
            if key.lower() in seen:
                duplicates.append(f"{key} in {bib.name} and {seen[key.lower()]}")
            seen.setdefault(key.lower(), bib.name)
    assert seen, "no bibliography entries found"
    assert not duplicates, duplicates


# --------------------------------------------------------------------------------------------
# Self-tests of the machinery on a tiny book
# --------------------------------------------------------------------------------------------

def _notebook(*sources: str) -> nbformat.NotebookNode:
    """A notebook with a title cell, the set-up cell and the given code cells."""
    setup = sync_setup_cells.setup_source(*sync_setup_cells.repository())
    cells = [nbformat.v4.new_markdown_cell("# A tiny chapter\n\nIt prints a number.")]
    cells.append(nbformat.v4.new_code_cell(setup, metadata={"tags": list(sync_setup_cells.TAGS)}))
    cells += [nbformat.v4.new_code_cell(s) for s in sources]
    return nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})


def _executed(path: pathlib.Path, *sources: str) -> pathlib.Path:
    nbformat.write(_notebook(*sources), path)
    execute_notebooks.execute(path, timeout=60)
    return path


def _run_nbval(paths: list[pathlib.Path], junit: pathlib.Path) -> dict[str, list[str]]:
    """Run the repository's own nbval configuration on `paths`; return outcomes per notebook."""
    subprocess.run([sys.executable, "-m", "pytest", "-c", str(ROOT / "pytest.ini"), "-p", "no:xdist",
                    "-o", "junit_family=xunit1", f"--junitxml={junit}", "-q", *map(str, paths)],
                   cwd=ROOT, capture_output=True, text=True, timeout=300)
    outcomes: dict[str, list[str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        problems = [child for child in case if child.tag in ("failure", "error", "skipped")]
        kind = problems[0].tag if problems else "passed"
        message = "".join((c.get("message") or "") + (c.text or "") for c in problems)
        outcomes.setdefault(pathlib.Path(case.get("file", "?")).stem, []).append(f"{kind}: {message}")
    return outcomes


def test_nbval_fails_on_a_broken_cell_and_on_a_stale_output(tmp_path):
    good = _executed(tmp_path / "good.ipynb", "x = 6 * 7\nprint(x)", "assert x == 42")
    # Output that honestly varies (an address, a duration, a progress-bar rate), made certain to
    # differ between runs: the sanitize file must make nbval accept it.
    varying = _executed(tmp_path / "varying.ipynb",
                        "import secrets\n"
                        "print(f'<Model object at 0x{secrets.randbits(48) | 1 << 44:012x}>')\n"
                        "print(f'step took {1 + secrets.randbelow(10**6) / 1e3:.3f} ms')\n"
                        "print(f'[00:0{secrets.randbelow(10)}<00:00, {secrets.randbelow(999) + 1}.5it/s]')")
    broken = tmp_path / "broken.ipynb"
    nb = nbformat.read(good, as_version=4)
    nb.cells[-1].source = "assert x == 43, 'a deliberately broken cell'"
    nbformat.write(nb, broken)
    stale = tmp_path / "stale.ipynb"
    nb = nbformat.read(good, as_version=4)
    nb.cells[2].outputs[0].text = "41\n"  # the committed output no longer matches the code
    nbformat.write(nb, stale)

    outcomes = _run_nbval([good, varying, broken, stale], tmp_path / "nbval.xml")

    assert set(outcomes) == {"good", "varying", "broken", "stale"}, outcomes
    assert all(o.startswith("passed") for o in outcomes["good"]), outcomes["good"]
    assert all(o.startswith("passed") for o in outcomes["varying"]), outcomes["varying"]
    assert any("deliberately broken" in o for o in outcomes["broken"] if o.startswith("failure")), outcomes["broken"]
    assert any("Cell outputs differ" in o for o in outcomes["stale"] if o.startswith("failure")), outcomes["stale"]


def _tiny_book(folder: pathlib.Path, intro_extra: str = "") -> pathlib.Path:
    """A three-page book with the repository's real `_config.yml`, extensions and static files.

    The chapter is the house template, so this also proves the template builds cleanly.
    """
    (folder / "book").mkdir(parents=True)
    for name in ("_config.yml",):
        shutil.copy(ROOT / name, folder / name)
    for name in ("references.bib", "logo.svg", "bibliography.md"):
        shutil.copy(ROOT / "book" / name, folder / "book" / name)
    for name in ("_ext", "_static", "_bib"):
        if (ROOT / "book" / name).is_dir():
            shutil.copytree(ROOT / "book" / name, folder / "book" / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(TEMPLATE, folder / "book" / "chapter.ipynb")
    (folder / "book" / "intro.md").write_text(
        "# Tiny book\n\nThe chapter's figure is {numref}`fig-template-hidden`, after "
        "equation {eq}`eq-template-rnn`.\n" + intro_extra, encoding="utf8")
    (folder / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: Part\n    numbered: true\n"
        "    chapters:\n      - file: book/chapter\n      - file: book/bibliography\n", encoding="utf8")
    return folder


def test_a_broken_cross_reference_or_citation_fails_the_build(tmp_path):
    clean = build_book(_tiny_book(tmp_path / "clean"), tmp_path / "clean-out")
    assert clean.returncode == 0, "the control build of the template failed:\n" + clean.log[-4000:]
    assert (clean.html / "book" / "chapter.html").is_file()

    broken = build_book(_tiny_book(tmp_path / "broken",
                                   "\nSee {numref}`fig-does-not-exist` and {cite:p}`nobody1999`.\n"),
                        tmp_path / "broken-out")
    assert broken.returncode != 0, "a build with a broken reference passed:\n" + broken.log[-3000:]
    assert "fig-does-not-exist" in broken.log, broken.log[-3000:]
    assert "nobody1999" in broken.log, broken.log[-3000:]


def test_hygiene_checks_catch_what_they_promise(tmp_path):
    nb = _notebook("print(1)", "print(2)")
    nb.cells[2].execution_count, nb.cells[3].execution_count = 2, 1  # run out of order
    nb.cells[1].execution_count = 3
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stderr", text="UserWarning: x\n")]
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="saved to /tmp/abc.npz\n")]
    nb.cells[3].source = "# NBVAL_IGNORE_OUTPUT\nprint(2)"
    nb.metadata["kernelspec"]["name"] = "myenv"
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    problems = "\n".join(notebook_checks.check_notebook(path))
    for expected in ("execution counts", "stderr", "/tmp/abc.npz", "NBVAL_IGNORE_OUTPUT", "kernelspec"):
        assert expected in problems, f"{expected!r} not reported in:\n{problems}"
    nb.cells.pop(1)  # no set-up cell
    nbformat.write(nb, path)
    assert "setup" in "\n".join(notebook_checks.check_notebook(path))
    nb.metadata["widgets"] = {notebook_checks.WIDGET_STATE: {"state": {"abc": {"state": {
        "bar_style": "danger", "value": 47, "max": 100}}}}}  # a bar frozen red at 47 %
    nbformat.write(nb, path)
    assert "progress bar saved red (bar_style 'danger') at 47 of 100" in "\n".join(notebook_checks.check_notebook(path))


def test_stale_widget_state_is_reported_and_displayed_widgets_are_not():
    """Saved widget models that no output displays (a progress bar of an earlier execution) are
    stale; a bar whose view an output shows, with the models its view refers to, is not."""
    nb = _notebook("print(1)")
    state = {"ba5e": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_f00d"]}},
             "f00d": {"model_name": "FloatProgressModel", "state": {"bar_style": "success", "value": 3, "max": 3}}}
    nb.metadata["widgets"] = {notebook_checks.WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    assert notebook_checks.check_widget_state_displayed(nb) == [
        "widget state: 2 of 2 saved models belong to no displayed widget (left from an earlier "
        "execution): re-execute the notebook"]
    view = {notebook_checks.WIDGET_VIEW: {"model_id": "ba5e", "version_major": 2, "version_minor": 0},
            "text/plain": "HBox"}
    nb.cells[-1].outputs = [nbformat.v4.new_output("display_data", data=view)]
    assert notebook_checks.check_widget_state_displayed(nb) == []
    nb.metadata["widgets"][notebook_checks.WIDGET_STATE]["state"]["0ddba11"] = {"model_name": "LayoutModel",
                                                                             "state": {}}
    assert "1 of 3 saved models" in notebook_checks.check_widget_state_displayed(nb)[0]


def test_layout_checks_catch_wide_code_and_open_figure_cells():
    """Item 10 of the book's reading comfort: no code line wider than the code column, and a cell
    that only draws a figure is collapsed (hide-input)."""
    nb = _notebook("x = 1", "plt.plot(x)")
    wide = "y = " + " + ".join(["x"] * 40)  # 161 characters
    nb.cells[2].source = wide
    nb.cells[3].outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})]
    width = notebook_checks.check_code_width(nb)
    assert len(width) == 1 and "cell 2, line 1: 161 characters (at most 90)" in width[0]
    assert notebook_checks.check_figure_cells_collapsed(nb) == ["cell 3 only draws a figure: tag it hide-input"]
    nb.cells[3].metadata["tags"] = ["hide-input"]
    nb.cells[2].source = "y = x"
    assert notebook_checks.check_code_width(nb) == [] and notebook_checks.check_figure_cells_collapsed(nb) == []
    nb.cells.append(nbformat.v4.new_markdown_cell("The loss is {glue:text}`loss:.2f`."))
    nb.cells.append(nbformat.v4.new_markdown_cell("$\\partial\vc_t$"))  # a vertical tab, not \\vc
    assert notebook_checks.check_no_control_characters(nb) == [
        "cell 5: control character '\\x0b' in the text (a '\\v', '\\f' or '\\b' of a TeX macro "
        "written in a non-raw string?)"]
    nb.cells.pop()
    assert notebook_checks.check_glued_keys_exist(nb) == [
        "{glue:text}`loss` is cited but no cell output glues it: re-execute the notebook in the "
        "course's environment (make execute)"]
    nb.cells[3].outputs.append(_glued("loss", "0.25"))
    assert notebook_checks.check_glued_keys_exist(nb) == []
    nb.cells[3].outputs.append(nbformat.v4.new_output("stream", name="stdout", text="a number\n"))
    nb.cells[3].metadata["tags"] = []
    assert notebook_checks.check_figure_cells_collapsed(nb) == []  # it prints too: the code stays open


def test_bookkeeping_cells_must_be_collapsed_and_computing_cells_stay_open():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np\nfrom lstm_course.utils import glue\nuse_style()\n"
                                          "rng = seed_everything(0)"),
                nbformat.v4.new_code_cell("_ = glue('n', 3)"),
                nbformat.v4.new_code_cell("import numpy as np\nx = np.ones(3)"),
                nbformat.v4.new_code_cell("print(glue('n', 3))")]
    nb.cells[1].outputs = [_glued("n", "3")]
    assert notebook_checks.check_bookkeeping_cells_collapsed(nb) == [
        "cell 0 only imports, sets up or glues: tag it hide-input",
        "cell 1 only imports, sets up or glues: tag it hide-input"]
    nb.cells[0].metadata["tags"] = ["hide-input"]
    nb.cells[1].metadata["tags"] = ["remove-cell"]
    assert notebook_checks.check_bookkeeping_cells_collapsed(nb) == []
    nb.cells[1].metadata["tags"] = []
    nb.cells[1].outputs.append(nbformat.v4.new_output("stream", name="stdout", text="3\n"))
    assert notebook_checks.check_bookkeeping_cells_collapsed(nb) == []  # it shows output: it stays open


def _glued(name: str, text: str):
    return nbformat.v4.new_output("display_data", data={notebook_checks.GLUE_MIME: text},
                                  metadata={"scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}})


def test_glue_check_catches_digits_the_prose_does_not_show():
    nb = _notebook("x = 1")
    nb.cells.append(nbformat.v4.new_markdown_cell(
        "Perplexity {glue:text}`ppl:.2f`, or {glue:text}`ppl:.1f`; share {glue:text}`share:.0%`; "
        "{glue:text}`n` runs; slope {glue:text}`slope`."))
    code = nb.cells[2]
    code.outputs = [_glued("ppl", "4.7"), _glued("share", "0.4"), _glued("n", "12"), _glued("slope", "0.5")]
    problems = notebook_checks.check_glue_precision(nb)
    assert problems == [p for p in problems if "slope" in p] and len(problems) == 1, problems
    assert "cited without a format spec" in problems[0]
    code.outputs = [_glued("ppl", "4.696483001"), _glued("share", "0.4012")]
    problems = "\n".join(notebook_checks.check_glue_precision(nb))
    assert "ppl = 4.696483001 has more digits than the prose shows (.1f, .2f)" in problems
    assert "share = 0.4012" in problems


def test_sync_setup_cells_follows_the_config(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/someone/fork.git\n  branch: dev\n")
    path = tmp_path / "nb.ipynb"
    nbformat.write(_notebook("print(1)"), path)
    args = ["--config", str(config), str(path)]
    assert sync_setup_cells.main(["--check", *args]) == 1  # still names the upstream repository
    assert sync_setup_cells.main(args) == 0
    assert sync_setup_cells.main(["--check", *args]) == 0
    source = nbformat.read(path, as_version=4).cells[1].source
    assert "lstm_course @ git+https://github.com/someone/fork@dev" in source
    assert source.startswith("# Set-up: make `lstm_course` importable")
    with pytest.raises(ValueError, match="repository.url"):
        config.write_text("repository:\n  branch: dev\n")
        sync_setup_cells.repository(config)


def test_binder_pins_match_the_root_requirements():
    """Binder runs the notebooks with the same versions as the test suite (torch as its CPU build)."""
    root = colab_check.pins(ROOT / "requirements.txt")
    binder = {name: version.split("+")[0]  # torch==2.13.0+cpu is the CPU build of the pinned 2.13.0
              for name, version in colab_check.pins(ROOT / "binder" / "requirements.txt").items()}
    assert {"torch", "numpy", "matplotlib", "ipywidgets"} <= set(binder), binder
    mismatched = {name: (version, root.get(name)) for name, version in binder.items() if root.get(name) != version}
    assert not mismatched, f"binder/requirements.txt pins differ from requirements.txt: {mismatched}"


def _make(tmp_path: pathlib.Path, path: str, *args: str) -> subprocess.CompletedProcess:
    """`make ARGS` on a copy of the Makefile, with only `path` on PATH."""
    for name in ("Makefile", "requirements.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    make = shutil.which("make")
    return subprocess.run([make, *args], cwd=tmp_path, env={"PATH": path, "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=60)


def test_makefile_takes_the_first_supported_python_and_says_when_there_is_none(tmp_path):
    """The quick start runs on Python 3.11, 3.12 or 3.13, whichever comes first; with none, it says so."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3.13").symlink_to(sys.executable)  # any working interpreter stands in for 3.13
    (bin_dir / "python3.12").write_text("#!/bin/sh\nexit 127\n")  # a pyenv-style shim that fails
    (bin_dir / "python3.12").chmod(0o755)
    found = _make(tmp_path, str(bin_dir), "-p", "-n", "help")
    chosen = [line for line in found.stdout.splitlines() if line.startswith("PYTHON :=")]
    assert chosen and chosen[0].split(":=", 1)[1].strip().endswith("python3.13"), chosen
    none = _make(tmp_path, str(tmp_path / "empty"), "venv")
    assert none.returncode != 0
    assert "No supported Python found: none of python3.11 python3.12 python3.13 runs" in none.stderr, none.stderr


# --------------------------------------------------------------------------------------------
# The real book's strict build, last in this file: the session's one build (tests/conftest.py) is
# made by whichever worker asks first, usually the browser test's, so this file's other tests run
# meanwhile instead of this worker waiting for the build's lock.
# --------------------------------------------------------------------------------------------

@pytest.mark.book
def test_book_builds_with_warnings_as_errors(book_build):
    """`jupyter-book build -W -n --keep-going` from a clean folder: no warning, every page built."""
    warnings = [line for line in book_build.log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert book_build.returncode == 0 and not warnings, (
        f"the book build failed (exit {book_build.returncode}):\n" + "\n".join(warnings[:40])
        + "\n--- end of the log ---\n" + book_build.log[-3000:])
    for file in _toc_files():
        assert (book_build.html / f"{file}.html").is_file(), f"no page built for {file}"
    assert (book_build.html / "index.html").is_file()


@pytest.mark.book
def test_citations_are_author_year_in_round_brackets(book_build):
    """{cite:t} renders "Hochreiter and Schmidhuber (1997)", {cite:p} "(..., 2000)", never "[19]"."""
    html = (book_build.html / "book" / "part2" / "lstm_cell.html").read_text()
    assert 'Hochreiter and Schmidhuber (<a class="reference internal" href="../bibliography.html' in html
    assert '[<a class="reference internal" href="../bibliography.html' not in html
