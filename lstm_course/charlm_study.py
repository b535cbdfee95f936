"""The character-level chapter's studies: the three cells over seeds, and a longer LSTM run.

The chapter trains one LSTM with 128 units for 400 steps while the page runs. Two questions need
more runs than a page can afford, so they are studies whose results files the chapter reads:

* ``sweep``: each cell's learning rate. The three cells of ``compare`` at each rate of
  :data:`SWEEP_LRS`, two seeds of their own (100 and 101), the same budget;
  :func:`choose_lr` picks, for each cell alike, the rate with the lowest median final validation
  perplexity. File: ``lstm_course/data/studies/charlm_sweep.json``.
* ``compare``: do the chapter's conclusions about the three cells survive another seed? The LSTM
  (``H = 128``), the GRU and the plain RNN with the hidden sizes that match its parameter count
  (:func:`~lstm_course.models.matched_hidden_size`), each trained with the chapter's recipe
  (:func:`~lstm_course.charlm.train_charlm`: Adam at the rate the sweep chose for the cell, 32
  columns, windows of 64, clipping at 1) for 400 steps from seeds ``0 .. seeds - 1``, evaluated
  every 50 steps. The LSTM
  rows also record the forget-gate time scales of their 128 units after training (the
  misconceptions chapter reads them). File: ``lstm_course/data/studies/charlm_compare.json``; the
  trained LSTM of seed 0, which the chapter samples from and looks inside, is saved as the shipped
  weights ``charlm_lstm_seed0`` (:mod:`lstm_course.weights`).
* ``long``: does the budget explain the gap to the best n-gram? The LSTM alone, the same recipe,
  1,200 steps, evaluated every 200 steps. File: ``lstm_course/data/studies/charlm_long.json``.

Each run is one process on one thread::

    python -m lstm_course.charlm_study {sweep,compare,long} [--workers N] [--seeds K] [--steps S] [--out PATH]
"""
from __future__ import annotations

import argparse
import functools
import sys
import time

import numpy as np
import torch

from ._validate import check_int
from .charlm import CharLM, lstm_trace, train_charlm
from .models import matched_hidden_size
from .probes import forget_time_scales
from .studies import _check_choice, default_workers, load_results, lowest_median_rate, run_parallel, save_results
from .text import Vocab, batchify, load_text, train_val_split
from .weights import WEIGHTS_DIR, save_weights

CELLS = ("lstm", "gru", "rnn")
TAU_CHARACTERS = 5000  # the validation characters over which the time scales are averaged
SAVED = {("lstm", 0): "charlm_lstm_seed0"}  # (cell, seed) of the comparison -> shipped weights
STUDIES = {"sweep": "charlm_sweep", "compare": "charlm_compare", "long": "charlm_long"}  # -> file stem
SWEEP_LRS = [3e-3, 1e-2, 3e-2]  # Adam's learning rates the sweep tries, for every cell
SWEEP_SEEDS = [100, 101]  # the sweep's own seeds, none of the comparison's


def charlm_config(seeds: int = 5, steps: int = 1200) -> dict:
    """The ``long`` study: the chapter's LSTM and recipe, a longer budget (JSON-ready)."""
    return dict(hidden_size=128, embedding_dim=32, cell="lstm", lr=1e-2, batch=32, bptt=64,
                val_columns=16, steps=check_int("steps", steps, minimum=1), eval_every=200,
                seeds=list(range(check_int("seeds", seeds, minimum=1))))


def compare_config(seeds: int = 5, steps: int = 400, lr: dict | None = None) -> dict:
    """The ``compare`` study: the chapter's three cells at matched size and budget (JSON-ready).

    ``hidden_sizes`` maps each cell to its ``H``: 128 for the LSTM, and for the GRU and the RNN
    the size whose parameter count (embedding and read-out included) is closest to the LSTM's.
    ``lr`` maps each cell to its learning rate; None: the rates the committed sweep chose
    (:func:`choose_lr` of ``charlm_sweep.json``).
    """
    V = len(split()[0])
    target = CharLM(V, 128, "lstm").num_parameters()
    sizes = {cell: matched_hidden_size(cell, 32, V, target, embedding_rows=V) for cell in CELLS}
    lr = choose_lr(load_results(STUDIES["sweep"])["rows"]) if lr is None else dict(lr)
    return dict(hidden_sizes=sizes, embedding_dim=32, cells=list(CELLS), lr=lr, batch=32,
                bptt=64, val_columns=16, steps=check_int("steps", steps, minimum=1),
                eval_every=50, seeds=list(range(check_int("seeds", seeds, minimum=1))))


def sweep_config(steps: int = 400) -> dict:
    """The ``sweep`` study: the comparison's cells, sizes and budget at each rate of
    :data:`SWEEP_LRS`, seeds :data:`SWEEP_SEEDS`, evaluated every 100 steps (JSON-ready)."""
    c = compare_config(steps=steps, lr={cell: None for cell in CELLS})
    return dict(c, lr=None, lrs=list(SWEEP_LRS), seeds=list(SWEEP_SEEDS), eval_every=100)


def choose_lr(sweep_rows: list) -> dict:
    """``{cell: lr}``: for each cell, the rate of the sweep with the lowest median final validation
    perplexity over its seeds; among equals, the smaller rate. The same rule for every cell.
    (A language model has no "solved", so the course's :func:`~lstm_course.studies.best_rate` does
    not apply; the perplexity it reaches is the measure.)"""
    return lowest_median_rate(sweep_rows, "cell", CELLS, "final")


def split():
    """``(vocab, train_data (L, 32), val_data (L', 16))``: the chapter's split and layout."""
    text = load_text()
    vocab = Vocab.from_text(text)
    train_ids, val_ids = train_val_split(vocab.encode(text), val_fraction=0.1)
    return vocab, batchify(train_ids, 32), batchify(val_ids, 16)


def _train(cell: str, hidden_size: int, seed: int, c: dict) -> tuple:
    """One run of the recipe in ``c``: the model from ``torch.manual_seed(seed)``, then training.

    Returns:
        ``(row, model)``: the row of :func:`run_long` and the trained model.
    """
    vocab, train_data, val_data = split()
    torch.manual_seed(seed)
    model = CharLM(len(vocab), hidden_size, cell, embedding_dim=c["embedding_dim"])
    history = train_charlm(model, train_data, val_data, steps=c["steps"], bptt=c["bptt"], lr=c["lr"],
                           eval_every=c["eval_every"], progress=False)
    ppl = list(history.val_perplexity)
    best = min(range(len(ppl)), key=ppl.__getitem__)
    row = dict(seed=seed, eval_step=list(history.eval_step), val_perplexity=ppl, best=ppl[best],
               best_step=history.eval_step[best], final=ppl[-1], seconds=round(history.seconds, 1),
               parameters=model.num_parameters())
    return row, model


def time_scale_summary(model: CharLM) -> dict:
    """The forget-gate time scales :math:`\\tau_j` of a trained LSTM's units
    (:func:`~lstm_course.probes.forget_time_scales`), read over the first :data:`TAU_CHARACTERS`
    characters of the validation text: how many units have :math:`\\tau < 2` steps and
    :math:`\\tau > 10` steps, the median and the largest."""
    text = load_text()
    _, val_ids = train_val_split(Vocab.from_text(text).encode(text), val_fraction=0.1)
    tau = forget_time_scales(lstm_trace(model, val_ids[:TAU_CHARACTERS]).gates)  # (H,)
    return dict(tau_short=int((tau < 2).sum()), tau_long=int((tau > 10).sum()),
                tau_median=float(np.median(tau)), tau_max=float(tau.max()))


def run_long(seed: int, *, config: dict | None = None) -> dict:
    """Train one LSTM of the ``long`` study from ``torch.manual_seed(seed)``, as the chapter does.

    Returns:
        The row: ``seed``, ``eval_step`` and ``val_perplexity`` (lists, step 0 first), ``best``
        (lowest validation perplexity) and ``best_step``, ``final``, ``seconds``, ``parameters``.
    """
    c = charlm_config() if config is None else config
    return _train(c["cell"], c["hidden_size"], check_int("seed", seed, minimum=0), c)[0]


def run_compare(cell: str, seed: int, *, config: dict | None = None, weights_folder=None) -> dict:
    """Train one model of the ``compare`` study: ``cell`` from ``torch.manual_seed(seed)``.

    With ``weights_folder``, a run listed in :data:`SAVED` also saves its trained weights there.

    Returns:
        The row of :func:`run_long`, with ``cell`` and ``hidden_size`` added, and for the LSTM the
        :func:`time_scale_summary` of the trained model.
    """
    c = compare_config() if config is None else config
    _check_choice("cell", cell, tuple(c["cells"]))
    run = dict(c, lr=c["lr"][cell])  # the cell's own rate
    row, model = _train(cell, c["hidden_sizes"][cell], check_int("seed", seed, minimum=0), run)
    extra = time_scale_summary(model) if cell == "lstm" else {}
    if weights_folder is not None and (cell, seed) in SAVED:
        save_weights(SAVED[cell, seed], model, weights_folder)
    return dict(cell=cell, hidden_size=c["hidden_sizes"][cell], lr=run["lr"], **row, **extra)


def run_sweep(cell: str, lr: float, seed: int, *, config: dict | None = None) -> dict:
    """Train one model of the ``sweep`` study: ``cell`` at learning rate ``lr`` from
    ``torch.manual_seed(seed)``. Returns the row of :func:`run_long` with ``cell``,
    ``hidden_size`` and ``lr`` added."""
    c = sweep_config() if config is None else config
    _check_choice("cell", cell, tuple(c["cells"]))
    row, _ = _train(cell, c["hidden_sizes"][cell], check_int("seed", seed, minimum=0), dict(c, lr=lr))
    return dict(cell=cell, hidden_size=c["hidden_sizes"][cell], lr=lr, **row)


def load_long_run() -> dict:
    """The committed results of the ``long`` study: ``load_results("charlm_long")``."""
    return load_results(STUDIES["long"])


def load_comparison() -> dict:
    """The committed results of the ``compare`` study: ``load_results("charlm_compare")``."""
    return load_results(STUDIES["compare"])


def main(argv: list | None = None) -> None:
    """The command line: run one study's seeds in parallel and write its results file."""
    parser = argparse.ArgumentParser(prog="python -m lstm_course.charlm_study", description=main.__doc__)
    parser.add_argument("study", choices=sorted(STUDIES), help="which study to run")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps per run (default: 400 compare, 1200 long)")
    parser.add_argument("--out", default=None, help="output file (default: the shipped results file)")
    parser.add_argument("--weights", default=None,
                        help="folder for the compare study's saved weights (default: the shipped folder)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.study == "long":
        config = charlm_config(args.seeds, 1200 if args.steps is None else args.steps)
        fn, jobs = functools.partial(run_long, config=config), [(seed,) for seed in config["seeds"]]
    elif args.study == "sweep":
        config = sweep_config(400 if args.steps is None else args.steps)
        fn = functools.partial(run_sweep, config=config)
        jobs = [(cell, lr, seed) for cell in config["cells"] for lr in config["lrs"] for seed in config["seeds"]]
    else:
        config = compare_config(args.seeds, 400 if args.steps is None else args.steps)
        fn = functools.partial(run_compare, config=config,
                               weights_folder=WEIGHTS_DIR if args.weights is None else args.weights)
        jobs = [(cell, seed) for seed in config["seeds"] for cell in config["cells"]]
    workers = min(default_workers() if args.workers is None else check_int("workers", args.workers), len(jobs))
    start = time.perf_counter()
    rows = run_parallel(fn, jobs, workers, desc=f"{args.study} runs")
    wall = time.perf_counter() - start
    command = "python -m lstm_course.charlm_study " + " ".join(sys.argv[1:] if argv is None else argv)
    path = save_results(STUDIES[args.study], rows, config, args.out, command=command, wall_time=wall,
                        workers=workers)
    for row in rows:
        print(f"{row.get('cell', 'lstm'):4s} seed {row['seed']}: best {row['best']:.3f} at step "
              f"{row['best_step']}, final {row['final']:.3f}")
    print(f"{len(rows)} runs in {wall:.0f} s on {workers} workers; wrote {path}")


if __name__ == "__main__":  # run the package's module, not this __main__ copy, so workers can import fn
    from lstm_course import charlm_study

    charlm_study.main()
