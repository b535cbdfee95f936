"""Tests for lstm_course.heirs_study (the committed comparison and a re-run sample) and benchmarks/scan.py."""
import pathlib
import subprocess
import sys

import pytest

from lstm_course import heirs_study as S
from lstm_course.studies import load_results

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The re-run sample, chosen by cost and not by outcome: the four fast contenders on associative
# recall at the shortest length, seed 0 (a few seconds each on one thread).
SAMPLE = [("associative recall", name, 6, 0) for name in ("LSTM", "minLSTM", "mLSTM", "Transformer")]
ACCURACY_TOLERANCE = 0.1  # training amplifies the kernels' last bits; the decision must not move


@pytest.fixture(scope="module")
def study():
    return load_results("heirs")


def test_committed_results_cover_the_grid(study):
    config = study["config"]
    assert all(config[k] == v for k, v in S.CONFIG.items())
    acc = [r for r in study["rows"] if "task" in r]
    assert sorted((r["task"], r["contender"], r["T"], r["seed"]) for r in acc) == sorted(S.jobs())
    assert len(config["seeds"]) >= 5
    cost = [r for r in study["rows"] if "step_seconds" in r]
    assert sorted((r["contender"], r["T"]) for r in cost) == sorted(
        (name, T) for name in S.CONTENDERS for T in config["cost_lengths"])


@pytest.mark.parametrize("job", SAMPLE, ids=lambda j: j[1])
def test_rerun_sample_makes_the_same_decision(study, job):
    committed = next(r for r in study["rows"] if "task" in r and (r["task"], r["contender"], r["T"], r["seed"]) == job)
    row = S.run_accuracy(*job)
    assert row["solved"] == committed["solved"]
    assert row["parameters"] == committed["parameters"]
    assert abs(row["accuracy"] - committed["accuracy"]) <= ACCURACY_TOLERANCE


def test_activation_bytes_depend_on_shapes_only(study):
    committed = {(r["contender"], r["T"]): r for r in study["rows"] if "step_seconds" in r}
    for name in ("LSTM", "Transformer"):
        assert S.run_cost(name, 64, dict(S.CONFIG, cost_reps=1))["activation_bytes"] == \
            committed[name, 64]["activation_bytes"]


def test_bad_input():
    with pytest.raises(ValueError, match="contender must be one of"):
        S.make_model("GRU", "adding", 0)
    with pytest.raises(ValueError, match="task must be one of"):
        S.make_model("LSTM", "copy", 0)
    with pytest.raises(ValueError, match="seed must be at least 0"):
        S.make_model("LSTM", "adding", -1)


def test_benchmark_smoke(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scan.py"), "--quick", "--threads", "1",
                             "--json", str(out)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "ratio = loop / method" in result.stdout and "hillis_steele" in result.stdout
    import json
    rows = json.loads(out.read_text())["rows"]
    assert {r["method"] for r in rows} == {"sequential", "hillis_steele", "blelloch", "closed_form", "log"}
    assert all(r["correct"] for r in rows if r["method"] in ("hillis_steele", "blelloch"))
