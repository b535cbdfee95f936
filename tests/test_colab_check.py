"""The machinery of `make colab-check` (tools/colab_check.py), without its five-minute run.

The real check installs torch into a fresh environment and runs every notebook; here its parts
run on tiny notebooks with this test run's own Python as the kernel: a failing `assert` fails a
notebook, the kernel gets the thread setting, a `raises-exception` cell may raise, and the cell
the check puts first rejects a kernel whose `lstm_course` comes from anywhere but the folder it
was told. It also checks the versions it picks and that `make test` does not run it.
"""
from __future__ import annotations

import pathlib
import subprocess
import sys

import nbformat
import pytest

import lstm_course

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import colab_check  # noqa: E402


def test_numpy_is_one_minor_release_older_than_the_pin():
    assert colab_check.older_minor("numpy", "2.4.6") == "numpy==2.3.*"
    assert colab_check.older_minor("numpy", "1.26.4") == "numpy==1.25.*"
    with pytest.raises(ValueError, match="--numpy"):
        colab_check.older_minor("numpy", "3.0.1")
    pinned = colab_check.pins()
    assert {"numpy", "torch"} <= set(pinned), pinned
    assert colab_check.requirement("numpy", "older", {"numpy": "2.4.6"}) == "numpy==2.3.*"
    assert colab_check.requirement("torch", "pinned", {"torch": "2.13.0"}) == "torch==2.13.0"
    assert colab_check.requirement("torch", "torch<2.13", {"torch": "2.13.0"}) == "torch<2.13"


def test_make_test_does_not_run_it_and_make_colab_check_does():
    def dry_run(target):
        return subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout
    assert "colab_check" not in dry_run("test")
    command = dry_run("colab-check")
    assert "tools/colab_check.py" in command and "OMP_NUM_THREADS=2" in command


def _notebook(path: pathlib.Path, *cells: nbformat.NotebookNode) -> pathlib.Path:
    nb = nbformat.v4.new_notebook(cells=list(cells), metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}})
    nbformat.write(nb, path)
    return path


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    """A kernel spec `colab-check` that runs this test run's Python with two threads."""
    threads = {name: "2" for name in colab_check.THREAD_VARIABLES}
    colab_check.write_kernelspec(tmp_path / "jupyter", pathlib.Path(sys.executable), threads)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return colab_check.KERNEL


def test_a_failing_assert_fails_the_notebook_and_a_good_one_passes(tmp_path, kernel):
    code = nbformat.v4.new_code_cell
    good = _notebook(tmp_path / "good.ipynb",
                     code("import os\nassert os.environ['OMP_NUM_THREADS'] == '2'"),
                     code("raise ValueError('shown on purpose')", metadata={"tags": ["raises-exception"]}),
                     code("import lstm_course\nprint(lstm_course.__version__)"))
    bad = _notebook(tmp_path / "bad.ipynb", code("assert 6 * 7 == 43, 'a deliberately failing claim'"))
    # lstm_course comes from the checkout in this test run: tell the check cell so.
    origin = pathlib.Path(lstm_course.__file__).resolve().parents[1]
    results = colab_check.run_notebooks([good, bad], tmp_path / "copies", kernel, 120,
                                        pathlib.Path(sys.prefix), origin)
    assert isinstance(results["good.ipynb"], float), results["good.ipynb"]
    assert "a deliberately failing claim" in str(results["bad.ipynb"])
    executed = nbformat.read(tmp_path / "copies" / "good.ipynb", as_version=4)
    assert executed.cells[0].source.startswith("# Added by tools/colab_check.py")
    assert executed.cells[-1].outputs[0]["text"].strip() == lstm_course.__version__
    assert not nbformat.read(good, as_version=4).cells[0].get("outputs"), "the original was changed"


def test_the_check_cell_rejects_lstm_course_from_elsewhere(tmp_path, kernel):
    plain = _notebook(tmp_path / "plain.ipynb", nbformat.v4.new_code_cell("x = 1"))
    elsewhere = tmp_path / "fresh-site-packages"
    elsewhere.mkdir()
    results = colab_check.run_notebooks([plain], tmp_path / "copies", kernel, 120,
                                        pathlib.Path(sys.prefix), elsewhere)
    assert "_spec" in str(results["plain.ipynb"]) and "AssertionError" in str(results["plain.ipynb"])
    results = colab_check.run_notebooks([plain], tmp_path / "copies2", kernel, 120,
                                        tmp_path, pathlib.Path(lstm_course.__file__).resolve().parents[1])
    assert "sys.prefix" in str(results["plain.ipynb"]) and "AssertionError" in str(results["plain.ipynb"])
