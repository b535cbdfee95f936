"""Tests for lstm_course.studies: the committed long-range results, a re-run sample, bad input."""
import json
import math

import pytest
import torch

from lstm_course import studies
from lstm_course.models import count_parameters
from lstm_course.studies import (CELLS, LONG_RANGE_TASKS, hidden_size, load_results, long_range_config,
                                 long_range_jobs, make_model, run_long_range, run_parallel, save_results)

# The re-run sample, chosen by cost and not by outcome: every task and cell at the shortest
# length, T = 50 (9 of the 27 rows, about 20 s of CPU on one thread of the 2-core AMD EPYC).
SAMPLE = [(task, cell, 50, 0) for task in LONG_RANGE_TASKS for cell in CELLS]

# How far a re-run may be from the committed row, measured on the SAMPLE under five kernel
# profiles (each in a fresh process, torch 2.13.0+cpu, AMD EPYC, AVX2); tools/study_spread.py
# repeats the measurement with the notebooks' profiles (tools/output_spread.py), sse2 among them:
#
# * the same kernels as the file (native on 1 or 2 threads, or MKL limited to AVX): every
#   decision and solved step equal; the largest relative difference of any held-out loss was
#   1.5e-5 (copy, LSTM, 2 threads; 6-digit rounding of the file alone gives up to 5e-6).
#   SAME_KERNELS_RTOL = 1e-4 leaves a margin of about 7.
# * other kernels (ATEN_CPU_CAPABILITY=default, alone or with ONEDNN_MAX_CPU_ISA=SSE41,
#   MKL_ENABLE_INSTRUCTIONS=SSE4_2, OPENBLAS_CORETYPE=Nehalem): every decision equal, but
#   training amplifies the last bits: temporal order/LSTM solved after 350 updates instead of
#   325 (one evaluation later) with a final loss 0.17-0.26 instead of 0.46; adding/RNN, not
#   solved, ended at 0.98 instead of 1.58 times the baseline (a factor 1.61; already a factor
#   5.6 apart at the first evaluation); temporal order/GRU's final loss moved by 10 %.
#   Across kernels the test compares what the chapter reads: the decision, the solved step
#   within OTHER_KERNELS_STEPS = 2 evaluations (measured: 1), and for unsolved rows the
#   relative loss within a factor OTHER_KERNELS_FACTOR = 2.5 (measured: 1.61, margin 1.5).
# "The same kernels" means the torch version, CPU model and torch's CPU capability recorded in
# the file's provenance are this machine's.
# Outside the sample (measured after the sample was fixed, with --rows all): one decision of the
# 27 flips between kernels, temporal order/LSTM/T = 100: solved after 300 updates natively, 250
# under SSE everywhere, not solved (loss at the baseline) under ATen scalar kernels; the
# notebook's committed output says 150. A single seed's outcome, not a property of the LSTM.
SAME_KERNELS_RTOL = 1e-4
OTHER_KERNELS_STEPS = 2
OTHER_KERNELS_FACTOR = 2.5

ROW_KEYS = {"task", "cell", "T", "seed", "lr", "hidden_size", "parameters", "solved", "solved_step", "updates",
            "diverged", "final_eval_loss", "relative_loss", "eval_step", "eval_loss", "eval_accuracy", "seconds"}
ROUNDING = 1e-5  # the file keeps 6 significant digits


@pytest.fixture(scope="module")
def committed():
    return load_results("long_range")


@pytest.fixture
def one_thread():
    """Run as the study does: torch on one thread (restored afterwards)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def key(row):
    return row["task"], row["cell"], row["T"], row["seed"]


def meets_target(task, T, loss, accuracy, slack=0.0):
    """The task's success rule, with a relative slack for the file's rounding."""
    spec = LONG_RANGE_TASKS[task]
    if spec["metric"] == "accuracy":
        return accuracy >= spec["target"](T) * (1 - slack)
    return loss <= spec["target"](T) * (1 + slack)


def test_committed_file_has_the_default_grid_and_its_config(committed):
    assert committed["name"] == "long_range"
    assert committed["config"] == long_range_config(False)
    assert [key(row) for row in committed["rows"]] == long_range_jobs(long_range_config(False))
    provenance = committed["provenance"]
    for field in ("lstm_course", "torch", "numpy", "cpu", "cpu_capability", "date", "command", "wall_time_s"):
        assert provenance[field] not in (None, ""), field
    assert provenance["threads_per_run"] == 1 and provenance["command"].startswith("python -m lstm_course.studies")


def test_every_committed_row_is_consistent(committed):
    config = committed["config"]
    for row in committed["rows"]:
        where = key(row)
        task, cell, T, _ = where
        spec = LONG_RANGE_TASKS[task]
        assert set(row) == ROW_KEYS, where
        assert row["hidden_size"] == hidden_size(cell, task), where
        assert row["parameters"] == count_parameters(cell, spec["D"], row["hidden_size"], spec["O"]), where
        assert row["lr"] == config["lr"][task], where
        steps, losses, accuracies = row["eval_step"], row["eval_loss"], row["eval_accuracy"]
        assert len(steps) == len(losses) == len(accuracies) >= 1, where
        every = config["eval_every"]
        assert steps == [every * (i + 1) for i in range(len(steps) - 1)] + [row["updates"]], where
        assert steps[-1] - steps[-2 if len(steps) > 1 else -1] <= every, where
        assert not row["diverged"] and 1 <= row["updates"] <= config["max_steps"][task], where
        assert row["final_eval_loss"] == losses[-1], where
        assert math.isclose(row["relative_loss"], losses[-1] / spec["baseline"](T), rel_tol=ROUNDING), where
        # solved iff the rule was met, first at the last evaluation, which is then solved_step
        assert row["solved"] == (row["solved_step"] is not None), where
        assert not any(meets_target(task, T, l, a, -ROUNDING) for l, a in zip(losses[:-1], accuracies[:-1])), where
        if row["solved"]:
            assert row["solved_step"] == row["updates"] == steps[-1], where
            assert meets_target(task, T, losses[-1], accuracies[-1], ROUNDING), where
        else:
            assert row["updates"] == config["max_steps"][task], where
            assert not meets_target(task, T, losses[-1], accuracies[-1], -ROUNDING), where


def same_kernels(provenance) -> bool:
    return (provenance["torch"] == torch.__version__ and provenance["cpu"] == studies._cpu_model()
            and provenance["cpu_capability"] == torch.backends.cpu.get_cpu_capability())


@pytest.mark.parametrize("job", SAMPLE, ids=[f"{task}-{cell}-T{T}" for task, cell, T, _ in SAMPLE])
def test_sampled_rows_reproduce(committed, one_thread, job):
    old = {key(row): row for row in committed["rows"]}[job]
    new = run_long_range(*job, config=committed["config"])
    assert new["solved"] == old["solved"], f"{job}: the decision changed"
    if same_kernels(committed["provenance"]):
        assert new["solved_step"] == old["solved_step"] and new["eval_step"] == old["eval_step"], job
        for name in ("eval_loss", "eval_accuracy"):
            assert new[name] == pytest.approx(old[name], rel=SAME_KERNELS_RTOL), f"{job}: {name}"
        assert new["relative_loss"] == pytest.approx(old["relative_loss"], rel=SAME_KERNELS_RTOL), job
    elif new["solved"]:
        every = committed["config"]["eval_every"]
        assert abs(new["solved_step"] - old["solved_step"]) <= OTHER_KERNELS_STEPS * every, f"{job} (other kernels)"
    else:
        ratio = new["relative_loss"] / old["relative_loss"]
        assert 1 / OTHER_KERNELS_FACTOR <= ratio <= OTHER_KERNELS_FACTOR, f"{job} (other kernels): {ratio:.2f}"


TINY = dict(long_range_config(), max_steps={task: 10 for task in LONG_RANGE_TASKS}, batch=8, eval_every=5,
            eval_size=16)
TINY_JOBS = [("adding", "rnn", 10, 0), ("copy", "lstm", 10, 1), ("temporal order", "gru", 10, 0),
             ("adding", "lstm", 12, 2)]


def without_time(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_run_parallel_two_workers_equal_one(one_thread):
    import functools

    fn = functools.partial(run_long_range, config=TINY)
    one = run_parallel(fn, TINY_JOBS, workers=1, desc="tiny")
    two = run_parallel(fn, TINY_JOBS, workers=2, desc="tiny")
    assert [key(row) for row in two] == TINY_JOBS
    assert without_time(two) == without_time(one)
    assert torch.get_num_threads() == 1  # workers=1 restored the thread count it found


def test_run_parallel_raises_a_workers_error():
    with pytest.raises(ValueError, match="T must be at least 10; got 5"):
        run_parallel(run_long_range, [("copy", "rnn", 5, 0)] * 2, workers=2)


def test_run_long_range_returns_the_model_as_the_chapter_builds_it():
    row, model, history = run_long_range("copy", "lstm", 10, 0, config=TINY, return_model=True)
    assert len(history.step) == row["updates"] and history.eval_loss == row["eval_loss"]
    assert model.hidden_size == row["hidden_size"] == 24 and model.forget_bias == 3.0
    assert sum(p.numel() for p in model.parameters()) == row["parameters"]
    assert make_model("lstm", "copy", 0).num_parameters() == row["parameters"]


def test_save_and_load_round_trip(tmp_path, committed):
    rows = [dict(committed["rows"][0], final_eval_loss=1 / 3, relative_loss=math.nan)]
    path = save_results("round_trip", rows, TINY, tmp_path / "r.json", command="test", wall_time=1.23456789)
    data = json.loads(path.read_text())
    assert data["config"] == TINY and data["provenance"]["wall_time_s"] == 1.23457
    assert data["rows"][0]["final_eval_loss"] == 0.333333 and data["rows"][0]["relative_loss"] is None
    lines = path.read_text().splitlines()  # one row a line, for readable diffs
    assert lines[-4:] == ["  \"rows\": [", "    " + json.dumps(data["rows"][0], ensure_ascii=False), "  ]", "}"]


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: hidden_size("lsmt", "adding"), ValueError, "cell must be one of ('rnn', 'lstm', 'gru'); got 'lsmt'"),
        (lambda: hidden_size("lstm", "add"), ValueError, "task must be one of ('adding', 'temporal order', 'copy')"),
        (lambda: make_model("lstm", "adding", -1), ValueError, "seed must be at least 0; got -1"),
        (lambda: make_model("lstm", "adding", "0"), TypeError, "seed must be an int; got str '0'"),
        (lambda: long_range_config(1), TypeError, "full must be a bool; got int 1"),
        (lambda: run_long_range("adding", "lstm", 50.0, 0), TypeError, "T must be an int; got float 50.0"),
        (lambda: run_long_range("adding", "lstm", 5, 0), ValueError, "T must be at least 10; got 5"),
        (lambda: run_long_range("adding", "lstm", 50, 0, config=[]), TypeError, "config must be a dict"),
        (lambda: run_long_range("adding", "lstm", 50, 0, config={"batch": 32}), ValueError,
         "config must have exactly the keys"),
        (lambda: run_long_range("adding", "lstm", 50, 0, return_model=1), TypeError, "return_model must be a bool"),
        (lambda: run_parallel("run", []), TypeError, "fn must be a callable; got str"),
        (lambda: run_parallel(print, ("a", "b")), TypeError, "jobs must be a list of argument tuples"),
        (lambda: run_parallel(print, [()], workers=0), ValueError, "workers must be at least 1; got 0"),
        (lambda: save_results("Long Range", [], {}), ValueError, "name must be lower-case letters"),
        (lambda: save_results("x", {}, {}), TypeError, "rows must be a list of dicts; got dict"),
        (lambda: load_results("nope"), FileNotFoundError, "no results named 'nope'"),
        (lambda: studies.main(["long_range", "--workers", "0"]), ValueError, "workers must be at least 1"),
    ],
)
def test_bad_input_fails_with_a_clear_message(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
