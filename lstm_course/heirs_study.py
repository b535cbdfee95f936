"""The LSTM and its heirs compared: accuracy, time and activation memory against T, several seeds.

Run in parallel, results shipped as JSON for the chapter book/part5/linear_recurrences::

    python -m lstm_course.heirs_study [--workers N] [--out PATH]

Contenders (:data:`CONTENDERS`), each one layer of width :data:`HIDDEN` and a linear read-out
(:meth:`~lstm_course.models.SequenceModel.from_layer`): ``torch.nn.LSTM``, minLSTM (parallel
scan), sLSTM, mLSTM (parallel form) and a one-layer causal Transformer; all five have cost
rows, and all but the sLSTM (``CONFIG["trained"]``) are trained in the accuracy grid. Tasks
(:data:`TASKS`): adding (modern form), selective copy and associative recall, kept small so that
the grid fits a 2-core laptop. Every run is seeded as the course's other studies
(``torch.manual_seed(seed)`` before building the model, ``train(..., seed=seed)``) and runs on
one thread; a run stops once its held-out accuracy reaches the target. The cost rows time one
training step (forward, backward, Adam) and count the bytes of the tensors autograd saves for
the backward pass, the activation memory, which depends on the shapes only, not on the machine.
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
from .studies import default_workers, run_parallel, save_results
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
CONFIG = dict(lengths=[6, 12, 24], seeds=[0, 1, 2, 3, 4], max_steps=100, batch=32, lr=1e-2, clip=1.0,
              eval_every=25, eval_size=256, target_accuracy=0.9,
              cost_lengths=[64, 256, 1024], cost_batch=16, cost_reps=2,
              # trained in the accuracy grid: the sLSTM, a Python loop over time like the LSTM but
              # without cuDNN-style kernels, costs more than the other four together; it has cost rows
              trained=["LSTM", "minLSTM", "mLSTM", "Transformer"])


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


def run_accuracy(task: str, contender: str, T: int, seed: int, config: dict | None = None) -> dict:
    """Train one contender on one task at one length; the row the study stores.

    Returns:
        dict with ``task, contender, T, seed, parameters``, ``accuracy`` (held-out, last
        evaluation), ``solved`` (reached the target accuracy), ``updates`` and ``seconds``.
    """
    c = CONFIG if config is None else config
    T, seed = check_int("T", T, minimum=6), check_int("seed", seed, minimum=0)
    start = time.perf_counter()
    model = make_model(contender, task, seed)
    history = train(model, functools.partial(TASKS[task]["make"], T=T), steps=c["max_steps"],
                    batch_size=c["batch"], lr=c["lr"], clip=c["clip"], target=c["target_accuracy"],
                    target_metric="accuracy", eval_every=c["eval_every"], eval_size=c["eval_size"],
                    seed=seed, progress=False)
    return dict(task=task, contender=contender, T=T, seed=seed, parameters=model.num_parameters(),
                accuracy=history.final_eval_accuracy, solved=history.solved, updates=len(history.step),
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
    """Time one training step (forward, backward, Adam; best of ``cost_reps``) and count its
    activation bytes, on associative recall at length ``T`` with ``cost_batch`` sequences."""
    c = CONFIG if config is None else config
    T = check_int("T", T, minimum=8)
    model = make_model(contender, "associative recall", 0)
    data = TASKS["associative recall"]["make"](c["cost_batch"], T=T, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for _ in range(c["cost_reps"] + 1):  # the first is a warm-up
        start = time.perf_counter()
        opt.zero_grad()
        loss, _ = loss_and_accuracy(model(data.x, data.lengths), data)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return dict(contender=contender, T=T, step_seconds=min(times[1:]),
                activation_bytes=activation_bytes(model, data))


def jobs(config: dict | None = None) -> list:
    """The accuracy runs ``(task, contender, T, seed)`` in grid order."""
    c = CONFIG if config is None else config
    return [(task, name, T, seed) for task in TASKS for T in c["lengths"] for name in c["trained"]
            for seed in c["seeds"]]


def summary(rows: list) -> dict:
    """``(task, contender, T) -> (solved, runs, median accuracy)`` over the seeds of the accuracy rows."""
    rows = [r for r in rows if "task" in r]
    out = {}
    for key in sorted({(r["task"], r["contender"], r["T"]) for r in rows}):
        group = [r for r in rows if (r["task"], r["contender"], r["T"]) == key]
        out[key] = (sum(r["solved"] for r in group), len(group),
                    statistics.median(r["accuracy"] for r in group))
    return out


def main(argv: list | None = None) -> None:
    """The command line: run the accuracy grid in parallel, then the cost rows, write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m lstm_course.heirs_study", description=main.__doc__)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    parser.add_argument("--out", default=None, help="output file (default: the shipped results file)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    grid = jobs()
    workers = min(default_workers() if args.workers is None else check_int("workers", args.workers), len(grid))
    order = sorted(range(len(grid)), key=lambda i: -grid[i][2])  # the longest first
    start = time.perf_counter()
    done = run_parallel(run_accuracy, [grid[i] for i in order], workers, desc="heirs runs")
    rows = [row for _, row in sorted(zip(order, done), key=lambda pair: pair[0])]
    cost_jobs = [(name, T) for T in CONFIG["cost_lengths"] for name in CONTENDERS]
    cost = run_parallel(run_cost, cost_jobs, 1, desc="cost rows")  # one process: timings side by side
    wall = time.perf_counter() - start
    command = "python -m lstm_course.heirs_study " + " ".join(sys.argv[1:] if argv is None else argv)
    config = {k: v for k, v in CONFIG.items()}
    config.update(hidden=HIDDEN, contenders=list(CONTENDERS), tasks=list(TASKS))
    path = save_results("heirs", rows + cost, config, args.out, command=command, wall_time=wall, workers=workers)
    for (task, name, T), (k, n, med) in summary(rows).items():
        print(f"{task:19s} {name:12s} T={T:4d} solved {k}/{n} median accuracy {med:.2f}")
    print(f"{len(rows)} runs and {len(cost)} cost rows in {wall:.0f} s on {workers} workers; wrote {path}")


if __name__ == "__main__":  # run the package's module, so that the workers can import run_accuracy
    from lstm_course import heirs_study

    heirs_study.main()
