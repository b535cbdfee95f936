"""Keep the set-up cell of every notebook in step with the repository named in `_config.yml`.

Usage: python tools/sync_setup_cells.py [--check] [PATH ...]
       (default: every notebook in book/ and notebooks/)

The first code cell of every notebook (tag `setup`) makes `lstm_course` importable. Locally and in
Binder, where the package is already installed, it does nothing. In Colab it pip-installs this
version of the package by name (`lstm_course==<version>`, the version in `lstm_course/__init__.py`)
and, if the package index does not have it (before the release, or offline), the same package
from the repository. Either way it passes pip the torch and NumPy that are installed as exact
requirements, so pip may add the other dependencies but can never replace those two (the package
asks only lower bounds of them anyway). Its text is generated here from the package version and
from `repository.url` and `repository.branch` in `_config.yml`, the one place that names the
repository, so a fork changes that file and runs this tool. The cell carries the tags `setup` and
`remove-cell` (it is not shown in the online book, where it would be noise; Colab and Binder users
see it).

Without --check, rewrites the notebooks that differ (only that cell; outputs are untouched, the
cell has none). With --check, changes nothing and exits 1 if any notebook is out of step.
"""
from __future__ import annotations

import argparse
import pathlib
import re
import sys

import nbformat
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from notebook_checks import all_notebooks, code_cells  # noqa: E402

TAGS = ["setup", "remove-cell"]
TEMPLATE = '''\
# Set-up: make `lstm_course` importable (installs it in Colab; nothing to do elsewhere).
import importlib.metadata, importlib.util, subprocess, sys
if importlib.util.find_spec("lstm_course") is None:
    # The installed torch and NumPy as exact requirements: pip may add, never replace.
    keep = [f"{{name}}=={{importlib.metadata.version(name)}}" for name in ("torch", "numpy")
            if importlib.util.find_spec(name) is not None]
    pip = [sys.executable, "-m", "pip", "install", "-q", *keep]
    # This version from the package index; if the index lacks it, from the repository.
    if subprocess.run([*pip, "lstm_course=={version}"], capture_output=True).returncode != 0:
        repository = "lstm_course @ git+{url}@{branch}"
        subprocess.run([*pip, repository], check=True)'''


def repository(config_path: pathlib.Path = ROOT / "_config.yml") -> tuple[str, str]:
    """The repository URL (without a trailing `.git` or `/`) and branch from `_config.yml`."""
    config = yaml.safe_load(config_path.read_text(encoding="utf8"))
    repo = config.get("repository") or {}
    url, branch = repo.get("url"), repo.get("branch")
    if not url or not branch:
        raise ValueError(f"{config_path} needs repository.url and repository.branch; got {repo!r}")
    url = str(url).rstrip("/")
    if url.endswith(".git"):
        url = url[: -len(".git")]
    return url, str(branch)


def package_version(root: pathlib.Path = ROOT) -> str:
    """`lstm_course.__version__`, read from `lstm_course/__init__.py` without importing the package."""
    init = root / "lstm_course" / "__init__.py"
    match = re.search(r'^__version__ = "([^"]+)"$', init.read_text(encoding="utf8"), re.M)
    if not match:
        raise ValueError(f'{init} needs a line __version__ = "X.Y.Z"')
    return match.group(1)


def setup_source(url: str, branch: str, version: str | None = None) -> str:
    """The exact text of the set-up cell for this repository, branch and package version.

    `version` defaults to the package's own, `lstm_course.__version__`.
    """
    return TEMPLATE.format(url=url, branch=branch, version=version or package_version())


def sync(nb, source: str) -> list[str]:
    """Bring `nb`'s set-up cell in step (in memory); return what was changed."""
    cells = code_cells(nb)
    changes = []
    first = cells[0] if cells else None
    if first is None:
        return changes  # a notebook without code needs no set-up
    if "setup" not in first.metadata.get("tags", []) and "find_spec(\"lstm_course\")" not in first.source:
        # No set-up cell at all: insert one before the first code cell.
        new = nbformat.v4.new_code_cell(source=source, metadata={"tags": list(TAGS)})
        if nb.nbformat_minor < 5:  # cell ids exist from nbformat 4.5 on
            del new["id"]
        nb.cells.insert(nb.cells.index(first), new)
        return ["inserted the set-up cell (re-execute the notebook)"]
    if first.source != source:
        first.source = source
        changes.append("rewrote the set-up cell's source")
    tags = first.metadata.get("tags", [])
    missing = [t for t in TAGS if t not in tags]
    if missing:
        first.metadata["tags"] = list(tags) + missing
        changes.append(f"added tags {missing}")
    return changes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if out of step")
    parser.add_argument("--config", type=pathlib.Path, default=ROOT / "_config.yml")
    parser.add_argument("paths", nargs="*", type=pathlib.Path)
    args = parser.parse_args(argv)
    source = setup_source(*repository(args.config))
    paths = args.paths or all_notebooks()
    stale = 0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        changes = sync(nb, source)
        if not changes:
            continue
        stale += 1
        if args.check:
            print(f"out of step: {path}: would have {'; '.join(changes)}")
        else:
            nbformat.write(nb, path)
            print(f"updated {path}: {'; '.join(changes)}")
    if args.check and stale:
        print(f"{stale} notebook(s) out of step with _config.yml or the package version; "
              "run `python tools/sync_setup_cells.py`")
        return 1
    print(f"{len(paths)} notebook(s) checked, {stale} {'out of step' if args.check else 'updated'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
