"""Tests for lstm_course.heirs_study (the committed sweep and grid, the learning-rate rule, a re-run
sample) and benchmarks/scan.py."""
import json
import pathlib
import subprocess
import sys

import pytest
import torch

from lstm_course import heirs_study as S
from lstm_course.studies import load_results

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The re-run sample, chosen by cost and not by outcome: the four contenders with a fused or
# parallel form (the sLSTM's Python loop is the slow one) at the grid's shortest length, seed 0,
# each at the rate the sweep chose for it, on the task whose four runs took least time.
SAMPLE_NAMES = ("LSTM", "minLSTM", "mLSTM", "Transformer")
ACCURACY_TOLERANCE = 0.1  # training amplifies the kernels' last bits; the decision must not move


@pytest.fixture(scope="module")
def study():
    return load_results("heirs")


def _accuracy_rows(study, section):
    return [r for r in study["rows"] if r.get("section") == section]


def _sample(study):
    """``{contender: committed row}``: the re-run sample (see SAMPLE_NAMES)."""
    T, seed = min(study["config"]["lengths"]), study["config"]["seeds"][0]
    rows = {(r["task"], r["contender"]): r for r in _accuracy_rows(study, "grid")
            if (r["T"], r["seed"]) == (T, seed) and r["contender"] in SAMPLE_NAMES}
    task = min(S.TASKS, key=lambda t: sum(rows[t, name]["seconds"] for name in SAMPLE_NAMES))
    return {name: rows[task, name] for name in SAMPLE_NAMES}


def test_committed_results_cover_the_sweep_and_the_grid(study):
    config = study["config"]
    assert all(config[k] == v for k, v in S.CONFIG.items())
    assert config["trained"] == list(S.CONTENDERS)  # every contender trained, the sLSTM too
    sweep, grid = _accuracy_rows(study, "sweep"), _accuracy_rows(study, "grid")
    key = lambda r: (r["task"], r["contender"], r["T"], r["seed"], r["lr"], r["section"])
    assert [key(r) for r in sweep] == S.sweep_jobs()
    assert [key(r) for r in grid] == S.jobs(config["lr"])
    assert len(sweep) + len(grid) == sum("task" in r for r in study["rows"])
    assert len(config["seeds"]) >= 5
    assert not any("step_seconds" in r for r in study["rows"])  # the cost rows have their own file


def test_committed_cost_rows_cover_every_contender_and_length():
    cost = load_results("heirs_cost")
    assert all(cost["config"][k] == v for k, v in S.COST_CONFIG.items())
    assert cost["provenance"]["workers"] == 1 and cost["provenance"]["threads_per_run"] == 1
    assert [(r["contender"], r["T"]) for r in cost["rows"]] == [
        (name, T) for T in S.COST_CONFIG["lengths"] for name in S.CONTENDERS]
    assert all(r["step_seconds"] > 0 and r["activation_bytes"] > 0 for r in cost["rows"])


def test_the_rates_follow_from_the_sweep(study):
    lr = study["config"]["lr"]
    assert lr == S.choose_lr(_accuracy_rows(study, "sweep"))
    assert set(lr) == set(S.TASKS) and all(set(lr[task]) == set(S.CONTENDERS) for task in lr)
    assert all(rate in S.CONFIG["sweep"]["lrs"] for rates in lr.values() for rate in rates.values())


def _row(task, name, lr, solved, accuracy):
    return dict(section="sweep", task=task, contender=name, T=16, seed=0, lr=lr, solved=solved,
                accuracy=accuracy)


def test_choose_lr_rule():
    rows = [  # LSTM: most solved wins, even at a lower mean accuracy
        _row("adding", "LSTM", 1e-2, True, 0.91), _row("adding", "LSTM", 1e-2, False, 0.10),
        _row("adding", "LSTM", 3e-2, False, 0.85), _row("adding", "LSTM", 3e-2, False, 0.85),
        # mLSTM: equal counts, the higher mean accuracy wins
        _row("adding", "mLSTM", 3e-3, False, 0.40), _row("adding", "mLSTM", 1e-2, False, 0.60),
        # Transformer: equal counts and accuracies, the smaller rate wins
        _row("adding", "Transformer", 3e-2, True, 0.95), _row("adding", "Transformer", 1e-2, True, 0.95),
        _row("recall", "LSTM", 3e-3, False, 0.5),
        dict(_row("recall", "LSTM", 3e-2, True, 1.0), section="grid"),  # not a sweep row: ignored
    ]
    assert S.choose_lr(rows) == {"adding": {"LSTM": 1e-2, "mLSTM": 1e-2, "Transformer": 1e-2},
                                 "recall": {"LSTM": 3e-3}}


def test_choose_lr_bad_input():
    with pytest.raises(ValueError, match="no rows of section 'sweep'"):
        S.choose_lr([])
    with pytest.raises(ValueError, match="no rows of section 'sweep'"):
        S.choose_lr([dict(_row("adding", "LSTM", 1e-2, True, 1.0), section="grid")])


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_rerun_sample_makes_the_same_decision(study, name):
    committed = _sample(study)[name]
    job = tuple(committed[k] for k in ("task", "contender", "T", "seed", "lr", "section"))
    assert committed["lr"] == study["config"]["lr"][committed["task"]][name]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the study's workers ran
    try:
        row = S.run_accuracy(*job)
    finally:
        torch.set_num_threads(threads)
    assert row["solved"] == committed["solved"]
    assert row["parameters"] == committed["parameters"]
    assert abs(row["accuracy"] - committed["accuracy"]) <= ACCURACY_TOLERANCE


def test_activation_bytes_depend_on_shapes_only():
    committed = {(r["contender"], r["T"]): r for r in load_results("heirs_cost")["rows"]}
    for name in ("LSTM", "Transformer"):
        assert S.run_cost(name, 64, dict(S.COST_CONFIG, reps=1))["activation_bytes"] == \
            committed[name, 64]["activation_bytes"]


def test_bad_input():
    with pytest.raises(ValueError, match="contender must be one of"):
        S.make_model("GRU", "adding", 0)
    with pytest.raises(ValueError, match="task must be one of"):
        S.make_model("LSTM", "copy", 0)
    with pytest.raises(ValueError, match="seed must be at least 0"):
        S.make_model("LSTM", "adding", -1)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        S.run_accuracy("adding", "LSTM", 8, 0, 0.0)
    with pytest.raises(ValueError, match="section must be one of"):
        S.run_accuracy("adding", "LSTM", 8, 0, 1e-2, section="grid search")


def test_benchmark_smoke(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scan.py"), "--quick", "--threads", "1",
                             "--json", str(out)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "ratio = loop / method" in result.stdout and "hillis_steele" in result.stdout
    rows = json.loads(out.read_text())["rows"]
    assert {r["method"] for r in rows} == {"sequential", "hillis_steele", "blelloch", "closed_form", "log"}
    assert all(r["correct"] for r in rows if r["method"] in ("hillis_steele", "blelloch"))


def test_the_cost_part_alone_writes_its_own_file(tmp_path, monkeypatch):
    """`--part cost` times every contender at each length and writes only the cost file."""
    monkeypatch.setattr(S, "COST_CONFIG", dict(lengths=[16], batch=2, reps=1))
    out, runs = tmp_path / "cost.json", tmp_path / "runs.json"
    S.main(["--part", "cost", "--cost-out", str(out), "--out", str(runs)])
    written = json.loads(out.read_text())
    assert [(r["contender"], r["T"]) for r in written["rows"]] == [(name, 16) for name in S.CONTENDERS]
    assert written["config"]["reps"] == 1 and not runs.exists()
