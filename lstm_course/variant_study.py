"""The variants chapter's ablation study: nine LSTM variants and a GRU, several seeds and learning rates.

Every model reads ``T = 20`` steps of the last-marked-value task
(:func:`~lstm_course.tasks.last_marked_value`) and predicts, at the last step, the value at the
last marked step; each run trains with Adam on fresh batches and is scored on 256 held-out
sequences. The grid is ``variant x learning rate x seed``: the committed file has four rates
(3e-3, 1e-2, 3e-2, 1e-1) and six seeds for every model, the same budget for all. :func:`choose_lr`
picks each model's rate from the grid's rows by one stated rule, and :func:`rows_at` gives each
model's rows at that rate, which the chapter compares. A run is one process on one thread,
seeded as the chapter does (``torch.manual_seed(seed)`` before building the model, then
``train(..., seed=seed)``), so a row does not depend on the worker that ran it. The chapter reads
the committed results (``lstm_course/data/studies/variants.json``); the command re-runs them::

    python -m lstm_course.variant_study [--workers N] [--seeds K] [--lrs LR ...] [--out PATH]
"""
from __future__ import annotations

import argparse
import functools
import math
import statistics
import sys
import time

import torch

from ._validate import check_int
from .models import SequenceModel, count_parameters, matched_hidden_size
from .studies import best_rate, default_workers, load_results, run_parallel, save_results
from .tasks import last_marked_baseline_mse, last_marked_value
from .torch import GRU, LSTM
from .training import train

T_TASK, H_LSTM, INPUT_SIZE = 20, 16, 2
VARIANTS = {  # name -> options of lstm_course.torch.LSTM (None: the GRU); Greff et al.'s abbreviations
    "standard (NP)": {},
    "peepholes (V)": {"peephole": True},
    "no input gate (NIG)": {"input_gate": False},
    "no forget gate (NFG)": {"forget_gate": False},
    "no output gate (NOG)": {"output_gate": False},
    "no input activation (NIAF)": {"input_activation": False},
    "no output activation (NOAF)": {"output_activation": False},
    "coupled (CIFG)": {"coupled": True},
    "forget bias 1": {"forget_bias": 1.0},
    "GRU": None,
}
SOLVED_FRACTION = 0.01  # a run solves the task when its held-out MSE is below 1/100 of the baseline's (RMSE < 0.029)


def variants_config(seeds: int = 6, lrs=(1e-2,)) -> dict:
    """The grid and its budget (JSON-ready).

    Args:
        seeds: the number of seeds per variant and learning rate (seeds ``0 .. seeds - 1``).
        lrs: Adam's learning rates, the same for every model (the committed file:
            ``--lrs 3e-3 1e-2 3e-2 1e-1``; the default here is the one rate ``1e-2``).

    Returns:
        dict with ``variants`` (name -> options, None for the GRU), ``lrs``, ``seeds``, ``steps``,
        ``batch``, ``clip``, ``T``, ``hidden_size``, ``eval_size``, ``solved_fraction``.
    """
    seeds = check_int("seeds", seeds, minimum=1)
    lrs = [float(lr) for lr in lrs]
    if not lrs or not all(math.isfinite(lr) and lr > 0 for lr in lrs):
        raise ValueError(f"lrs must be positive learning rates, at least one; got {lrs!r}")
    return dict(variants=dict(VARIANTS), lrs=lrs, seeds=list(range(seeds)), steps=400,
                batch=64, clip=1.0, T=T_TASK, hidden_size=H_LSTM, eval_size=256,
                solved_fraction=SOLVED_FRACTION)


def gru_hidden_size() -> int:
    """The GRU's hidden size: about the parameters of the standard LSTM with ``H_LSTM`` units."""
    return matched_hidden_size("gru", INPUT_SIZE, 1, count_parameters("lstm", INPUT_SIZE, H_LSTM, 1))


def make_model(variant: str, seed: int) -> SequenceModel:
    """A fresh model: the package's ``LSTM`` with the variant's options (or a ``GRU``) and a read-out.

    Args:
        variant: a key of ``VARIANTS``. seed: ``torch.manual_seed(seed)`` just before building.
    """
    if not isinstance(variant, str) or variant not in VARIANTS:
        raise ValueError(f"variant must be one of {tuple(VARIANTS)}; got {variant!r}")
    options = VARIANTS[variant]
    torch.manual_seed(check_int("seed", seed, minimum=0))
    layer = GRU(INPUT_SIZE, gru_hidden_size()) if options is None else LSTM(INPUT_SIZE, H_LSTM, **options)
    return SequenceModel.from_layer(layer, output_size=1)


def used_parameters(model: SequenceModel) -> int:
    """Parameters the equations use (an LSTM variant's unused gate rows not counted), read-out included."""
    rnn = model.rnn
    n_rnn = rnn.num_used_parameters() if isinstance(rnn, LSTM) else sum(p.numel() for p in rnn.parameters())
    return n_rnn + sum(p.numel() for p in model.readout.parameters())


def run_variant(variant: str, lr: float, seed: int, *, config: dict | None = None) -> dict:
    """Train one model of the grid and score it on held-out sequences.

    Returns:
        The row: ``variant, lr, seed, parameters``, ``mse`` (held-out, after training; None if it
        diverged), ``relative_mse`` (``mse`` / the constant-0.5 baseline 1/12), ``accuracy`` (share
        of held-out sequences within 0.04 of the target), ``solved`` (``relative_mse`` below
        ``solved_fraction``), ``seconds``.
    """
    c = variants_config() if config is None else config
    if not isinstance(lr, float) or not lr > 0:
        raise ValueError(f"lr must be a positive float; got {lr!r}")
    start = time.perf_counter()
    model = make_model(variant, seed)
    history = train(model, functools.partial(last_marked_value, T=c["T"]), steps=c["steps"],
                    batch_size=c["batch"], lr=lr, clip=c["clip"], eval_every=c["steps"],
                    eval_size=c["eval_size"], seed=seed, progress=False)
    mse = history.final_eval_loss if math.isfinite(history.final_eval_loss) else None
    relative = None if mse is None else mse / last_marked_baseline_mse()
    return dict(variant=variant, lr=lr, seed=seed, parameters=used_parameters(model), mse=mse,
                relative_mse=relative, accuracy=history.final_eval_accuracy,
                solved=relative is not None and relative < c["solved_fraction"],
                seconds=round(time.perf_counter() - start, 1))


def variants_jobs(config: dict) -> list:
    """``(variant, lr, seed)`` for every run of the grid, variant first, then learning rate, then seed."""
    return [(v, lr, s) for v in config["variants"] for lr in config["lrs"] for s in config["seeds"]]


def load_variants() -> dict:
    """The committed results: ``load_results("variants")``."""
    return load_results("variants")


ROW_KEYS = ("variant", "lr", "seed", "solved", "relative_mse")  # what choose_lr reads of a row


def sweep_summary(rows: list) -> dict:
    """Each model's result at each learning rate of the grid.

    Args:
        rows: rows of :func:`run_variant` (dicts with at least :data:`ROW_KEYS`); every model must
            have the same learning rates, with the same number of seeds at each.

    Returns:
        ``{variant: {lr: dict(k, n, median)}}`` in the rows' order: ``k`` seeds solved of ``n``,
        ``median`` the median ``relative_mse`` (a diverged run, ``None``, counts as ``inf``).
    """
    if not isinstance(rows, (list, tuple)):
        raise TypeError(f"rows must be a list of dicts (rows of run_variant); got {type(rows).__name__} "
                        f"{rows!r:.80}")
    if bad := [r for r in rows if not isinstance(r, dict)]:
        raise TypeError(f"rows must be a list of dicts (rows of run_variant); got a {type(bad[0]).__name__} "
                        f"among them: {bad[0]!r:.80}")
    if not rows:
        raise ValueError("rows must hold at least one run; got none")
    for r in rows:
        if missing := [key for key in ROW_KEYS if key not in r]:
            raise ValueError(f"every row must have the keys {ROW_KEYS}; got one without {missing}: {r!r:.80}")
    groups = {}  # variant -> lr -> runs
    for r in rows:
        groups.setdefault(r["variant"], {}).setdefault(r["lr"], []).append(r)
    shapes = {v: {lr: len(runs) for lr, runs in sorted(by_lr.items())} for v, by_lr in groups.items()}
    if len({tuple(shape.items()) for shape in shapes.values()}) > 1:
        raise ValueError(f"every model must have the same learning rates and seeds per rate; got {shapes}")
    return {v: {lr: dict(k=sum(bool(r["solved"]) for r in runs), n=len(runs),
                         median=statistics.median(math.inf if r["relative_mse"] is None
                                                  else r["relative_mse"] for r in runs))
                for lr, runs in by_lr.items()} for v, by_lr in groups.items()}


def choose_lr(rows: list) -> dict:
    """Each model's learning rate, by one rule for every model, from the grid's rows.

    The rule: the rate at which the most seeds solved the task; among rates with equally many,
    the one with the lower median relative MSE; if that ties too, the smaller rate
    (:func:`~lstm_course.studies.best_rate`). The rate is
    chosen on the same seeds that are then reported, with the same care for every model.

    Args:
        rows: rows of :func:`run_variant`, as for :func:`sweep_summary`.

    Returns:
        ``{variant: lr}``, the models in the rows' order.
    """
    summary = sweep_summary(rows)  # also checks rows
    runs = {}
    for r in rows:
        runs.setdefault(r["variant"], {}).setdefault(r["lr"], []).append(r)

    def median_relative_mse(group):
        return statistics.median(math.inf if r["relative_mse"] is None else r["relative_mse"] for r in group)

    return {v: best_rate(runs[v], median_relative_mse) for v in summary}


def rows_at(rows: list, chosen: dict | None = None) -> dict:
    """Each model's rows at its learning rate: ``{variant: [row, ...]}`` in seed order.

    Args:
        rows: rows of :func:`run_variant`. chosen: ``{variant: lr}`` for every model of ``rows``
            (default: :func:`choose_lr` of ``rows``).
    """
    default = choose_lr(rows)  # also checks rows
    chosen = default if chosen is None else chosen
    if not isinstance(chosen, dict):
        raise TypeError(f"chosen must be a dict {{variant: lr}}; got {type(chosen).__name__} {chosen!r:.80}")
    out = {v: sorted((r for r in rows if (r["variant"], r["lr"]) == (v, lr)), key=lambda r: r["seed"])
           for v, lr in chosen.items()}
    if empty := [v for v, runs in out.items() if not runs]:
        raise ValueError(f"chosen must name a variant and learning rate of rows; got none for {empty}")
    return out


def main(argv: list | None = None) -> None:
    """The command line: run the grid in parallel and write its results file."""
    parser = argparse.ArgumentParser(prog="python -m lstm_course.variant_study", description=main.__doc__)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    parser.add_argument("--seeds", type=int, default=6, help="seeds per variant and learning rate")
    parser.add_argument("--lrs", type=float, nargs="+", default=[1e-2], help="Adam learning rates")
    parser.add_argument("--out", default=None, help="output file (default: the shipped results file)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    config = variants_config(args.seeds, args.lrs)
    jobs = variants_jobs(config)
    workers = min(default_workers() if args.workers is None else check_int("workers", args.workers), len(jobs))
    start = time.perf_counter()
    rows = run_parallel(functools.partial(run_variant, config=config), jobs, workers, desc="variant runs")
    wall = time.perf_counter() - start
    command = "python -m lstm_course.variant_study " + " ".join(sys.argv[1:] if argv is None else argv)
    path = save_results("variants", rows, config, args.out, command=command, wall_time=wall, workers=workers)
    for v in config["variants"]:
        line = ", ".join(f"lr {lr:g}: {sum(r['solved'] for r in rows if (r['variant'], r['lr']) == (v, lr))}"
                         f"/{len(config['seeds'])}" for lr in config["lrs"])
        print(f"{v:28s} solved {line}")
    print("chosen learning rates:", {v: f"{lr:g}" for v, lr in choose_lr(rows).items()})
    print(f"{len(rows)} runs in {wall:.0f} s on {workers} workers; wrote {path}")


if __name__ == "__main__":  # run the package's module, not this __main__ copy, so workers can import fn
    from lstm_course import variant_study

    variant_study.main()
