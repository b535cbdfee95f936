"""Binder's environment holds every run-time dependency of the package, at the pinned versions.

`binder/postBuild` installs the course's package with `--no-deps` (so that it cannot change the
pins), so every dependency in `pyproject.toml` must be pinned in `binder/requirements.txt`
itself; tests/test_book_pipeline.py checks that those pins equal the root requirements.txt. The
launch buttons are built from `repository` in `_config.yml`, the one setting that names the
repository and branch; the launch settings name only the services.
"""
from __future__ import annotations

import re
import sys
import tomllib

import yaml

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import colab_check  # noqa: E402


def test_binder_pins_every_dependency_of_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf8"))["project"]
    needed = {re.split(r"[<>=!~ \[;]", r, maxsplit=1)[0].lower() for r in project["dependencies"]}
    pinned = set(colab_check.pins(ROOT / "binder" / "requirements.txt"))
    assert needed <= pinned, f"binder/requirements.txt lacks pins for {sorted(needed - pinned)}"
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text(encoding="utf8")


def test_launch_buttons_take_the_repository_from_one_setting():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    assert config["repository"]["url"].startswith("https://github.com/") and config["repository"]["branch"]
    launch = config["launch_buttons"]
    assert set(launch) <= {"notebook_interface", "binderhub_url", "colab_url", "thebe", "jupyterhub_url"}
    assert not any("github.com" in str(value) for value in launch.values()), launch
