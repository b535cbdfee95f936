"""The LSTM and its heirs compared: accuracy, time and activation memory against T, several seeds.

Run in parallel, results shipped as JSON for the chapter book/part5/linear_recurrences::

    python -m lstm_course.heirs_study [--part all|runs|cost] [--workers N] [--out PATH] [--cost-out PATH]

Contenders (:data:`CONTENDERS`), each one layer of width :data:`HIDDEN` and a linear read-out
(:meth:`~lstm_course.models.SequenceModel.from_layer`): ``torch.nn.LSTM``, minLSTM (parallel
scan), sLSTM, mLSTM (parallel form) and a one-layer causal Transformer; all five are trained
and have cost rows. Tasks (:data:`TASKS`): adding (modern form), selective copy and associative
recall, kept small so that the study fits a 2-core machine. The study runs in two sections: a
``sweep`` of Adam's learning rate at one length, the grid's lengths' geometric middle (every
contender, every task, the same rates, seeds and budget; :func:`choose_lr` picks each
contender's rate on each task), then the ``grid`` at two lengths and five seeds, each contender
at its chosen rate; the sweep's seeds are not the grid's. Every run is seeded as the course's
other studies (``torch.manual_seed(seed)`` before building the model, ``train(..., seed=seed)``)
and runs on one thread; a run stops once its held-out accuracy reaches the target. The cost
rows (:data:`COST_CONFIG`) time one training step (forward, backward, Adam) and count the bytes
of the tensors autograd saves for the backward pass, the activation memory, which depends on the
shapes only, not on the machine. They go to their own results file, ``heirs_cost``, with their own
provenance: timings belong to the machine that made them, and redoing them (``--part cost``)
takes under a minute where the runs take about twelve (two processes).
"""
from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time

import torch

from ._validate import check_int
from .models import SequenceModel
from .recall_tasks import associative_recall, selective_copy
from .studies import best_rate, default_workers, run_parallel, save_results
from .tasks import adding_problem
from .torch.causal_transformer import CausalTransformer
from .torch.minrnn import MinLSTM
from .torch.xlstm import MLSTM, SLSTM
from .training import loss_and_accuracy, train

HIDDEN = 32  # every contender's width


def _lstm(D: int) -> torch.nn.LSTM:
    layer = torch.nn.LSTM(D, HIDDEN)
    with torch.no_grad():  # forget-gate bias 1 (Gers et al. 2000; Jozefowicz et al. 2015)
        layer.bias_ih_l0[HIDDEN : 2 * HIDDEN] = 1.0
        layer.bias_hh_l0[HIDDEN : 2 * HIDDEN] = 0.0
    return layer


CONTENDERS = {  # name -> layer builder (D -> layer); the read-out is added by from_layer
    "LSTM": _lstm,
    "minLSTM": lambda D: MinLSTM(D, HIDDEN, forget_bias=1.0),
    "sLSTM": lambda D: SLSTM(D, HIDDEN),
    "mLSTM": lambda D: MLSTM(D, HIDDEN),
    "Transformer": lambda D: CausalTransformer(D, HIDDEN, nhead=2, num_layers=1),
}
TASKS = {  # name -> task factory (n, T=, seed=) -> TaskData, input size D, output size O, chance accuracy
    "adding": dict(make=adding_problem, D=2, O=1, chance=None),
    "selective copy": dict(make=functools.partial(selective_copy, n_symbols=4, copy_length=2), D=6, O=5,
                           chance=4.0 ** -2),
    "associative recall": dict(make=functools.partial(associative_recall, n_keys=4, n_values=4, pairs=2),
                               D=9, O=4, chance=1 / 4),
}
CONFIG = dict(lengths=[8, 32], seeds=[0, 1, 2, 3, 4], max_steps=2000, batch=32, clip=1.0,
              eval_every=50, eval_size=256, target_accuracy=0.9,
              # each contender's learning rate on each task: the best of this sweep (choose_lr)
              sweep=dict(T=16, lrs=[1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1], seeds=[100, 101]),
              trained=list(CONTENDERS))
# The cost rows: every contender at each length, on a batch of associative recall; a step's time
# is the fastest of `reps` steps after one warm-up step, all in one process on one thread.
COST_CONFIG = dict(lengths=[64, 256, 1024], batch=16, reps=5)


SECTIONS = ("sweep", "grid")


def _check(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}; got {value!r}")
    return value


def make_model(contender: str, task: str, seed: int) -> SequenceModel:
    """A fresh contender for ``task``: ``torch.manual_seed(seed)``, the layer, a linear read-out."""
    _check("contender", contender, CONTENDERS)
    spec = TASKS[_check("task", task, TASKS)]
    torch.manual_seed(check_int("seed", seed, minimum=0))
    return SequenceModel.from_layer(CONTENDERS[contender](spec["D"]), spec["O"])


def run_accuracy(task: str, contender: str, T: int, seed: int, lr: float, section: str = "grid",
                 config: dict | None = None) -> dict:
    """Train one contender on one task at one length with Adam at ``lr``; the row the study stores.

    Args:
        task: a key of :data:`TASKS`. contender: a key of :data:`CONTENDERS`.
        T: the sequence length. seed: the model's and the batches' seed.
        lr: Adam's learning rate. section: ``"sweep"`` or ``"grid"`` (stored in the row).
        config: :data:`CONFIG` or a variant of it.

    Returns:
        dict with ``section, task, contender, T, seed, lr, parameters``, ``accuracy`` (held-out,
        last evaluation), ``solved`` (reached the target accuracy), ``updates`` and ``seconds``.
    """
    c = CONFIG if config is None else config
    T, seed = check_int("T", T, minimum=6), check_int("seed", seed, minimum=0)
    _check("section", section, SECTIONS)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number; got {lr!r}")
    start = time.perf_counter()
    model = make_model(contender, task, seed)
    history = train(model, functools.partial(TASKS[task]["make"], T=T), steps=c["max_steps"],
                    batch_size=c["batch"], lr=float(lr), clip=c["clip"], target=c["target_accuracy"],
                    target_metric="accuracy", eval_every=c["eval_every"], eval_size=c["eval_size"],
                    seed=seed, progress=False)
    return dict(section=section, task=task, contender=contender, T=T, seed=seed, lr=float(lr),
                parameters=model.num_parameters(), accuracy=history.final_eval_accuracy,
                solved=history.solved, updates=len(history.step),
                seconds=round(time.perf_counter() - start, 2))


def activation_bytes(model: SequenceModel, data) -> int:
    """Bytes of the tensors autograd saves for the backward pass of one training loss (each
    storage counted once): the memory a training step holds beyond the weights."""
    seen = {}

    def pack(t):
        storage = t.untyped_storage()
        seen[(storage.data_ptr(), storage.nbytes())] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(data.x, data.lengths, all_steps=data.kind == "sequence")
        loss_and_accuracy(out, data)
    return sum(seen.values())


def run_cost(contender: str, T: int, config: dict | None = None) -> dict:
    """Time one training step (forward, backward, Adam; the fastest of ``reps``) and count its
    activation bytes, on associative recall at length ``T`` with ``batch`` sequences
    (:data:`COST_CONFIG` unless ``config`` is given)."""
    c = COST_CONFIG if config is None else config
    T = check_int("T", T, minimum=8)
    model = make_model(contender, "associative recall", 0)
    data = TASKS["associative recall"]["make"](c["batch"], T=T, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for _ in range(c["reps"] + 1):  # the first is a warm-up
        start = time.perf_counter()
        opt.zero_grad()
        loss, _ = loss_and_accuracy(model(data.x, data.lengths), data)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return dict(contender=contender, T=T, step_seconds=min(times[1:]),
                activation_bytes=activation_bytes(model, data))


def sweep_jobs(config: dict | None = None) -> list:
    """The learning-rate sweep ``(task, contender, T, seed, lr, "sweep")``: every trained
    contender on every task at ``sweep["T"]``, each rate, each sweep seed."""
    c = CONFIG if config is None else config
    s = c["sweep"]
    return [(task, name, s["T"], seed, lr, "sweep") for task in TASKS for name in c["trained"]
            for lr in s["lrs"] for seed in s["seeds"]]


def choose_lr(sweep_rows: list) -> dict:
    """Each contender's learning rate on each task, from the sweep's rows.

    The rate whose runs solved most often wins; ties go to the higher mean final accuracy, then
    to the smaller rate (:func:`~lstm_course.studies.best_rate`). Every contender gets the same
    rates, seeds and budget. Rows of another section are ignored; a list without a sweep row
    raises ``ValueError``.

    Returns:
        ``{task: {contender: lr}}``.
    """
    rows = [r for r in sweep_rows if r.get("section") == "sweep"]
    if not rows:
        raise ValueError("sweep_rows has no rows of section 'sweep'")
    chosen = {}
    for task, name in sorted({(r["task"], r["contender"]) for r in rows}):
        runs = {}
        for r in rows:
            if (r["task"], r["contender"]) == (task, name):
                runs.setdefault(r["lr"], []).append(r)
        chosen.setdefault(task, {})[name] = best_rate(
            runs, lambda group: -statistics.fmean(r["accuracy"] for r in group))
    return chosen


def jobs(lr: dict, config: dict | None = None) -> list:
    """The accuracy runs ``(task, contender, T, seed, lr, "grid")`` in grid order, each contender
    at its rate ``lr[task][contender]`` (from :func:`choose_lr`)."""
    c = CONFIG if config is None else config
    return [(task, name, T, seed, lr[task][name], "grid") for task in TASKS for T in c["lengths"]
            for name in c["trained"] for seed in c["seeds"]]


def summary(rows: list) -> dict:
    """``(task, contender, T) -> (solved, runs, median accuracy)`` over the seeds of the grid's rows."""
    rows = [r for r in rows if r.get("section") == "grid"]
    out = {}
    for key in sorted({(r["task"], r["contender"], r["T"]) for r in rows}):
        group = [r for r in rows if (r["task"], r["contender"], r["T"]) == key]
        out[key] = (sum(r["solved"] for r in group), len(group),
                    statistics.median(r["accuracy"] for r in group))
    return out


def _cost(job: tuple) -> float:
    """A run's rough cost, for ordering: its length, the sLSTM's Python loop counted four times."""
    return job[2] * (4 if job[1] == "sLSTM" else 1)


def _run_all(job_list: list, workers: int, desc: str) -> list:
    return run_parallel(run_accuracy, job_list, workers, desc=desc, cost=_cost)


def main(argv: list | None = None) -> None:
    """The command line: run the sweep, then the grid at the rates it chose, in parallel, and
    write their rows; then the cost rows in one process, written to their own file."""
    parser = argparse.ArgumentParser(prog="python -m lstm_course.heirs_study", description=main.__doc__)
    parser.add_argument("--part", choices=("all", "runs", "cost"), default="all",
                        help="the training runs, the cost rows, or both (default)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    parser.add_argument("--out", default=None, help="the runs' file (default: the shipped heirs.json)")
    parser.add_argument("--cost-out", default=None, help="the cost rows' file (default: the shipped heirs_cost.json)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    workers = default_workers() if args.workers is None else check_int("workers", args.workers)
    command = "python -m lstm_course.heirs_study " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.part in ("all", "runs"):
        start = time.perf_counter()
        rows = _run_all(sweep_jobs(), workers, "sweep runs")
        lr = choose_lr(rows)
        rows += _run_all(jobs(lr), workers, "grid runs")
        wall = time.perf_counter() - start
        config = dict(CONFIG, hidden=HIDDEN, contenders=list(CONTENDERS), tasks=list(TASKS), lr=lr)
        path = save_results("heirs", rows, config, args.out, command=command, wall_time=wall, workers=workers)
        for (task, name, T), (k, n, med) in summary(rows).items():
            print(f"{task:19s} {name:12s} lr {lr[task][name]:g} T={T:4d} solved {k}/{n} median accuracy {med:.2f}")
        print(f"{len(rows)} runs in {wall:.0f} s on {workers} workers; wrote {path}")
    if args.part in ("all", "cost"):
        start = time.perf_counter()
        cost_jobs = [(name, T) for T in COST_CONFIG["lengths"] for name in CONTENDERS]
        cost = run_parallel(run_cost, cost_jobs, 1, desc="cost rows")  # one process: timings side by side
        wall = time.perf_counter() - start
        config = dict(COST_CONFIG, hidden=HIDDEN, contenders=list(CONTENDERS))
        path = save_results("heirs_cost", cost, config, args.cost_out, command=command, wall_time=wall, workers=1)
        print(f"{len(cost)} cost rows in {wall:.0f} s; wrote {path}")


if __name__ == "__main__":  # run the package's module, so that the workers can import run_accuracy
    from lstm_course import heirs_study

    heirs_study.main()
