"""The GitHub Actions workflows: valid for GitHub, and doing what book/contributing.md says.

Validity is checked with check-jsonschema (pinned in requirements.txt) against the GitHub-workflow
schema that ships inside it (`--builtin-schema vendor.github-workflows`), so nothing is downloaded:
the run goes through a proxy that refuses every connection, and would fail if it tried. The rest
reads the workflows: the book is built with `make book` and deployed to Pages on pushes to main,
pull requests run `.ci/run`, the Colab check runs weekly and before every release.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

from .conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "ALL_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}


def lint(*paths) -> subprocess.CompletedProcess:
    env = {**os.environ, **OFFLINE, **{k.lower(): v for k, v in OFFLINE.items()}}
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.github-workflows", *map(str, paths)],
                          capture_output=True, text=True, env=env, timeout=120)


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf8"))
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as True
    return workflow


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def uses(job: dict, action: str) -> list[dict]:
    return [s for s in steps(job) if s.get("uses", "").split("@")[0] == action]


def runs(job: dict) -> str:
    return "\n".join(s.get("run", "") for s in steps(job))


def test_every_workflow_passes_the_linter_offline():
    files = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
    assert {p.name for p in files} >= {"pages.yml", "tests.yml", "colab-check.yml", "release.yml"}, files
    proc = lint(*files)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_linter_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("name: broken\non: push\njobs:\n  build:\n    steps:\n      - run: make book\n")
    proc = lint(broken)
    assert proc.returncode != 0 and "runs-on" in proc.stdout, proc.stdout + proc.stderr


def test_pages_builds_with_make_book_and_deploys_on_pushes_to_main():
    workflow = load("pages.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["group"] and workflow["concurrency"]["cancel-in-progress"] is False
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert re.search(r"^make book$", runs(build), re.M), "the book must be built by `make book`"
    (upload,) = uses(build, "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build" and uses(deploy, "actions/deploy-pages")
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert workflow["permissions"] == {"contents": "read"}, "only the deploy job may write"
    # `make book` is the strict build: from a clean folder, warnings are errors.
    makefile = (ROOT / "Makefile").read_text(encoding="utf8")
    assert re.search(r"^book: venv\n\trm -rf _build\n.*-W -n --keep-going", makefile, re.M | re.S)


def test_pull_requests_run_the_test_command():
    workflow = load("tests.yml")
    assert "pull_request" in workflow["on"]
    (job,) = workflow["jobs"].values()
    assert re.search(r"^\.ci/run$", runs(job), re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf8")


def test_the_colab_check_runs_weekly_and_before_each_release():
    workflow = load("colab-check.yml")
    (schedule,) = workflow["on"]["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month) == ("*", "*") and weekday.isdigit(), f"not weekly: {schedule['cron']}"
    assert "workflow_call" in workflow["on"]
    (job,) = workflow["jobs"].values()
    assert "make colab-check" in runs(job)

    release = load("release.yml")
    assert release["on"]["push"]["tags"] == ["v*"]
    assert release["jobs"]["colab-check"]["uses"] == "./.github/workflows/colab-check.yml"
    publish = release["jobs"]["publish"]
    assert publish["needs"] == "colab-check"
    assert uses(publish, "pypa/gh-action-pypi-publish")
    assert "twine check --strict" in runs(publish)


@pytest.mark.parametrize("name", ["pages.yml", "tests.yml", "colab-check.yml"])
def test_torch_comes_from_the_cpu_index(name):
    """An unpinned index would give pip the CUDA build of torch: gigabytes for nothing."""
    installing = [job for job in load(name)["jobs"].values() if re.search(r"make|\.ci/run", runs(job))]
    assert installing, name
    for job in installing:
        assert job.get("env", {}).get("PIP_EXTRA_INDEX_URL") == "https://download.pytorch.org/whl/cpu", name
