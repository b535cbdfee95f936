"""Tests for lstm_course.studies: the committed results, a re-run sample, the helpers, bad input."""
import copy
import functools
import json
import math

import pytest
import torch

from lstm_course import studies
from lstm_course.models import count_parameters
from lstm_course.studies import (CELL_1997, CELLS, LONG_RANGE_TASKS, SECTIONS, TASK_1997, best_rate, choose_lr,
                                 hidden_size, load_results, long_range_config, make_model, make_model_1997, row_key, run_job,
                                 run_parallel, save_results, set_keep_gate_bias, study_jobs, summarize, wilson_interval)

# The re-run sample, chosen by cost and not by outcome: the three cells of the grid on the adding
# problem at its shortest length, the LSTM on the temporal-order problem there, and the LSTM's
# unclipped run (about 15 s of CPU on one thread of the 2-core AMD EPYC when it is quiet).
SAMPLE = [("grid", "adding", cell, 50, 0, None) for cell in CELLS] + [
    ("grid", "temporal order", "lstm", 50, 0, None), ("clipping", "adding", "lstm", 50, 0, None)]

# How far a re-run may be from the committed row. The previous version of this study measured, on
# a sample of the same kind, under five kernel profiles (tools/study_spread.py):
# * the same kernels as the file: every decision and solved step equal, held-out losses within
#   a relative 1.5e-5 (6-digit rounding of the file alone gives up to 5e-6): SAME_KERNELS_RTOL
#   = 1e-4 leaves a margin of about 7.
# * other kernels (SSE, ATen's scalar code): every decision of the sample equal, solved steps
#   within one evaluation, unsolved runs' final losses within a factor 1.61. Across kernels the
#   test compares what the chapter reads: the decision, the solved step within
#   OTHER_KERNELS_STEPS = 2 evaluations, and for unsolved rows the relative loss within a
#   factor OTHER_KERNELS_FACTOR = 2.5.
# "The same kernels" means the torch version, CPU model and torch's CPU capability recorded in
# the file's provenance are this machine's.
SAME_KERNELS_RTOL = 1e-4
OTHER_KERNELS_STEPS = 2
OTHER_KERNELS_FACTOR = 2.5

ROW_KEYS = {"section", "task", "cell", "T", "seed", "setting", "lr", "clip", "hidden_size", "parameters", "solved",
            "solved_step", "updates", "sequences", "diverged", "final_eval_loss", "relative_loss", "eval_step",
            "eval_loss", "eval_accuracy", "clipped_fraction", "grad_norm_median", "grad_norm_max", "test_wrong",
            "seconds"}
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


def meets_target(row, loss, accuracy, slack=0.0):
    """The run's success rule, with a relative slack for the file's rounding."""
    if row["section"] == "1997":
        return accuracy >= 1.0 * (1 - slack)
    spec = LONG_RANGE_TASKS[row["task"]]
    if spec["metric"] == "accuracy":
        return accuracy >= spec["target"](row["T"]) * (1 - slack)
    return loss <= spec["target"](row["T"]) * (1 + slack)


def test_committed_file_has_the_study_and_its_config(committed):
    assert committed["name"] == "long_range"
    config = committed["config"]
    assert {**config, "lr": None} == long_range_config(False)
    sweep = [row for row in committed["rows"] if row["section"] == "sweep"]
    assert config["lr"] == choose_lr(sweep, config)  # the rates the runs used follow from the sweep
    expected = [job for section in SECTIONS for job in study_jobs(config, section)]
    assert [row_key(row) for row in committed["rows"]] == [tuple(job) for job in expected]
    provenance = committed["provenance"]
    for field in ("lstm_course", "torch", "numpy", "cpu", "cpu_capability", "date", "command", "wall_time_s"):
        assert provenance[field] not in (None, ""), field
    assert provenance["threads_per_run"] == 1 and provenance["command"].startswith("python -m lstm_course.studies")


@pytest.fixture(scope="module")
def full_1997():
    """The 1997 section of the full study, T = 100 and 500: ``studies long_range --full --only 1997``."""
    return load_results("long_range_full_1997")


def test_full_1997_file_has_its_section_and_config(full_1997, committed):
    assert full_1997["name"] == "long_range_full_1997"
    config = full_1997["config"]
    # No sweep ran: lr stays None, and the sweep's grid (widened since) bears on none of its rows.
    assert {**config, "sweep": None} == {**long_range_config(True), "sweep": None} and config["lr"] is None
    assert [row_key(row) for row in full_1997["rows"]] == [tuple(j) for j in study_jobs(config, "1997")]
    assert sorted(config["repro"]["seeds"]) == ["100", "500"]
    assert full_1997["provenance"]["command"] == "python -m lstm_course.studies long_range --full --only 1997 --workers 2"


def test_full_1997_rows_at_t100_are_the_default_studys_runs(full_1997, committed):
    """Same seeds, same recipe, a longer budget (1500 against 1000 updates): a run the default study
    solved is the same run in the full one, update for update on the same kernels; on other
    kernels (the two files need not come from one machine) the same decision within the grid's
    re-run tolerance."""
    default = {row_key(r): r for r in committed["rows"] if r["section"] == "1997"}
    same = same_kernels_as(full_1997["provenance"], committed["provenance"])
    every = committed["config"]["eval_every"]
    compared = 0
    for row in full_1997["rows"]:
        old = default.get(row_key(row))
        if row["T"] != 100 or not old["solved"]:
            continue
        compared += 1
        if same:
            assert without_time([row]) == without_time([old]), row_key(row)
        else:
            assert row["solved"] and abs(row["solved_step"] - old["solved_step"]) <= OTHER_KERNELS_STEPS * every
    assert compared >= 4


def test_full_1997_t500_run_starts_as_committed(full_1997, one_thread):
    """A re-run of the longest section's first 25 updates (seed 0 at T = 500): the held-out loss
    at its first evaluation, as committed (same kernels: to the file's digits; others: within the
    factor the grid's re-runs allow)."""
    config = copy.deepcopy(full_1997["config"])
    config["repro"]["max_steps"]["500"] = config["eval_every"]
    job = ("1997", TASK_1997, CELL_1997, 500, 0, None)
    old = {row_key(r): r for r in full_1997["rows"]}[job]
    new = run_job(*job, config=config)
    assert new["eval_step"] == old["eval_step"][:1] == [config["eval_every"]]
    if same_kernels(full_1997["provenance"]):
        assert new["eval_loss"][0] == pytest.approx(old["eval_loss"][0], rel=SAME_KERNELS_RTOL)
    else:
        ratio = new["eval_loss"][0] / old["eval_loss"][0]
        assert 1 / OTHER_KERNELS_FACTOR <= ratio <= OTHER_KERNELS_FACTOR, ratio


@pytest.mark.parametrize("name", ["long_range", "long_range_full_1997"])
def test_every_committed_row_is_consistent(name):
    committed = load_results(name)
    config = committed["config"]
    for row in committed["rows"]:
        where = row_key(row)
        assert set(row) == ROW_KEYS, where
        section, task, cell, T = row["section"], row["task"], row["cell"], row["T"]
        if section == "1997":
            assert (task, cell, row["lr"]) == (TASK_1997, CELL_1997, config["repro"]["lr"]), where
            max_steps = config["repro"]["max_steps"][str(T)]
            assert 0 <= row["test_wrong"] <= config["repro"]["test_size"], where
        else:
            spec = LONG_RANGE_TASKS[task]
            assert row["hidden_size"] == hidden_size(cell, task), where
            assert row["parameters"] == count_parameters(cell, spec["D"], row["hidden_size"], spec["O"]), where
            assert row["lr"] == (row["setting"] if section == "sweep" else config["lr"][task][cell]), where
            assert row["test_wrong"] is None, where
            max_steps = config["max_steps"][task]
            baseline = spec["baseline"](T)
            assert math.isclose(row["relative_loss"], row["eval_loss"][-1] / baseline, rel_tol=ROUNDING), where
        assert row["clip"] == (None if section == "clipping" else config["clip"]), where
        steps, losses, accuracies = row["eval_step"], row["eval_loss"], row["eval_accuracy"]
        assert len(steps) == len(losses) == len(accuracies) >= 1, where
        every = config["eval_every"]
        assert steps == [every * (i + 1) for i in range(len(steps) - 1)] + [row["updates"]], where
        assert not row["diverged"] and 1 <= row["updates"] <= max_steps, where
        assert row["sequences"] == row["updates"] * config["batch"], where
        assert row["final_eval_loss"] == losses[-1], where
        assert 0 <= row["clipped_fraction"] <= 1 and row["grad_norm_median"] <= row["grad_norm_max"], where
        # solved iff the rule was met, first at the last evaluation, which is then solved_step
        assert row["solved"] == (row["solved_step"] is not None), where
        assert not any(meets_target(row, l, a, -ROUNDING) for l, a in zip(losses[:-1], accuracies[:-1])), where
        if row["solved"]:
            assert row["solved_step"] == row["updates"] == steps[-1], where
            assert meets_target(row, losses[-1], accuracies[-1], ROUNDING), where
        else:
            assert row["updates"] == max_steps, where
            assert not meets_target(row, losses[-1], accuracies[-1], -ROUNDING), where


def same_kernels_as(provenance, other) -> bool:
    return all(provenance[k] == other[k] for k in ("torch", "cpu", "cpu_capability"))


def same_kernels(provenance) -> bool:
    return same_kernels_as(provenance, dict(torch=torch.__version__, cpu=studies._cpu_model(),
                                            cpu_capability=torch.backends.cpu.get_cpu_capability()))


@pytest.mark.parametrize("job", SAMPLE, ids=[f"{s}-{task}-{cell}-T{T}" for s, task, cell, T, _, _ in SAMPLE])
def test_sampled_rows_reproduce(committed, one_thread, job):
    old = {row_key(row): row for row in committed["rows"]}[job]
    new = run_job(*job, config=committed["config"])
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


def tiny_config():
    c = long_range_config()
    c.update(max_steps={task: 10 for task in LONG_RANGE_TASKS}, batch=8, eval_every=5, eval_size=16,
             lr={task: {cell: 1e-2 for cell in CELLS} for task in LONG_RANGE_TASKS})
    c["repro"].update(seeds={"20": [0]}, max_steps={"20": 10}, eval_size=16, test_size=32)
    return c


TINY_JOBS = [("grid", "adding", "rnn", 10, 0, None), ("sweep", "copy", "lstm", 10, 1, 3e-2),
             ("gate bias", "temporal order", "gru", 10, 0, 3.0), ("clipping", "adding", "lstm", 12, 2, None),
             ("1997", TASK_1997, CELL_1997, 20, 0, None)]


def without_time(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_run_parallel_two_workers_equal_one(one_thread):
    fn = functools.partial(run_job, config=tiny_config())
    one = run_parallel(fn, TINY_JOBS, workers=1, desc="tiny")
    two = run_parallel(fn, TINY_JOBS, workers=2, desc="tiny")
    assert [row_key(row) for row in two] == TINY_JOBS
    assert without_time(two) == without_time(one)
    assert torch.get_num_threads() == 1  # workers=1 restored the thread count it found
    assert [row["clip"] for row in one] == [1.0, 1.0, 1.0, None, 1.0]
    assert one[1]["lr"] == 3e-2 and one[0]["lr"] == 1e-2 and one[4]["lr"] == 3e-2
    assert one[4]["test_wrong"] is not None and one[0]["test_wrong"] is None


def test_run_parallel_starts_the_costliest_first_and_returns_in_job_order():
    started = []

    def fn(x):
        started.append(x)
        return 10 * x

    assert run_parallel(fn, [(1,), (3,), (2,)], workers=1, desc="order", cost=lambda job: job[0]) == [10, 30, 20]
    assert started == [3, 2, 1]
    started.clear()
    assert run_parallel(fn, [(1,), (3,), (2,)], workers=1, desc="order") == [10, 30, 20]
    assert started == [1, 3, 2]  # without a cost, in job order
    with pytest.raises(TypeError, match="cost must be a callable or None; got int"):
        run_parallel(fn, [(1,)], workers=1, cost=3)


def test_run_parallel_raises_a_workers_error():
    with pytest.raises(ValueError, match="T must be at least 10; got 5"):
        run_parallel(functools.partial(run_job, config=tiny_config()), [("grid", "copy", "rnn", 5, 0, None)] * 2,
                     workers=2)


def test_run_job_returns_the_model_as_the_chapter_builds_it():
    row, model, history = run_job("gate bias", "copy", "lstm", 10, 0, 3.0, config=tiny_config(), return_model=True)
    assert len(history.step) == row["updates"] and history.eval_loss == row["eval_loss"]
    assert model.hidden_size == row["hidden_size"] == 24
    assert sum(p.numel() for p in model.parameters()) == row["parameters"]
    assert make_model("lstm", "copy", 0).num_parameters() == row["parameters"]


def test_grid_models_use_pytorchs_default_initialisation_for_every_cell():
    for cell in CELLS:
        layer_type = type(make_model(cell, "adding", 0).rnn)
        torch.manual_seed(7)
        reference = layer_type(2, hidden_size(cell, "adding"))
        model = make_model(cell, "adding", 7)
        assert torch.equal(model.rnn.bias_ih_l0, reference.bias_ih_l0), cell


def test_set_keep_gate_bias_sets_the_forget_and_the_update_gate():
    for cell in ("lstm", "gru"):
        model = make_model(cell, "adding", 0, gate_bias=2.5)
        H = model.hidden_size
        total = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
        assert torch.all(total[H : 2 * H] == 2.5), cell
        assert torch.equal(total[:H], make_model(cell, "adding", 0).rnn.bias_ih_l0[:H]
                           + make_model(cell, "adding", 0).rnn.bias_hh_l0[:H]), cell  # other rows untouched
    # the GRU's update gate is z in h = (1 - z) n + z h_prev: a large bias carries h unchanged
    model = set_keep_gate_bias(make_model("gru", "adding", 0), 30.0)
    x, h0 = torch.randn(1, 3, 2), torch.randn(1, 3, model.hidden_size)
    _, h1 = model.rnn(x, h0)
    assert torch.allclose(h1, h0, atol=1e-6)


def test_the_1997_model_has_no_forget_gate_and_the_papers_biases():
    model = make_model_1997(0)
    layer = model.rnn
    assert layer.forget_gate is False and layer.hidden_size == 4
    assert layer.bias_ih_l0[:4].tolist() == [-3.0, -3.0, -6.0, -6.0] and torch.all(layer.bias_hh_l0[:4] == 0)
    for p in (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0):
        assert torch.all(p[4:8] == 0)
    for name, p in model.named_parameters():
        if name != "rnn.bias_ih_l0":
            assert p.abs().max() <= 0.1, name
    x = torch.randn(30, 2, 2)
    _, (h, c) = layer(x)
    assert torch.isfinite(c).all()


def test_wilson_interval_known_values():
    low, high = wilson_interval(0, 5)
    assert low == 0.0 and high == pytest.approx(0.4345, abs=1e-4)
    low, high = wilson_interval(5, 5)
    assert low == pytest.approx(0.5655, abs=1e-4) and high == 1.0
    low, high = wilson_interval(3, 5)
    assert (low, high) == pytest.approx((0.2307, 0.8824), abs=1e-4)


def test_summarize_and_choose_lr_follow_their_rules():
    def row(task, cell, lr, seed, step, rel):
        return dict(task=task, cell=cell, lr=lr, seed=seed, solved=step is not None, solved_step=step,
                    relative_loss=rel)

    c = long_range_config()
    rows = []
    for task in c["sweep"]["tasks"]:
        for cell in CELLS:
            for seed in c["sweep"]["seeds"]:
                rows += [row(task, cell, 1e-3, seed, None, 0.7), row(task, cell, 3e-3, seed, None, 0.5),
                         row(task, cell, 1e-2, seed, 200, 0.05),
                         row(task, cell, 3e-2, seed, 100 if seed == c["sweep"]["seeds"][0] else None, 0.9),
                         row(task, cell, 1e-1, seed, None, 2.0), row(task, cell, 3e-1, seed, None, 9.0)]
    assert sorted({r["lr"] for r in rows}) == sorted(c["sweep"]["lrs"])  # every rate of the grid
    rows = [r for r in rows if not (r["cell"] == "rnn")] + [
        row(task, "rnn", lr, seed, None, {1e-3: 0.9, 3e-3: 0.8, 1e-2: 0.7, 3e-2: 1.5, 1e-1: 3.0, 3e-1: 9.0}[lr])
        for task in c["sweep"]["tasks"] for lr in c["sweep"]["lrs"] for seed in c["sweep"]["seeds"]]
    chosen = choose_lr(rows, c)
    # all seeds solved beats fewer solved faster; the RNN, solving none: the lowest loss
    assert chosen["adding"] == {"rnn": 1e-2, "lstm": 1e-2, "gru": 1e-2}
    assert chosen["copy"] == chosen["temporal order"]
    summary = summarize([row("adding", "lstm", 1e-2, s, step, 0.1) for s, step in enumerate((100, None, 300))])
    assert (summary["k"], summary["n"], summary["median_steps"]) == (2, 3, 200.0)
    assert summary["wilson"] == wilson_interval(2, 3)


def test_save_and_load_round_trip(tmp_path, committed):
    rows = [dict(committed["rows"][0], final_eval_loss=1 / 3, relative_loss=math.nan)]
    path = save_results("round_trip", rows, tiny_config(), tmp_path / "r.json", command="test",
                        wall_time=1.23456789)
    data = json.loads(path.read_text())
    assert data["config"] == tiny_config() and data["provenance"]["wall_time_s"] == 1.23457
    assert data["rows"][0]["final_eval_loss"] == 0.333333 and data["rows"][0]["relative_loss"] is None
    lines = path.read_text().splitlines()  # one row a line, for readable diffs
    assert lines[-4:] == ["  \"rows\": [", "    " + json.dumps(data["rows"][0], ensure_ascii=False), "  ]", "}"]


C = long_range_config()


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: hidden_size("lsmt", "adding"), ValueError, "cell must be one of ('rnn', 'lstm', 'gru'); got 'lsmt'"),
        (lambda: hidden_size("lstm", "add"), ValueError, "task must be one of ('adding', 'temporal order', 'copy')"),
        (lambda: make_model("lstm", "adding", -1), ValueError, "seed must be at least 0; got -1"),
        (lambda: make_model("lstm", "adding", "0"), TypeError, "seed must be an int; got str '0'"),
        (lambda: make_model("rnn", "adding", 0, gate_bias=1.0), ValueError, "cell 'lstm' or 'gru'; got 'rnn'"),
        (lambda: set_keep_gate_bias(make_model("gru", "adding", 0), "1"), TypeError, "value must be None or a finite number"),
        (lambda: make_model_1997(0, input_biases=[-3.0]), ValueError, "input_biases must have one value per cell"),
        (lambda: long_range_config(1), TypeError, "full must be a bool; got int 1"),
        (lambda: study_jobs(C, "grids"), ValueError, "section must be one of"),
        (lambda: run_job("grid", "adding", "lstm", 50, 0, config=C), ValueError, "config['lr'] is None"),
        (lambda: run_job("sweep", "adding", "lstm", 50.0, 0, 1e-2, config=C), TypeError,
         "T must be an int; got float 50.0"),
        (lambda: run_job("sweep", "adding", "lstm", 5, 0, 1e-2, config=C), ValueError, "T must be at least 10; got 5"),
        (lambda: run_job("sweep", "adding", "lstm", 50, 0, None, config=C), ValueError,
         "setting must be a positive learning rate"),
        (lambda: run_job("1997", TASK_1997, CELL_1997, 200, 0, config=C), ValueError,
         "T must be one of the 1997 lengths"),
        (lambda: run_job("grid", "adding", "lstm", 50, 0, config=[]), TypeError, "config must be a dict"),
        (lambda: run_job("grid", "adding", "lstm", 50, 0, config={"batch": 32}), ValueError,
         "config must have exactly the keys"),
        (lambda: run_job("sweep", "adding", "lstm", 50, 0, 1e-2, config=C, return_model=1), TypeError,
         "return_model must be a bool"),
        (lambda: wilson_interval(6, 5), ValueError, "k must be at most n = 5; got 6"),
        (lambda: summarize([]), ValueError, "rows must hold at least one run"),
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


@pytest.mark.parametrize("job", list(studies.SAVED_MODELS), ids=lambda job: studies.SAVED_MODELS[job])
def test_shipped_models_end_where_their_runs_ended(job):
    """The experiments chapter looks inside these models instead of retraining them: each must be
    the model its committed row ended with, so it reproduces the row's held-out loss."""
    committed = studies.load_results("long_range")
    row = next(r for r in committed["rows"] if studies.row_key(r) == job)
    model = studies.saved_model(job, committed["config"])
    assert math.isclose(studies.held_out_loss(job, model, committed["config"]), row["final_eval_loss"],
                        rel_tol=1e-4)
    untrained = studies._untrained(job, committed["config"])  # not vacuous: training moved it
    assert not math.isclose(studies.held_out_loss(job, untrained, committed["config"]),
                            row["final_eval_loss"], rel_tol=1e-2)


def test_saved_model_refuses_a_job_without_weights():
    config = studies.load_results("long_range")["config"]
    with pytest.raises(ValueError, match="no saved model"):
        studies.saved_model(("grid", "adding", "rnn", 50, 0, None), config)


def test_best_rate_counts_solved_runs_then_the_tie_break_then_the_smaller_rate():
    def runs(*solved):
        return [{"solved": s, "score": k} for k, s in enumerate(solved)]

    score = lambda group: sum(r["score"] for r in group if r["solved"])  # noqa: E731
    assert best_rate({1e-2: runs(True, False), 3e-2: runs(True, True)}, score) == 3e-2  # most solved
    assert best_rate({1e-2: runs(False, True), 3e-2: runs(True, False)}, score) == 3e-2  # lower tie-break
    assert best_rate({3e-2: runs(True, False), 1e-2: runs(True, False)}, score) == 1e-2  # then smaller
    for bad in ({}, {1e-2: []}):
        with pytest.raises(ValueError, match="runs_by_rate must map each learning rate"):
            best_rate(bad, score)
