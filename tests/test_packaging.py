"""The package as a user installs it: `python -m build`, `twine check`, and the wheel in a fresh venv.

The sdist and the wheel are built from a copy of the checkout (so nothing is written into the
repository) with build isolation, as a release is built. Their contents are compared with the
package folder: every file of `lstm_course/` (the novel's text and its SOURCE file included) and
nothing that only the repository needs. The wheel is then installed with `--no-deps` into a fresh
virtual environment outside the repository. The heavy dependencies (torch, NumPy, matplotlib,
ipywidgets, tqdm) are made importable from this test run's own environment by a `.pth` file
written *after* the install, so pip cannot have used them, and a line in a `.pth` file adds a
folder to `sys.path` without processing the `.pth` files inside it (where an editable install of
the repository would live). Every public module is imported there, in isolated mode from a
temporary folder, and must come from the fresh environment. About 30 s, most of it the build.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile

import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import colab_check  # noqa: E402
from sync_setup_cells import package_version  # noqa: E402  (read without importing lstm_course)

HEAVY_DEPENDENCIES = ("torch", "numpy", "matplotlib", "ipywidgets", "tqdm")
# Top-level entries of the sdist besides the package: metadata and the files that build it.
SDIST_EXTRAS = {"PKG-INFO", "pyproject.toml", "setup.cfg", "README.md", "LICENSE", "MANIFEST.in",
                "lstm_course.egg-info"}


def package_files() -> set[str]:
    """Every file of the package folder in the checkout (tracked or new), as archive paths."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "lstm_course"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return {p for p in listed if (ROOT / p).is_file()}


def public_modules() -> set[str]:
    """Dotted names of the package's public modules: no part of the name starts with `_`."""
    names = set()
    for path in package_files():
        if not path.endswith(".py"):
            continue
        parts = path[: -len(".py")].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(p.startswith("_") for p in parts):
            names.add(".".join(parts))
    return names


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that could point Python at the repository."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, pathlib.Path]:
    """sdist and wheel built by `python -m build` from a copy of the checkout's files."""
    base = tmp_path_factory.mktemp("packaging")
    source = colab_check.copy_checkout(base / "source")
    out = base / "dist"
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(source)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, "python -m build failed:\n" + (proc.stdout + proc.stderr)[-4000:]
    version = package_version()
    sdist, wheel = out / f"lstm_course-{version}.tar.gz", out / f"lstm_course-{version}-py3-none-any.whl"
    assert sdist.is_file() and wheel.is_file(), f"expected {sdist.name} and {wheel.name}; got {os.listdir(out)}"
    return {"sdist": sdist, "wheel": wheel, "base": base}


def test_twine_check_passes(dist):
    proc = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(dist["sdist"]),
                           str(dist["wheel"])], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_archives_hold_the_package_and_its_data_and_nothing_else(dist):
    expected = package_files()
    assert {"lstm_course/data/pride_and_prejudice.txt", "lstm_course/data/SOURCE.md",
            "lstm_course/data/weights/charlm_lstm_seed0.pt"} <= expected

    with zipfile.ZipFile(dist["wheel"]) as wheel:
        in_wheel = set(wheel.namelist())
        metadata = wheel.read(f"lstm_course-{package_version()}.dist-info/METADATA").decode()
    missing = expected - in_wheel
    assert not missing, f"files of lstm_course/ missing from the wheel: {sorted(missing)}"
    extra = {n for n in in_wheel - expected if not n.startswith(f"lstm_course-{package_version()}.dist-info/")}
    assert not extra, f"the wheel holds files that are not in lstm_course/: {sorted(extra)}"
    assert f"\nVersion: {package_version()}\n" in metadata
    # Lower bounds only, so that installing the package never replaces Colab's torch or numpy.
    requires = re.findall(r"^Requires-Dist: (.+)$", metadata, re.M)
    assert requires and all(re.fullmatch(r"[\w-]+>=[\d.]+", r) for r in requires), requires
    assert {re.split(r">=", r)[0] for r in requires} == set(HEAVY_DEPENDENCIES), requires

    prefix = f"lstm_course-{package_version()}/"
    with tarfile.open(dist["sdist"]) as sdist:
        names = [m.name for m in sdist.getmembers() if m.isfile()]
    assert all(n.startswith(prefix) for n in names), names[:5]
    names = {n[len(prefix):] for n in names}
    missing = expected - names
    assert not missing, f"files of lstm_course/ missing from the sdist: {sorted(missing)}"
    top = {n.split("/")[0] for n in names} - {"lstm_course"}
    assert top <= SDIST_EXTRAS, f"the sdist holds repository-only files: {sorted(top - SDIST_EXTRAS)}"
    stray = {n for n in names if n.startswith("lstm_course/") and n not in expected}
    assert not stray, f"the sdist holds files that are not in lstm_course/: {sorted(stray)}"


IMPORT_EVERY_MODULE = """
import importlib, json, sys, lstm_course
found = {}
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    found[name] = module.__file__
from lstm_course import text
found["text characters"] = len(text.load_text())
found["version"] = lstm_course.__version__
found["prefix"] = sys.prefix
print(json.dumps(found))
"""


def test_the_wheel_imports_in_a_fresh_environment(dist):
    venv = dist["base"] / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                           str(dist["wheel"])], capture_output=True, text=True, env=clean_env(), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Only now the heavy dependencies, from this run's environment (see the module docstring).
    folders = []
    for name in HEAVY_DEPENDENCIES:
        spec = importlib.util.find_spec(name)
        assert spec and spec.submodule_search_locations, f"{name} is not importable in the test run"
        folder = str(pathlib.Path(next(iter(spec.submodule_search_locations))).parent)
        if folder not in folders:
            folders.append(folder)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True, env=clean_env()).stdout.strip()
    (pathlib.Path(site) / "zz_heavy_dependencies.pth").write_text("\n".join(folders) + "\n")

    modules = sorted(public_modules())
    assert {"lstm_course", "lstm_course.numpy", "lstm_course.torch", "lstm_course.text"} <= set(modules)
    proc = subprocess.run([str(python), "-I", "-c", IMPORT_EVERY_MODULE, *modules],
                          cwd=dist["base"], capture_output=True, text=True, env=clean_env(), timeout=300)
    assert proc.returncode == 0, "importing the installed wheel failed:\n" + proc.stderr[-4000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found.pop("version") == package_version()
    assert found.pop("text characters") > 100_000  # the shipped novel, read through importlib.resources
    prefix = pathlib.Path(found.pop("prefix")).resolve()
    assert prefix == venv.resolve(), prefix
    outside = {name: file for name, file in found.items()
               if not pathlib.Path(file).resolve().is_relative_to(pathlib.Path(site).resolve())}
    assert not outside, f"modules imported from outside the fresh environment: {outside}"


# Imports at module level that the package does not declare, each with the reason it is allowed.
# (None: the student versions and grading of the labs are nbgrader's, driven by tools/nbgrader_course.py.)
KNOWN_UNDECLARED = {}


def test_every_module_level_import_is_a_declared_dependency():
    """A module that imports an undeclared package at import time fails for users of the wheel."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf8"))["project"]
    declared = {re.split(r"[<>=!~ \[;]", r, maxsplit=1)[0].lower() for r in project["dependencies"]}
    undeclared = {}
    for path in sorted(package_files()):
        if not path.endswith(".py"):
            continue
        tree = ast.parse((ROOT / path).read_text(encoding="utf8"))
        names = set()
        for node in tree.body:  # module level only: a lazy import inside a function is optional
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
        third_party = {n for n in names if n not in sys.stdlib_module_names and n != "lstm_course"}
        if third_party - declared:
            undeclared[path] = third_party - declared
    assert undeclared == KNOWN_UNDECLARED, (
        f"module-level imports of undeclared packages: {undeclared}; declare them in pyproject.toml "
        f"(or, if one was removed, drop it from KNOWN_UNDECLARED)")
