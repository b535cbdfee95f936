"""Binder's environment holds every run-time dependency of the package, at the pinned versions.

`binder/postBuild` installs the course's package with `--no-deps` (so that it cannot change the
pins), so every dependency in `pyproject.toml` must be pinned in `binder/requirements.txt`
itself; tests/test_book_pipeline.py checks that those pins equal the root requirements.txt. The
launch buttons are built from `repository` in `_config.yml`, the one setting that names the
repository and branch; the launch settings name only the services.
"""
from __future__ import annotations

import re
import tomllib

import yaml

from .conftest import ROOT


def test_binder_pins_every_dependency_of_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf8"))["project"]
    needed = {re.split(r"[<>=!~ \[;]", r, maxsplit=1)[0].lower() for r in project["dependencies"]}
    text = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf8")
    pinned = {m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9_.-]+)==\S+", text, re.M)}
    assert needed <= pinned, f"binder/requirements.txt lacks pins for {sorted(needed - pinned)}"
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text(encoding="utf8")


def test_launch_buttons_take_the_repository_from_one_setting():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    assert config["repository"]["url"].startswith("https://github.com/") and config["repository"]["branch"]
    launch = config["launch_buttons"]
    assert set(launch) <= {"notebook_interface", "binderhub_url", "colab_url", "thebe", "jupyterhub_url"}
    assert not any("github.com" in str(value) for value in launch.values()), launch
