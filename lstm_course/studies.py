"""Studies too heavy for a notebook's default run: run in parallel by a script, results shipped as JSON.

A chapter reads a study's committed results (:func:`load_results`) instead of training dozens
of models in its default run; a test re-runs a sample of the rows and checks that they agree.
The same command re-runs the whole study, or a bigger grid, on a bigger machine::

    python -m lstm_course.studies long_range [--full] [--workers N] [--out PATH]

The study here is the long-range grid of the experiments chapter: RNN, LSTM and GRU with
matched parameter counts on the adding, temporal-order and copy tasks at several lengths.
Every run is one process on one thread, seeded as in the chapter (``torch.manual_seed(seed)``
before building the model, then ``train(..., seed=seed)``), so a row does not depend on the
worker that ran it or on the order of the runs. It does depend on the CPU's kernels: training
amplifies their last bits, so on another machine a loss may differ in its first digit and a
solved step by an evaluation (tests/test_studies.py quotes the measured spread); the file's
provenance records the machine.
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
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context

import numpy as np
import torch
from tqdm.auto import tqdm

from . import __version__
from ._validate import check_int
from .models import CELLS, SequenceModel, count_parameters, matched_hidden_size
from .tasks import (adding_baseline_mse, adding_problem, copy_baseline_loss, copy_task, temporal_order,
                    temporal_order_baseline_loss)
from .training import train

LSTM_HIDDEN = 24  # the LSTM's hidden size; the other cells get the hidden size of the same parameter count
LSTM_FORGET_BIAS = 3.0  # the LSTM's initial forget-gate bias (the chapter's section on the forget gate)
LONG_RANGE_TASKS = {  # D, O, learning rate, the success rule (metric reaches target(T)) and baseline loss(T)
    "adding": dict(make=adding_problem, D=2, O=1, lr=3e-2, metric="loss",
                   target=lambda T: adding_baseline_mse() / 10, baseline=lambda T: adding_baseline_mse()),
    "temporal order": dict(make=temporal_order, D=8, O=4, lr=1e-2, metric="accuracy",
                           target=lambda T: 0.95, baseline=lambda T: temporal_order_baseline_loss()),
    "copy": dict(make=copy_task, D=10, O=9, lr=1e-2, metric="loss",
                 target=lambda T: copy_baseline_loss(T) / 10, baseline=copy_baseline_loss),
}
SIGNIFICANT_DIGITS = 6  # floats in a results file; training's last digits belong to the CPU anyway
STUDIES_DIR = pathlib.Path(__file__).resolve().parent / "data" / "studies"
_CONFIG_KEYS = ("tasks", "cells", "lengths", "seeds", "max_steps", "lr", "batch", "clip", "eval_every", "eval_size")


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


def make_model(cell: str, task: str, seed: int) -> SequenceModel:
    """A fresh, untrained model of the grid, initialised as the chapter does.

    Args:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``. task: a key of ``LONG_RANGE_TASKS``.
        seed: ``torch.manual_seed(seed)`` is called just before the model is built.

    Returns:
        A :class:`SequenceModel` with :func:`hidden_size` units; the LSTM's forget-gate bias
        starts at ``LSTM_FORGET_BIAS``, the other biases and weights at PyTorch's defaults.
    """
    H = hidden_size(cell, task)
    spec = LONG_RANGE_TASKS[task]
    torch.manual_seed(check_int("seed", seed, minimum=0))
    return SequenceModel(cell, spec["D"], H, spec["O"], forget_bias=LSTM_FORGET_BIAS if cell == "lstm" else None)


def long_range_config(full: bool = False) -> dict:
    """The long-range grid and its training budget (JSON-ready: lists, not tuples).

    Args:
        full: False: the chapter's default run (lengths 50, 100, 200; seed 0; 500 updates, 100
            for copy). True: the chapter's ``FULL=1`` run (length 500 too, seeds 0-2, 5000 updates).

    Returns:
        dict with ``tasks``, ``cells``, ``lengths``, ``seeds`` (the grid), ``max_steps`` and
        ``lr`` (task -> value), ``batch``, ``clip`` (global norm), ``eval_every``, ``eval_size``.
    """
    if not isinstance(full, bool):
        raise TypeError(f"full must be a bool; got {type(full).__name__} {full!r}")
    return dict(tasks=list(LONG_RANGE_TASKS), cells=list(CELLS),
                lengths=[50, 100, 200, 500] if full else [50, 100, 200], seeds=[0, 1, 2] if full else [0],
                max_steps={task: 5000 for task in LONG_RANGE_TASKS} if full else
                {"adding": 500, "temporal order": 500, "copy": 100},
                lr={task: spec["lr"] for task, spec in LONG_RANGE_TASKS.items()},
                batch=32, clip=1.0, eval_every=25, eval_size=256)


def _check_config(config) -> dict:
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict like long_range_config(); got {type(config).__name__}")
    if set(config) != set(_CONFIG_KEYS):
        raise ValueError(f"config must have exactly the keys {_CONFIG_KEYS}; got {tuple(config)}")
    for name, known in (("tasks", tuple(LONG_RANGE_TASKS)), ("cells", CELLS)):
        if not set(config[name]) <= set(known):
            raise ValueError(f"config[{name!r}] must be drawn from {known}; got {config[name]!r}")
    return config


def long_range_jobs(config: dict | None = None) -> list:
    """The grid's runs, in the chapter's order: task, then length, then cell, then seed.

    Args:
        config: as :func:`long_range_config` returns it (None: the default one).

    Returns:
        A list of ``(task, cell, T, seed)`` tuples, the arguments of :func:`run_long_range`.
    """
    c = _check_config(long_range_config() if config is None else config)
    return [(task, cell, T, seed) for task in c["tasks"] for T in c["lengths"] for cell in c["cells"]
            for seed in c["seeds"]]


def run_long_range(task: str, cell: str, T: int, seed: int, *, config: dict | None = None,
                   return_model: bool = False):
    """Train one model of the long-range grid, exactly as the experiments chapter does.

    Args:
        task: a key of ``LONG_RANGE_TASKS``. cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        T: the sequence length (``>= 10``). seed: the model's and the batches' seed (``>= 0``).
        config: the budget, as :func:`long_range_config` returns it (None: the default one).
        return_model: also return the trained model and its training
            :class:`~lstm_course.training.History` (per-step losses and gradient norms).

    Returns:
        The row, a dict: ``task, cell, T, seed, lr, hidden_size, parameters``; ``solved``
        (the held-out metric reached ``target(T)``), ``solved_step`` (updates done then, or
        None), ``updates``, ``diverged``, ``final_eval_loss``, ``relative_loss`` (final loss /
        ``baseline(T)``, None when there was no evaluation), ``eval_step``, ``eval_loss``,
        ``eval_accuracy`` (lists, one entry per held-out evaluation), ``seconds`` (this run's
        wall time). With ``return_model``, ``(row, model, history)``.
    """
    c = _check_config(long_range_config() if config is None else config)
    _check_choice("task", task, c["tasks"])
    _check_choice("cell", cell, c["cells"])
    T, seed = check_int("T", T, minimum=10), check_int("seed", seed, minimum=0)
    if not isinstance(return_model, bool):
        raise TypeError(f"return_model must be a bool; got {type(return_model).__name__} {return_model!r}")
    spec, lr = LONG_RANGE_TASKS[task], c["lr"][task]
    start = time.perf_counter()
    model = make_model(cell, task, seed)
    history = train(model, functools.partial(spec["make"], T=T), steps=c["max_steps"][task],
                    batch_size=c["batch"], lr=lr, clip=c["clip"], target=spec["target"](T),
                    target_metric=spec["metric"], eval_every=c["eval_every"], eval_size=c["eval_size"],
                    seed=seed, progress=False)
    final = history.final_eval_loss if math.isfinite(history.final_eval_loss) else None
    row = dict(task=task, cell=cell, T=T, seed=seed, lr=lr, hidden_size=model.hidden_size,
               parameters=model.num_parameters(), solved=history.solved, solved_step=history.solved_step,
               updates=len(history.step), diverged=history.diverged, final_eval_loss=final,
               relative_loss=None if final is None else final / spec["baseline"](T),
               eval_step=list(history.eval_step), eval_loss=list(history.eval_loss),
               eval_accuracy=list(history.eval_accuracy), seconds=round(time.perf_counter() - start, 1))
    return (row, model, history) if return_model else row


def _one_thread() -> None:
    """Worker initialiser: one torch (OpenMP, MKL) thread per process, as the results were made;
    the tiny matrices gain nothing from more, and the processes' threads would fight for cores."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    torch.set_num_threads(1)


def default_workers() -> int:
    """The number of cores this process may use (``os.sched_getaffinity``, else ``os.cpu_count``)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_parallel(fn, jobs, workers: int | None = None, desc: str = "runs") -> list:
    """``[fn(*job) for job in jobs]``, computed in ``workers`` processes with a progress bar.

    Each worker is a fresh ('spawn') process on one torch thread; the bar advances as runs
    complete, in any order, and the results come back in the order of ``jobs``. An exception in
    a run cancels the runs not yet started and is raised here.

    Args:
        fn: a function importable by name (defined at a module's top level, so it can be sent
            to another process), e.g. :func:`run_long_range`.
        jobs: a list of argument tuples.
        workers: number of processes; None: :func:`default_workers`; 1 runs in this process
            (on one torch thread, restored afterwards).
        desc: the progress bar's label.

    Returns:
        The list of results, ``results[i] = fn(*jobs[i])``.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable; got {type(fn).__name__}")
    if not isinstance(jobs, (list, tuple)) or not all(isinstance(job, (list, tuple)) for job in jobs):
        raise TypeError(f"jobs must be a list of argument tuples; got {type(jobs).__name__} {jobs!r:.80}")
    workers = min(default_workers() if workers is None else check_int("workers", workers), max(len(jobs), 1))
    results = [None] * len(jobs)
    with tqdm(total=len(jobs), desc=desc, unit="run") as bar:
        if workers == 1:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                for i, job in enumerate(jobs):
                    results[i] = fn(*job)
                    bar.update()
            finally:
                torch.set_num_threads(threads)
            return results
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_one_thread) as pool:
            pending = {pool.submit(fn, *job): i for i, job in enumerate(jobs)}
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


def main(argv: list | None = None) -> None:
    """The command line: run a study in parallel and write its results file."""
    parser = argparse.ArgumentParser(prog="python -m lstm_course.studies", description=main.__doc__)
    parser.add_argument("study", choices=["long_range"])
    parser.add_argument("--full", action="store_true", help="the FULL=1 grid (more lengths, seeds, updates)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    parser.add_argument("--out", default=None, help="output file (default: the shipped results file)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    config = long_range_config(args.full)
    jobs = long_range_jobs(config)
    # the costliest runs first (updates x length), so that no long run is left alone at the end
    order = sorted(range(len(jobs)), key=lambda i: -config["max_steps"][jobs[i][0]] * jobs[i][2])
    workers = min(default_workers() if args.workers is None else check_int("workers", args.workers), len(jobs))
    start = time.perf_counter()
    done = run_parallel(functools.partial(run_long_range, config=config), [jobs[i] for i in order], workers,
                        desc=f"{args.study} runs")
    wall = time.perf_counter() - start
    rows = [row for _, row in sorted(zip(order, done), key=lambda pair: pair[0])]  # back in grid order
    command = "python -m lstm_course.studies " + " ".join(sys.argv[1:] if argv is None else argv)
    name = args.study + ("_full" if args.full else "")  # the FULL grid never overwrites the default one
    path = save_results(name, rows, config, args.out, command=command, wall_time=wall, workers=workers)
    for task in config["tasks"]:
        solved = {c: [r["solved"] for r in rows if (r["task"], r["cell"]) == (task, c)] for c in config["cells"]}
        print(f"{task:15s} solved: " + ", ".join(f"{c.upper()} {sum(s)}/{len(s)}" for c, s in solved.items()))
    print(f"{len(rows)} runs in {wall:.0f} s on {workers} workers; wrote {path}")


if __name__ == "__main__":  # run the package's module, not this __main__ copy, so workers can import fn
    from lstm_course import studies

    studies.main()
