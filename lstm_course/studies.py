"""Studies too heavy for a notebook's default run: run in parallel by a script, results shipped as JSON.

A chapter reads a study's committed results (:func:`load_results`) instead of training hundreds
of models in its default run; a test re-runs a sample of the rows and checks that they agree.
The same command re-runs the whole study, or a bigger grid, on a bigger machine::

    python -m lstm_course.studies long_range [--full] [--only 1997] [--workers N] [--out PATH]

The study here is the experiments chapter's, in five sections, each a list of runs:

* ``sweep``: the learning rate of each cell on each task, from a small grid (``LR_GRID``),
  the same budget and seeds for every cell; :func:`choose_lr` picks from its rows.
* ``grid``: RNN, LSTM and GRU with matched parameter counts on the adding, temporal-order and
  copy tasks at several lengths and seeds, each cell at its chosen learning rate, every cell
  with PyTorch's default initialisation (no cell gets a tuned bias).
* ``gate bias``: the LSTM's forget-gate bias and its GRU analogue, the update-gate bias, set
  to each value of ``GATE_BIASES`` (the ``grid`` rows are the default).
* ``clipping``: the ``grid`` runs again without gradient clipping.
* ``1997``: the 1997 adding experiment with the 1997 cell (no forget gate,
  :class:`lstm_course.torch.LSTM` with ``forget_gate=False``), its initialisation and its
  success criterion.

Every run is one process on one thread, seeded (``torch.manual_seed(seed)`` before building
the model, then ``train(..., seed=seed)``), so a row does not depend on the worker that ran it
or on the order of the runs. It does depend on the CPU's kernels: training amplifies their
last bits, so on another machine a loss may differ in its first digit and a solved step by an
evaluation (tests/test_studies.py quotes the measured spread); the file's provenance records
the machine.
"""
from __future__ import annotations

import argparse
import datetime
import functools
import importlib.resources
import json
import math
import os
import pathlib
import platform
import re
import statistics
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context

import numpy as np
import torch
from tqdm.auto import tqdm

from . import __version__
from ._validate import check_int
from .gate_bias import check_bias_value, set_gate_bias
from .models import CELLS, SequenceModel, count_parameters, matched_hidden_size
from .torch import LSTM as LSTM1997Layer
from .tasks import (adding_baseline_mse, adding_problem, copy_baseline_loss, copy_task,
                    temporal_order, temporal_order_baseline_loss)
from .training import batch_seed, evaluate, train
from .weights import WEIGHTS_DIR, load_weights, save_weights


LSTM_HIDDEN = 24  # the LSTM's hidden size; the other cells get the hidden size of the same parameter count
LONG_RANGE_TASKS = {  # D, O, the success rule (metric reaches target(T)) and the baseline loss(T)
    "adding": dict(make=adding_problem, D=2, O=1, metric="loss",
                   target=lambda T: adding_baseline_mse() / 10, baseline=lambda T: adding_baseline_mse()),
    "temporal order": dict(make=temporal_order, D=8, O=4, metric="accuracy",
                           target=lambda T: 0.95, baseline=lambda T: temporal_order_baseline_loss()),
    "copy": dict(make=copy_task, D=10, O=9, metric="loss",
                 target=lambda T: copy_baseline_loss(T) / 10, baseline=copy_baseline_loss),
}
SECTIONS = ("sweep", "grid", "1997", "gate bias", "clipping")  # the order they run in
LR_GRID = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1]  # the learning rates of the sweep, the same for every cell
SWEEP_TASKS = ["adding"]  # swept on the adding problem; each cell keeps its rate on every task
GATE_BIASES = [3.0]  # LSTM: forget gate; GRU: update gate (its analogue: z -> 1 carries h)
TASK_1997 = "adding 1997"  # the 1997 form of the adding problem (Hochreiter & Schmidhuber, experiment 4)
CELL_1997 = "lstm1997"  # lstm_course.torch.LSTM(forget_gate=False), the 1997 cell
PAPER_1997 = {  # Hochreiter & Schmidhuber (1997), the adding problem's table: T -> published result
    100: dict(min_lag=50, weights=93, wrong=1, test=2560, sequences=74_000),
    500: dict(min_lag=250, weights=93, wrong=0, test=2560, sequences=209_000),
    1000: dict(min_lag=500, weights=93, wrong=1, test=2560, sequences=853_000),
}
SIGNIFICANT_DIGITS = 6  # floats in a results file; training's last digits belong to the CPU anyway
STUDIES_DIR = pathlib.Path(__file__).resolve().parent / "data" / "studies"
_CONFIG_KEYS = ("tasks", "cells", "lengths", "seeds", "max_steps", "batch", "clip", "eval_every", "eval_size",
                "sweep", "gate_bias", "clipping", "repro", "lr")


def _check_choice(name: str, value, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}; got {value!r}")
    return value


def hidden_size(cell: str, task: str) -> int:
    """The hidden size that gives ``cell`` about the parameters of an LSTM with ``LSTM_HIDDEN`` units.

    Args:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``. task: a key of ``LONG_RANGE_TASKS``.

    Returns:
        ``H`` from :func:`~lstm_course.models.matched_hidden_size` (``LSTM_HIDDEN`` for the LSTM).
    """
    _check_choice("cell", cell, CELLS)
    spec = LONG_RANGE_TASKS[_check_choice("task", task, LONG_RANGE_TASKS)]
    budget = count_parameters("lstm", spec["D"], LSTM_HIDDEN, spec["O"])
    return matched_hidden_size(cell, spec["D"], spec["O"], budget)


def set_keep_gate_bias(model: SequenceModel, value: float) -> SequenceModel:
    r"""Set the total bias of the gate that decides how much of the old state a cell keeps.

    LSTM: the forget gate, rows ``H:2H`` in the order i, f, g, o, so that
    :math:`\mathbf{f} \approx \sigma(b)` at the start. GRU: the update gate, rows ``H:2H`` in
    the order r, z, n; since :math:`\vh_t = (1 - \mathbf{z}_t)\odot\mathbf{n}_t + \mathbf{z}_t\odot\vh_{t-1}`,
    :math:`\mathbf{z} \approx \sigma(b)` is the share of the old state carried, the GRU's forget
    gate. ``bias_ih`` is set to ``value`` and ``bias_hh`` to 0 in those rows.

    Args:
        model: a :class:`SequenceModel` with ``cell`` ``"lstm"`` or ``"gru"`` (changed in place).
        value: the bias, a finite number.

    Returns:
        ``model``.
    """
    if not isinstance(model, SequenceModel) or model.cell not in ("lstm", "gru"):
        raise ValueError(f"model must be a SequenceModel with cell 'lstm' or 'gru'; got "
                         f"{getattr(model, 'cell', type(model).__name__)!r}")
    set_gate_bias(model.rnn, {"lstm": "f", "gru": "z"}[model.cell], check_bias_value("value", value),
                  model.hidden_size)
    return model


def make_model(cell: str, task: str, seed: int, gate_bias: float | None = None) -> SequenceModel:
    """A fresh, untrained model of the grid.

    Args:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``. task: a key of ``LONG_RANGE_TASKS``.
        seed: ``torch.manual_seed(seed)`` is called just before the model is built.
        gate_bias: None: PyTorch's default initialisation, the same rule for every cell (the
            ``grid``); a number: :func:`set_keep_gate_bias` afterwards (the ``gate bias`` section).

    Returns:
        A :class:`SequenceModel` with :func:`hidden_size` units.
    """
    H = hidden_size(cell, task)
    spec = LONG_RANGE_TASKS[task]
    torch.manual_seed(check_int("seed", seed, minimum=0))
    model = SequenceModel(cell, spec["D"], H, spec["O"])
    return model if gate_bias is None else set_keep_gate_bias(model, gate_bias)


def make_model_1997(seed: int, hidden: int = 4, init_range: float = 0.1,
                    input_biases=(-3.0, -3.0, -6.0, -6.0)) -> SequenceModel:
    r"""The network of Hochreiter & Schmidhuber's adding experiment, as near as the package's cell allows.

    :class:`lstm_course.torch.LSTM` with ``forget_gate=False``
    (:math:`\vc_t = \vc_{t-1} + \vi_t\odot\vg_t`), ``hidden`` memory cells (the paper: two
    blocks of two cells), every weight and bias from :math:`U(-r, r)` with ``r = init_range``
    (the paper's 0.1), then the input gates' biases set to ``input_biases`` (the paper: -3 for
    the first block, -6 for the second), and a linear read-out of the cells' outputs.

    Args:
        seed: ``torch.manual_seed(seed)`` before the model is built.
        hidden: number of memory cells. init_range: ``r``.
        input_biases: one input-gate bias per cell (``hidden`` numbers).

    Returns:
        A :class:`SequenceModel` (``cell`` None, built with :meth:`SequenceModel.from_layer`).
    """
    hidden = check_int("hidden", hidden)
    if len(input_biases) != hidden:
        raise ValueError(f"input_biases must have one value per cell ({hidden}); got {list(input_biases)}")
    torch.manual_seed(check_int("seed", seed, minimum=0))
    layer = LSTM1997Layer(2, hidden, forget_gate=False)
    model = SequenceModel.from_layer(layer, 1)
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-init_range, init_range)
        for p in (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0):
            p[hidden : 2 * hidden] = 0.0  # the unused forget rows stay zero (see lstm_course.torch.variants)
        layer.bias_ih_l0[:hidden] = torch.tensor([float(b) for b in input_biases])
        layer.bias_hh_l0[:hidden] = 0.0
    return model


def long_range_config(full: bool = False) -> dict:
    """The study's runs and their training budget (JSON-ready: lists, not tuples).

    Args:
        full: False: the committed study (sized for a shared 2-core machine). True: a bigger
            one for a bigger machine (more lengths, seeds and updates, and the 1997 task at T=500).

    Returns:
        dict with ``tasks``, ``cells``, ``lengths`` (task -> list of T), ``seeds``, ``max_steps``
        (task -> updates), ``batch``, ``clip`` (global norm), ``eval_every``, ``eval_size``, and
        the sections' settings: ``sweep`` (tasks, T, lrs, seeds), ``gate_bias`` (task, T, cells,
        biases), ``clipping`` (task, T, cells), ``repro`` (the 1997 runs) and ``lr`` (None until
        :func:`choose_lr` has read the sweep; then task -> cell -> learning rate).
    """
    if not isinstance(full, bool):
        raise TypeError(f"full must be a bool; got {type(full).__name__} {full!r}")
    return dict(
        tasks=list(LONG_RANGE_TASKS), cells=list(CELLS),
        lengths={"adding": [50, 100, 200, 500] if full else [50, 100],
                 "temporal order": [50, 100, 200, 500] if full else [50],
                 "copy": [50, 100] if full else [50]},
        seeds=list(range(10 if full else 5)),
        max_steps={"adding": 3000, "temporal order": 3000, "copy": 10000} if full else
        {"adding": 500, "temporal order": 500, "copy": 300},
        batch=32, clip=1.0, eval_every=25, eval_size=256,
        sweep=dict(tasks=list(SWEEP_TASKS), T=100 if full else 50, lrs=list(LR_GRID), seeds=[100, 101, 102] if full else [100, 101]),
        gate_bias=dict(task="adding", T=100, cells=["lstm", "gru"], biases=list(GATE_BIASES)),
        clipping=dict(task="adding", T=50, cells=["lstm", "gru"]),
        repro=dict(seeds={"100": [0, 1, 2, 3, 4], "500": [0, 1, 2, 3, 4]} if full else {"100": [0, 1, 2, 3, 4]},
                   max_steps={"100": 1500, "500": 6000} if full else {"100": 1000}, lr=3e-2, hidden=4,
                   init_range=0.1, input_biases=[-3.0, -3.0, -6.0, -6.0], eval_size=512, test_size=2560),
        lr=None)


def _check_config(config, need_lr: bool = False) -> dict:
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict like long_range_config(); got {type(config).__name__}")
    if set(config) != set(_CONFIG_KEYS):
        raise ValueError(f"config must have exactly the keys {_CONFIG_KEYS}; got {tuple(config)}")
    for name, known in (("tasks", tuple(LONG_RANGE_TASKS)), ("cells", CELLS)):
        if not set(config[name]) <= set(known):
            raise ValueError(f"config[{name!r}] must be drawn from {known}; got {config[name]!r}")
    if need_lr and config["lr"] is None:
        raise ValueError("config['lr'] is None: run the sweep and set it with choose_lr(sweep rows) first")
    return config


def study_jobs(config: dict, section: str) -> list:
    """One section's runs, as ``(section, task, cell, T, seed, setting)`` tuples for :func:`run_job`.

    ``setting`` is the learning rate (``sweep``), the gate bias (``gate bias``) or None.
    Order: task, then length, then cell, then setting, then seed.
    """
    c = _check_config(config)
    _check_choice("section", section, SECTIONS)
    if section == "sweep":
        s = c["sweep"]
        return [(section, task, cell, s["T"], seed, lr) for task in s["tasks"] for cell in c["cells"]
                for lr in s["lrs"] for seed in s["seeds"]]
    if section == "grid":
        return [(section, task, cell, T, seed, None) for task in c["tasks"] for T in c["lengths"][task]
                for cell in c["cells"] for seed in c["seeds"]]
    if section == "gate bias":
        g = c["gate_bias"]
        return [(section, g["task"], cell, g["T"], seed, b) for cell in g["cells"] for b in g["biases"]
                for seed in c["seeds"]]
    if section == "clipping":
        g = c["clipping"]
        return [(section, g["task"], cell, g["T"], seed, None) for cell in g["cells"] for seed in c["seeds"]]
    r = c["repro"]
    return [(section, TASK_1997, CELL_1997, int(T), seed, None) for T, seeds in r["seeds"].items() for seed in seeds]


def best_rate(runs_by_rate: dict, tie_break) -> float:
    """The learning rate of a sweep by the course's one rule: the rate whose runs solved most often;
    among equals, the lowest ``tie_break(runs)``; if that ties too, the smaller rate.

    The three studies that sweep (this module's, :mod:`~lstm_course.variant_study`,
    :mod:`~lstm_course.heirs_study`) differ only in their tie-break, each stated in its ``choose_lr``.

    Args:
        runs_by_rate: ``{lr: [row, ...]}``, each row with a boolean ``solved``; not empty.
        tie_break: ``runs -> number or tuple``, lower is better.
    """
    if not runs_by_rate or not all(runs_by_rate.values()):
        raise ValueError("runs_by_rate must map each learning rate to its runs, none empty; "
                         f"got {runs_by_rate!r:.80}")
    return min(runs_by_rate, key=lambda lr: (-sum(bool(r["solved"]) for r in runs_by_rate[lr]),
                                             tie_break(runs_by_rate[lr]), lr))


def lowest_median_rate(sweep_rows: list, group: str, names, metric: str) -> dict:
    """``{name: lr}``: for each ``name`` of ``names``, the learning rate whose runs (the rows with
    ``row[group] == name``) have the lowest median ``row[metric]``; among equals, the smaller rate.

    The rule of the sweeps that rank by a loss rather than by solved runs (the char LM's
    perplexity, the seq2seq study's validation cross-entropy); :func:`best_rate` is the other.
    """
    rates = {}
    for name in names:
        by_rate = {}
        for row in sweep_rows:
            if row[group] == name:
                by_rate.setdefault(row["lr"], []).append(row[metric])
        if not by_rate:
            raise ValueError(f"sweep_rows has no run of the {group} {name!r}")
        rates[name] = min(by_rate, key=lambda lr: (statistics.median(by_rate[lr]), lr))
    return rates


def choose_lr(sweep_rows: list, config: dict) -> dict:
    """Each cell's learning rate on each task, from the ``sweep`` rows.

    The rule, the same for every cell (:func:`best_rate`): the most runs solved; among equals, the
    smallest median number of updates to solve; if none solved, the smallest median final loss
    relative to the baseline. A task that was not swept takes each cell's rate from the first
    swept task.

    Returns:
        ``{task: {cell: lr}}`` for every task and cell of ``config``.
    """
    c = _check_config(config)

    def tie_break(runs):
        steps = [r["solved_step"] for r in runs if r["solved"]]
        rel = [r["relative_loss"] if r["relative_loss"] is not None else math.inf for r in runs]
        return float(np.median(steps)) if steps else 0.0, float(np.median(rel))

    chosen = {}
    for task in c["sweep"]["tasks"]:
        chosen[task] = {}
        for cell in c["cells"]:
            runs = {lr: [r for r in sweep_rows if (r["task"], r["cell"], r["lr"]) == (task, cell, lr)]
                    for lr in c["sweep"]["lrs"]}
            if missing := [lr for lr, found in runs.items() if not found]:
                raise ValueError(f"no sweep rows for {task}, {cell}, lr {missing[0]}")
            chosen[task][cell] = best_rate(runs, tie_break)
    for task in c["tasks"]:
        if task not in chosen:
            chosen[task] = dict(chosen[c["sweep"]["tasks"][0]])
    return chosen


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple:
    r"""The Wilson score interval for a success probability from ``k`` successes in ``n`` trials.

    .. math:: \frac{\hat p + \frac{z^2}{2n} \pm z\sqrt{\frac{\hat p(1-\hat p)}{n} + \frac{z^2}{4n^2}}}{1 + z^2/n},
        \qquad \hat p = k/n

    (z = 1.96: 95 %). Unlike :math:`\hat p \pm z\sqrt{\hat p(1-\hat p)/n}` it stays inside [0, 1]
    and is not empty at ``k = 0`` or ``k = n``.

    Returns:
        ``(low, high)``, floats in [0, 1].
    """
    n, k = check_int("n", n), check_int("k", k, minimum=0)
    if k > n:
        raise ValueError(f"k must be at most n = {n}; got {k}")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def summarize(rows: list) -> dict:
    """Solved fraction, median updates to solve and Wilson interval of a group of runs.

    Returns:
        dict with ``k`` (solved), ``n`` (runs), ``median_steps`` (of the solved runs, None if
        none), ``wilson`` ``(low, high)``, ``median_relative_loss`` (final loss / baseline,
        over all runs).
    """
    if not rows:
        raise ValueError("rows must hold at least one run; got none")
    steps = [r["solved_step"] for r in rows if r["solved"]]
    rel = [r["relative_loss"] for r in rows if r["relative_loss"] is not None]
    return dict(k=len(steps), n=len(rows), median_steps=float(np.median(steps)) if steps else None,
                wilson=wilson_interval(len(steps), len(rows)),
                median_relative_loss=float(np.median(rel)) if rel else None)


def _grad_summary(grad_norm: list, clip) -> dict:
    norms = np.asarray(grad_norm, dtype=float)
    threshold = 1.0 if clip is None else clip
    return dict(clipped_fraction=float((norms > threshold).mean()) if norms.size else None,
                grad_norm_median=float(np.median(norms)) if norms.size else None,
                grad_norm_max=float(norms.max()) if norms.size else None)


def run_job(section: str, task: str, cell: str, T: int, seed: int, setting=None, *, config: dict,
            return_model: bool = False):
    """Train one run of the study.

    Args:
        section: one of ``SECTIONS``. task: a key of ``LONG_RANGE_TASKS`` (``TASK_1997`` for
            ``1997``). cell: ``"rnn"``, ``"lstm"``, ``"gru"`` (``CELL_1997`` for ``1997``).
        T: the sequence length (``>= 10``). seed: the model's and the batches' seed (``>= 0``).
        setting: the learning rate (``sweep``), the gate bias (``gate bias``), else None.
        config: as :func:`long_range_config` returns it, with ``lr`` set (except for ``sweep``
            and ``1997``).
        return_model: also return the trained model and its
            :class:`~lstm_course.training.History`.

    Returns:
        The row, a dict: the job's fields (``section, task, cell, T, seed, setting``), ``lr``,
        ``clip``, ``hidden_size``, ``parameters``, ``solved``, ``solved_step``, ``updates``,
        ``sequences`` (updates x batch), ``diverged``, ``final_eval_loss``, ``relative_loss``
        (final loss / baseline), ``eval_step``, ``eval_loss``, ``eval_accuracy`` (one entry per
        held-out evaluation), ``clipped_fraction`` (share of updates whose gradient norm
        exceeded the clipping threshold, or 1 without clipping), ``grad_norm_median``,
        ``grad_norm_max``, ``test_wrong`` (``1997``: wrong answers on ``test_size`` fresh
        sequences, else None), ``seconds``. With ``return_model``, ``(row, model, history)``.
    """
    _check_choice("section", section, SECTIONS)
    c = _check_config(config, need_lr=section not in ("sweep", "1997"))
    T, seed = check_int("T", T, minimum=10), check_int("seed", seed, minimum=0)
    if not isinstance(return_model, bool):
        raise TypeError(f"return_model must be a bool; got {type(return_model).__name__} {return_model!r}")
    start = time.perf_counter()
    clip, eval_size, test_wrong = c["clip"], c["eval_size"], None
    if section == "1997":
        _check_choice("task", task, (TASK_1997,))
        _check_choice("cell", cell, (CELL_1997,))
        r = c["repro"]
        if str(T) not in r["max_steps"]:
            raise ValueError(f"T must be one of the 1997 lengths {list(r['max_steps'])}; got {T}")
        lr, steps, eval_size = r["lr"], r["max_steps"][str(T)], r["eval_size"]
        model = make_model_1997(seed, r["hidden"], r["init_range"], r["input_biases"])
        make, metric, target = functools.partial(adding_problem, form="1997"), "accuracy", 1.0
        baseline = adding_baseline_mse("1997")
    else:
        _check_choice("task", task, c["tasks"])
        _check_choice("cell", cell, c["cells"])
        spec = LONG_RANGE_TASKS[task]
        lr = setting if section == "sweep" else c["lr"][task][cell]
        if section == "sweep" and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or lr <= 0):
            raise ValueError(f"setting must be a positive learning rate in the sweep; got {setting!r}")
        gate_bias = setting if section == "gate bias" else None
        if section == "gate bias" and cell == "rnn":
            raise ValueError("the gate-bias section applies to cell 'lstm' or 'gru'; got 'rnn'")
        clip = None if section == "clipping" else clip
        steps = c["max_steps"][task]
        model = make_model(cell, task, seed, gate_bias)
        make, metric, target, baseline = spec["make"], spec["metric"], spec["target"](T), spec["baseline"](T)
    history = train(model, functools.partial(make, T=T), steps=steps, batch_size=c["batch"], lr=lr, clip=clip,
                    target=target, target_metric=metric, eval_every=c["eval_every"], eval_size=eval_size,
                    seed=seed, progress=False)
    if section == "1997":
        test = adding_problem(r["test_size"], T, form="1997", seed=1997 + T)  # never used in training
        test_wrong = round((1 - evaluate(model, test)[1]) * r["test_size"])
    final = history.final_eval_loss if math.isfinite(history.final_eval_loss) else None
    row = dict(section=section, task=task, cell=cell, T=T, seed=seed, setting=setting, lr=lr, clip=clip,
               hidden_size=model.hidden_size, parameters=model.num_parameters(), solved=history.solved,
               solved_step=history.solved_step, updates=len(history.step), sequences=history.sequences_seen,
               diverged=history.diverged, final_eval_loss=final,
               relative_loss=None if final is None else final / baseline,
               eval_step=list(history.eval_step), eval_loss=list(history.eval_loss),
               eval_accuracy=list(history.eval_accuracy), **_grad_summary(history.grad_norm, clip),
               test_wrong=test_wrong, seconds=round(time.perf_counter() - start, 1))
    return (row, model, history) if return_model else row


#: Jobs of the committed study whose trained models are shipped as weights
#: (:mod:`lstm_course.weights`), because the experiments chapter looks inside them:
#: ``python -m lstm_course.studies long_range --save-models`` retrains exactly these.
SAVED_MODELS = {**{("grid", "adding", cell, 100, 0, None): f"long_range_adding_{cell}_t100_seed0"
                   for cell in ("rnn", "lstm", "gru")},
                ("1997", TASK_1997, CELL_1997, 100, 0, None): "long_range_1997_t100_seed0"}


def _untrained(job: tuple, config: dict):
    """The model of ``job`` as :func:`run_job` builds it, before training."""
    section, task, cell, T, seed, setting = job
    if section == "1997":
        r = config["repro"]
        return make_model_1997(seed, r["hidden"], r["init_range"], r["input_biases"])
    return make_model(cell, task, seed, setting if section == "gate bias" else None)


def saved_model(job: tuple, config: dict):
    """The trained model of ``job`` (a key of :data:`SAVED_MODELS`), loaded from its weights."""
    if job not in SAVED_MODELS:
        raise ValueError(f"no saved model for {job!r}; saved: {list(SAVED_MODELS)}")
    return load_weights(SAVED_MODELS[job], _untrained(job, config))


def held_out_loss(job: tuple, model, config: dict) -> float:
    """The loss of ``model`` on the held-out batch that training evaluated ``job`` on: equal to the
    row's ``final_eval_loss`` for the model the run ended with."""
    section, task, cell, T, seed, _ = job
    if section == "1997":
        make, size = functools.partial(adding_problem, form="1997"), config["repro"]["eval_size"]
    else:
        make, size = LONG_RANGE_TASKS[task]["make"], config["eval_size"]
    return evaluate(model, make(size, T=T, seed=batch_seed(seed, -1)))[0]


def save_models(config: dict, folder=None) -> list:
    """Retrain the jobs of :data:`SAVED_MODELS` (one thread) and save their weights; returns their rows."""
    rows = []
    for job, name in SAVED_MODELS.items():
        row, model, _ = run_job(*job, config=config, return_model=True)
        save_weights(name, model, WEIGHTS_DIR if folder is None else folder)
        rows.append(row)
    return rows


def row_key(row: dict) -> tuple:
    """``(section, task, cell, T, seed, setting)``: the job that made ``row``."""
    return row["section"], row["task"], row["cell"], row["T"], row["seed"], row["setting"]


def _one_thread() -> None:
    """Worker initialiser: one torch (OpenMP, MKL) thread per process, as the results were made;
    the tiny matrices gain nothing from more, and the processes' threads would fight for cores."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    torch.set_num_threads(1)


def default_workers() -> int:
    """The number of cores this process may use (``os.sched_getaffinity``, else ``os.cpu_count``)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_parallel(fn, jobs, workers: int | None = None, desc: str = "runs", cost=None) -> list:
    """``[fn(*job) for job in jobs]``, computed in ``workers`` processes with a progress bar.

    Each worker is a fresh ('spawn') process on one torch thread; the bar advances as runs
    complete, in any order, and the results come back in the order of ``jobs``. An exception in
    a run cancels the runs not yet started and is raised here. With ``cost``, the runs start
    costliest first, so that no long run is left alone at the end while the other workers idle.

    Args:
        fn: a function importable by name (defined at a module's top level, so it can be sent
            to another process), e.g. :func:`run_job`.
        jobs: a list of argument tuples.
        workers: number of processes; None: :func:`default_workers`; 1 runs in this process
            (on one torch thread, restored afterwards).
        desc: the progress bar's label.
        cost: optional function of a job's arguments (a tuple) giving its rough cost, a number;
            only the order in which the runs start depends on it.

    Returns:
        The list of results, ``results[i] = fn(*jobs[i])``.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable; got {type(fn).__name__}")
    if not isinstance(jobs, (list, tuple)) or not all(isinstance(job, (list, tuple)) for job in jobs):
        raise TypeError(f"jobs must be a list of argument tuples; got {type(jobs).__name__} {jobs!r:.80}")
    if cost is not None and not callable(cost):
        raise TypeError(f"cost must be a callable or None; got {type(cost).__name__}")
    workers = min(default_workers() if workers is None else check_int("workers", workers), max(len(jobs), 1))
    order = list(range(len(jobs))) if cost is None else sorted(range(len(jobs)), key=lambda i: -cost(jobs[i]))
    results = [None] * len(jobs)
    with tqdm(total=len(jobs), desc=desc, unit="run") as bar:
        if workers == 1:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                for i in order:
                    results[i] = fn(*jobs[i])
                    bar.update()
            finally:
                torch.set_num_threads(threads)
            return results
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_one_thread) as pool:
            pending = {pool.submit(fn, *jobs[i]): i for i in order}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    i = pending.pop(future)
                    if future.exception() is not None:
                        for other in pending:
                            other.cancel()
                        raise future.exception()
                    results[i] = future.result()
                    bar.update()
    return results


def _rounded(value, digits: int = SIGNIFICANT_DIGITS):
    """``value`` with every float rounded to ``digits`` significant digits (NaN and inf: None)."""
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v, digits) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else None
    return value


def _cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _check_name(name) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError(f"name must be lower-case letters, digits and '_' (a file name); got {name!r}")
    return name


def save_results(name: str, rows: list, config: dict, path=None, *, command: str | None = None,
                 wall_time: float | None = None, workers: int | None = None) -> pathlib.Path:
    """Write a study's rows, config and provenance to a diff-friendly JSON file, one row a line.

    Floats are rounded to ``SIGNIFICANT_DIGITS`` significant digits; NaN and inf become null.

    Args:
        name: the study's name (``"long_range"``), the file's stem.
        rows: the list of row dicts. config: the dict that defined the runs.
        path: where to write; None: ``lstm_course/data/studies/<name>.json`` (shipped).
        command: the command that made the results. wall_time: the study's seconds.
        workers: the number of processes it ran in.

    Returns:
        The path written.
    """
    _check_name(name)
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise TypeError(f"rows must be a list of dicts; got {type(rows).__name__}")
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict; got {type(config).__name__}")
    path = STUDIES_DIR / f"{name}.json" if path is None else pathlib.Path(path)
    provenance = dict(lstm_course=__version__, torch=torch.__version__, numpy=np.__version__,
                      python=platform.python_version(), cpu=_cpu_model(),
                      cpu_capability=torch.backends.cpu.get_cpu_capability(), threads_per_run=1, workers=workers,
                      date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                      command=command, wall_time_s=wall_time, significant_digits=SIGNIFICANT_DIGITS)
    head = json.dumps(_rounded(dict(name=name, config=config, provenance=provenance)), indent=2, ensure_ascii=False)
    lines = ",\n".join("    " + json.dumps(_rounded(row), ensure_ascii=False) for row in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head[:-2] + ',\n  "rows": [\n' + lines + "\n  ]\n}\n", encoding="utf-8")
    return path


def load_results(name: str) -> dict:
    """Read a study's results shipped with the package (via ``importlib.resources``: works
    installed, in Colab too, as well as from a checkout).

    Args:
        name: the study's name, e.g. ``"long_range"``.

    Returns:
        The dict :func:`save_results` wrote: ``name``, ``config``, ``provenance``, ``rows``.
    """
    resource = importlib.resources.files("lstm_course") / "data" / "studies" / f"{_check_name(name)}.json"
    if not resource.is_file():
        shipped = sorted(p.name[:-5] for p in resource.parent.iterdir() if p.name.endswith(".json")) \
            if resource.parent.is_dir() else []
        raise FileNotFoundError(f"no results named {name!r} in lstm_course/data/studies; shipped: {shipped}")
    return json.loads(resource.read_text(encoding="utf-8"))


def _run_section(config: dict, section: str, workers: int) -> list:
    jobs = study_jobs(config, section)
    if not jobs:
        return []
    def cost(job):  # updates x length, the 1997 cell's online steps and the GRU's loop counted more
        task, T = job[1], job[3]
        steps = config["repro"]["max_steps"][str(T)] * 4 if job[0] == "1997" else config["max_steps"][task]
        return steps * T * (3 if job[2] == "gru" else 1)
    return run_parallel(functools.partial(run_job, config=config), jobs, workers, desc=f"{section} runs",
                        cost=cost)


def main(argv: list | None = None) -> None:
    """The command line: run a study in parallel and write its results file."""
    parser = argparse.ArgumentParser(prog="python -m lstm_course.studies", description=main.__doc__)
    parser.add_argument("study", choices=["long_range"])
    parser.add_argument("--full", action="store_true", help="the bigger study (more lengths, seeds, updates)")
    parser.add_argument("--only", choices=["1997"], default=None,
                        help="run only this section (it needs no learning-rate sweep) and write "
                             "<study>[_full]_<section>.json; with --full, the 1997 task at T=100 and 500")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    parser.add_argument("--out", default=None, help="output file (default: the shipped results file)")
    parser.add_argument("--save-models", action="store_true",
                        help="only retrain the runs of SAVED_MODELS with the committed file's learning "
                             "rates and save their weights (the shipped folder)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.save_models:
        torch.set_num_threads(1)  # as the study's workers run
        committed = load_results(args.study)
        old = {row_key(r): r for r in committed["rows"]}
        for row in save_models(committed["config"]):
            same = math.isclose(row["final_eval_loss"], old[row_key(row)]["final_eval_loss"], rel_tol=1e-5)
            print(f"{row_key(row)}: solved {row['solved']}, final held-out loss {row['final_eval_loss']:.6g} "
                  f"({'as' if same else 'NOT as'} in the committed file)")
        return
    config = long_range_config(args.full)
    workers = default_workers() if args.workers is None else check_int("workers", args.workers)
    start = time.perf_counter()
    command = "python -m lstm_course.studies " + " ".join(sys.argv[1:] if argv is None else argv)
    name = args.study + ("_full" if args.full else "")  # the bigger study never overwrites the default one
    if args.only is not None:
        rows = _run_section(config, args.only, workers)
        path = save_results(f"{name}_{args.only}", rows, config, args.out, command=command,
                            wall_time=time.perf_counter() - start, workers=workers)
        for T, seeds in config["repro"]["seeds"].items():
            done = [r for r in rows if r["T"] == int(T)]
            print(f"1997 task, T = {T}: solved {sum(r['solved'] for r in done)}/{len(done)}; sequences "
                  + ", ".join(str(r["sequences"]) if r["solved"] else "-" for r in done))
        print(f"{len(rows)} runs in {time.perf_counter() - start:.0f} s on {workers} workers; wrote {path}")
        return
    rows = _run_section(config, "sweep", workers)  # first the sweep, which sets the learning rates
    config["lr"] = choose_lr(rows, config)
    for section in SECTIONS[1:]:
        rows += _run_section(config, section, workers)
        # written after every section, so that an interrupted study keeps what it finished
        wall = time.perf_counter() - start
        path = save_results(name, rows, config, args.out, command=command, wall_time=wall, workers=workers)
    for task in config["tasks"]:
        print(f"{task:15s} lr: " + ", ".join(f"{c.upper()} {config['lr'][task][c]:g}" for c in config["cells"]))
        grid = [r for r in rows if r["section"] == "grid" and r["task"] == task]
        for T in config["lengths"][task]:
            print(f"  T = {T:4d} solved: " + ", ".join(
                f"{c.upper()} {sum(r['solved'] for r in grid if (r['cell'], r['T']) == (c, T))}/{len(config['seeds'])}"
                for c in config["cells"]))
    print(f"{len(rows)} runs in {wall:.0f} s on {workers} workers; wrote {path}")


if __name__ == "__main__":  # run the package's module, not this __main__ copy, so workers can import fn
    from lstm_course import studies

    studies.main()
