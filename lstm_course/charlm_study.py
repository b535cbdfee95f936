"""The character-level chapter's long run: its LSTM trained three times longer, over five seeds.

The chapter trains an LSTM with 128 units for 400 steps and finds it behind the best Kneser–Ney
n-gram. This study asks whether the budget explains the gap: the same model and recipe
(:func:`~lstm_course.charlm.train_charlm`, Adam at ``1e-2``, 32 columns, windows of 64, clipping at
1) for ``steps`` updates, from seeds ``0 .. seeds - 1``, with the validation perplexity every
``eval_every`` steps. Each run is one process on one thread; the chapter reads the committed file
``lstm_course/data/studies/charlm_long.json``::

    python -m lstm_course.charlm_study [--workers N] [--seeds K] [--steps S] [--out PATH]
"""
from __future__ import annotations

import argparse
import functools
import sys
import time

import torch

from ._validate import check_int
from .charlm import CharLM, train_charlm
from .studies import default_workers, load_results, run_parallel, save_results
from .text import Vocab, batchify, load_text, train_val_split


def charlm_config(seeds: int = 5, steps: int = 1200) -> dict:
    """The recipe of the chapter, with a longer budget (JSON-ready)."""
    return dict(hidden_size=128, embedding_dim=32, cell="lstm", lr=1e-2, batch=32, bptt=64,
                val_columns=16, steps=check_int("steps", steps, minimum=1), eval_every=200,
                seeds=list(range(check_int("seeds", seeds, minimum=1))))


def split():
    """``(vocab, train_data (L, 32), val_data (L', 16))``: the chapter's split and layout."""
    text = load_text()
    vocab = Vocab.from_text(text)
    train_ids, val_ids = train_val_split(vocab.encode(text), val_fraction=0.1)
    return vocab, batchify(train_ids, 32), batchify(val_ids, 16)


def run_long(seed: int, *, config: dict | None = None) -> dict:
    """Train one LSTM of the study from ``torch.manual_seed(seed)``, as the chapter does.

    Returns:
        The row: ``seed``, ``eval_step`` and ``val_perplexity`` (lists, step 0 first), ``best``
        (lowest validation perplexity) and ``best_step``, ``final``, ``seconds``.
    """
    c = charlm_config() if config is None else config
    seed = check_int("seed", seed, minimum=0)
    vocab, train_data, val_data = split()
    torch.manual_seed(seed)
    model = CharLM(len(vocab), c["hidden_size"], c["cell"], embedding_dim=c["embedding_dim"])
    history = train_charlm(model, train_data, val_data, steps=c["steps"], bptt=c["bptt"], lr=c["lr"],
                           eval_every=c["eval_every"], progress=False)
    ppl = list(history.val_perplexity)
    best = min(range(len(ppl)), key=ppl.__getitem__)
    return dict(seed=seed, eval_step=list(history.eval_step), val_perplexity=ppl, best=ppl[best],
                best_step=history.eval_step[best], final=ppl[-1], seconds=round(history.seconds, 1))


def load_long_run() -> dict:
    """The committed results: ``load_results("charlm_long")``."""
    return load_results("charlm_long")


def main(argv: list | None = None) -> None:
    """The command line: run the seeds in parallel and write the results file."""
    parser = argparse.ArgumentParser(prog="python -m lstm_course.charlm_study", description=main.__doc__)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds")
    parser.add_argument("--steps", type=int, default=1200, help="training steps per run")
    parser.add_argument("--out", default=None, help="output file (default: the shipped results file)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    config = charlm_config(args.seeds, args.steps)
    jobs = [(seed,) for seed in config["seeds"]]
    workers = min(default_workers() if args.workers is None else check_int("workers", args.workers), len(jobs))
    start = time.perf_counter()
    rows = run_parallel(functools.partial(run_long, config=config), jobs, workers, desc="long runs")
    wall = time.perf_counter() - start
    command = "python -m lstm_course.charlm_study " + " ".join(sys.argv[1:] if argv is None else argv)
    path = save_results("charlm_long", rows, config, args.out, command=command, wall_time=wall, workers=workers)
    for row in rows:
        print(f"seed {row['seed']}: best {row['best']:.3f} at step {row['best_step']}, final {row['final']:.3f}")
    print(f"{len(rows)} runs in {wall:.0f} s on {workers} workers; wrote {path}")


if __name__ == "__main__":  # run the package's module, not this __main__ copy, so workers can import fn
    from lstm_course import charlm_study

    charlm_study.main()
