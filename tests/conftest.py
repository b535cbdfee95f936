"""Shared fixtures for the book tests: one strict build of the whole book per test session."""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
JUPYTER_BOOK = pathlib.Path(sys.executable).with_name("jupyter-book")
ARTIFACTS = ROOT / "artifacts"


@dataclasses.dataclass(frozen=True)
class BookBuild:
    """The outcome of `jupyter-book build` on one source folder."""

    returncode: int
    log: str
    html: pathlib.Path
    seconds: float


def build_book(source: pathlib.Path, output: pathlib.Path) -> BookBuild:
    """Build `source` into a fresh `output/_build/html`, warnings as errors, nitpicky, keep going.

    `--keep-going` makes one run report every warning; `-W` still makes the run fail. The
    output folder must not exist yet, so no cached environment can hide a failure.
    """
    if output.exists():
        raise ValueError(f"build output folder must be fresh; {output} exists")
    start = time.perf_counter()
    proc = subprocess.run(
        [str(JUPYTER_BOOK), "build", str(source), "--path-output", str(output),
         "--builder", "html", "-W", "-n", "--keep-going"],
        cwd=source, capture_output=True, text=True, timeout=900,
    )
    return BookBuild(proc.returncode, proc.stdout + proc.stderr, output / "_build" / "html",
                     time.perf_counter() - start)


@pytest.fixture(scope="session")
def book_build(tmp_path_factory) -> BookBuild:
    """The whole book, built once per session from a clean folder.

    Under pytest-xdist every worker has its own session, so the first worker to ask builds the
    book behind a file lock in the run's shared temporary folder and the others reuse it.
    """
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    output, record = shared / "book", shared / "book-build.json"
    with open(shared / "book-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            result = build_book(ROOT, output)
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "book-build.log").write_text(
                f"jupyter-book build: exit {result.returncode} in {result.seconds:.1f} s\n\n{result.log}")
            record.write_text(json.dumps({**dataclasses.asdict(result), "html": str(result.html)}))
        data = json.loads(record.read_text())
    return BookBuild(data["returncode"], data["log"], pathlib.Path(data["html"]), data["seconds"])


@pytest.fixture(scope="session")
def built_html(request) -> pathlib.Path:
    """The built HTML folder; fails (rather than skips) the dependent test if the build failed.

    For debugging the browser test only, BOOK_HTML=path/to/_build/html reuses an existing build.
    """
    if os.environ.get("BOOK_HTML"):
        return pathlib.Path(os.environ["BOOK_HTML"]).resolve()
    book_build = request.getfixturevalue("book_build")
    if book_build.returncode != 0:
        pytest.fail("the book build failed (see test_book_builds_with_warnings_as_errors and "
                    "artifacts/book-build.log)", pytrace=False)
    return book_build.html
