"""One version for the package and the book: `lstm_course.__version__`, stated everywhere it is shown.

`pyproject.toml` reads it from the package, `_config.yml` passes it to the front page as the
substitution `{{ version }}`, the changelog's newest entry is that version, and the set-up cell
of every notebook installs it by name (tests/test_install_cell.py). A release changes the one line
in `lstm_course/__init__.py`; these tests name every other place that must follow.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tomllib

import pytest
import yaml

import lstm_course

from .conftest import JUPYTER_BOOK, ROOT

# X.Y.Z, or X.Y.Z+label in a fork that changes the package (see "Forking" in book/contributing.md).
RELEASE = r"\d+\.\d+\.\d+(?:\+[a-z0-9.]+)?"
VERSION_HEADING = re.compile(rf"^## \[({RELEASE})\] - (unreleased|\d{{4}}-\d{{2}}-\d{{2}})$", re.M)


def test_the_version_is_a_release_number():
    assert re.fullmatch(RELEASE, lstm_course.__version__), lstm_course.__version__


def test_pyproject_reads_the_version_from_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf8"))
    assert "version" not in project["project"], "pyproject.toml states a version of its own"
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "lstm_course.__version__"}


def test_the_changelog_starts_with_this_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf8")
    entries = VERSION_HEADING.findall(text)
    headings = re.findall(r"^## .*$", text, re.M)
    assert len(entries) == len(headings), f"headings not of the form '## [X.Y.Z] - date': {headings}"
    versions = [tuple(map(int, v.split("+")[0].split("."))) for v, _ in entries]
    assert versions == sorted(set(versions), reverse=True), f"versions not newest first, or repeated: {entries}"
    assert entries[0][0] == lstm_course.__version__, (
        f"CHANGELOG.md's newest entry is {entries[0][0]}; lstm_course.__version__ is {lstm_course.__version__}")
    assert all(date != "unreleased" for _, date in entries[1:]), "only the newest entry may be unreleased"


def test_the_front_page_substitution_is_the_package_version():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    stated = config["parse"]["myst_substitutions"]["version"]
    assert stated == lstm_course.__version__, (
        f"_config.yml states version {stated!r}; lstm_course.__version__ is {lstm_course.__version__!r}")
    assert "substitution" in config["parse"]["myst_enable_extensions"]
    assert "{{ version }}" in (ROOT / "book" / "intro.md").read_text(encoding="utf8")


@pytest.mark.book
def test_the_front_page_shows_the_version(tmp_path):
    """The substitution really renders: a one-page book with the real `_config.yml` and intro text."""
    source = tmp_path / "book-src"
    (source / "book").mkdir(parents=True)
    config = (ROOT / "_config.yml").read_text(encoding="utf8")
    (source / "_config.yml").write_text(config, encoding="utf8")
    for name in ("references.bib", "logo.svg"):
        (source / "book" / name).write_bytes((ROOT / "book" / name).read_bytes())
    for name in ("_ext", "_static", "_bib"):  # every folder the configuration names
        shutil.copytree(ROOT / "book" / name, source / "book" / name, ignore=shutil.ignore_patterns("__pycache__"))
    # The real front page up to its first cross-reference (a one-page book has no other pages).
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf8").split("## Who this course is for")[0]
    (source / "book" / "intro.md").write_text(intro, encoding="utf8")
    (source / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n", encoding="utf8")
    proc = subprocess.run([str(JUPYTER_BOOK), "build", str(source), "--path-output", str(tmp_path / "out"),
                           "--builder", "html", "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    html = (tmp_path / "out" / "_build" / "html" / "book" / "intro.html").read_text(encoding="utf8")
    text = re.sub(r"<[^>]+>", "", html)
    assert f"This is version {lstm_course.__version__} of the course" in text
    assert "{{" not in text
