"""The sequence-to-sequence study: attention or not, teacher forcing or not, accuracy against length.

Three set-ups of :class:`~lstm_course.seq2seq.Seq2Seq` learn to reverse digit strings of 1 to
``train_max`` digits, each with several seeds:

* ``attention``: additive attention, teacher forcing;
* ``plain``: no attention (the context is the encoder's final state), teacher forcing;
* ``plain, free-running``: no attention, trained on its own argmax outputs.

Each run is then tested on fresh strings of every length in ``test_lengths``, some longer than
any it was trained on, with greedy decoding and with beam search, and on strings of the training
lengths with the decoder fed the truth and fed its own outputs (exposure bias). Every run is one
process on one thread, seeded (``torch.manual_seed(seed)`` before building the model, then
``train_seq2seq(..., seed=seed)``), so a row depends neither on the worker nor on the order::

    python -m lstm_course.seq2seq_study [--sweep] [--workers N] [--out PATH]

writes ``lstm_course/data/studies/seq2seq.json``, which the chapter reads. Each set-up's learning
rate comes from a sweep (``--sweep``, file ``seq2seq_sweep.json``): every set-up at each rate of
:data:`SWEEP`, seeds of its own, the same training; :func:`choose_lr` keeps, for each set-up
alike, the rate with the lowest median validation cross-entropy (the training loss, in the set-up's
own regime, on fresh strings of the training lengths), the measure the char LM's sweep uses too.
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

from ._validate import check_int
from .seq2seq import Seq2Seq
from .seq2seq_decode import beam_search, greedy_decode
from .seq2seq_train import (accuracy_by_length, held_out_strings, reverse_task, token_accuracy, train_seq2seq,
                            validation_loss)
from .studies import default_workers, load_results, lowest_median_rate, run_parallel, save_results
from .weights import WEIGHTS_DIR, load_weights, save_weights

SETUPS = {  # name -> (attention, teacher forcing)
    "attention": ("additive", True),
    "plain": (None, True),
    "plain, free-running": (None, False),
}


#: Runs whose trained models ship as weights (:mod:`lstm_course.weights`): the chapter draws the
#: attention of this one. ``python -m lstm_course.seq2seq_study --save-models`` retrains them.
SAVED_MODELS = {("attention", 0): "seq2seq_attention_seed0"}
#: The learning-rate sweep: rates, seeds (none of the study's), and the validation strings (of the
#: training lengths, drawn with a seed apart from training's and the tests').
SWEEP = dict(lrs=[3e-3, 1e-2, 3e-2, 1e-1], seeds=[100, 101, 102], val_n=1000, val_seed=20_000)


def seq2seq_config(lr: dict | None = None) -> dict:
    """The study's grid and budget (JSON-ready): set-ups, seeds, model size, training, tests.

    ``lr`` maps each set-up to its learning rate; None: the rates the committed sweep chose
    (:func:`choose_lr` of ``seq2seq_sweep.json``).
    """
    lr = choose_lr(load_results("seq2seq_sweep")["rows"]) if lr is None else dict(lr)
    return dict(setups=list(SETUPS), seeds=[0, 1, 2, 3, 4], hidden_size=32, embed_size=16, train_min=1,
                train_max=10, steps=500, batch=64, lr=lr, clip=1.0, test_lengths=[2, 4, 6, 8, 10, 12, 14, 16],
                test_n=100, beam_width=4, beam_n=30, exposure_n=500)


def make_seq2seq(setup: str, seed: int, config: dict | None = None) -> Seq2Seq:
    """A fresh model of ``setup`` (a key of ``SETUPS``), built right after ``torch.manual_seed(seed)``."""
    c = seq2seq_config() if config is None else config
    if setup not in SETUPS:
        raise ValueError(f"setup must be one of {tuple(SETUPS)}; got {setup!r}")
    torch.manual_seed(check_int("seed", seed, minimum=0))
    return Seq2Seq(c["hidden_size"], c["embed_size"], attention=SETUPS[setup][0])


def run_seq2seq(setup: str, seed: int, *, config: dict | None = None, beam: bool = True,
                return_model: bool = False):
    """Train and test one run of the study.

    Args:
        setup: a key of ``SETUPS``. seed: the model's and the batches' seed.
        config: as :func:`seq2seq_config` returns it (None: that one).
        beam: also decode with beam search (the test's sample re-run skips it to save time).
        return_model: also return the trained model.

    Returns:
        The row, a dict: ``setup, seed, parameters, final_loss`` (mean of the last 20 updates),
        ``greedy`` and ``beam`` (``{length: correct of test_n / beam_n}``; ``beam`` None when not
        run), ``beam_greedy`` (greedy's count on the beam's strings), ``beam_lower`` (strings on
        which the beam's sequence scored below greedy's), ``token_acc_fed_truth`` and
        ``token_acc_fed_own`` (at the training lengths), ``seconds``.
    """
    c = seq2seq_config() if config is None else config
    start = time.perf_counter()
    model = make_seq2seq(setup, seed, c)
    history = train_seq2seq(model, reverse_task(c["train_min"], c["train_max"]), steps=c["steps"],
                            batch_size=c["batch"], lr=c["lr"][setup], clip=c["clip"],
                            teacher_forcing=SETUPS[setup][1], seed=seed)
    exposure = reverse_task(c["train_min"], c["train_max"])(c["exposure_n"], seed=10_000 + seed)
    row = dict(setup=setup, seed=seed, lr=c["lr"][setup], parameters=sum(p.numel() for p in model.parameters()),
               final_loss=sum(history.loss[-20:]) / 20,
               greedy={str(k): v for k, v in accuracy_by_length(model, c["test_lengths"], c["test_n"],
                                                                seed=seed).items()},
               beam=None, beam_greedy=None, beam_lower=None,
               token_acc_fed_truth=token_accuracy(model, exposure, True),
               token_acc_fed_own=token_accuracy(model, exposure, False))
    if beam:
        row["beam"], row["beam_greedy"], row["beam_lower"] = beam_against_greedy(model, c, seed)
    row["seconds"] = round(time.perf_counter() - start, 1)
    return (row, model) if return_model else row


def run_sweep(setup: str, lr: float, seed: int, config: dict | None = None) -> dict:
    """One run of the learning-rate sweep: ``setup`` trained as in the study at rate ``lr``, then
    its validation cross-entropy on :data:`SWEEP`'s strings: the training loss (mean over target
    tokens) in the set-up's own regime, the decoder fed the truth or, free-running, its own outputs.

    Returns:
        The row: ``setup, lr, seed, final_loss`` (mean of the last 20 updates), ``val_loss``.
    """
    c = seq2seq_config(lr={s: lr for s in SETUPS}) if config is None else config
    model = make_seq2seq(setup, seed, c)
    task = reverse_task(c["train_min"], c["train_max"])
    history = train_seq2seq(model, task, steps=c["steps"], batch_size=c["batch"], lr=lr, clip=c["clip"],
                            teacher_forcing=SETUPS[setup][1], seed=seed)
    val_loss = validation_loss(model, task(SWEEP["val_n"], seed=SWEEP["val_seed"] + seed), SETUPS[setup][1])
    return dict(setup=setup, lr=lr, seed=seed, final_loss=sum(history.loss[-20:]) / 20, val_loss=val_loss)


def choose_lr(sweep_rows: list) -> dict:
    """``{setup: lr}``: for each set-up, the rate with the lowest median ``val_loss`` over the
    sweep's seeds; among equals, the smaller rate. The same rule for every set-up."""
    return lowest_median_rate(sweep_rows, "setup", SETUPS, "val_loss")


def beam_against_greedy(model: Seq2Seq, config: dict, seed: int):
    """Beam search and greedy decoding on the same ``beam_n`` strings of each test length.

    Returns:
        ``(beam, greedy, lower)``: correct counts per length (``{str(length): count}``) for each,
        and the number of strings on which beam search returned a lower log-probability than greedy.
    """
    beam, greedy, lower = {}, {}, 0
    for length in config["test_lengths"]:
        data = held_out_strings(length, config["beam_n"], seed=seed)
        target = [data.tgt[: int(data.tgt_lengths[b]), b].tolist() for b in range(config["beam_n"])]
        g_seqs, g_scores = greedy_decode(model, data.src, data.src_lengths, length + 3)
        b_correct = 0
        for b in range(config["beam_n"]):
            seq, score = beam_search(model, data.src[:, b : b + 1], data.src_lengths[b : b + 1],
                                     config["beam_width"], length + 3)
            b_correct += seq == target[b]
            lower += score < float(g_scores[b]) - 1e-5
        beam[str(length)] = b_correct
        greedy[str(length)] = sum(seq == tgt for seq, tgt in zip(g_seqs, target))
    return beam, greedy, lower


def saved_seq2seq(setup: str, seed: int, config: dict | None = None) -> Seq2Seq:
    """The trained model of the run ``(setup, seed)`` (a key of :data:`SAVED_MODELS`), loaded."""
    if (setup, seed) not in SAVED_MODELS:
        raise ValueError(f"no saved model for {(setup, seed)!r}; saved: {list(SAVED_MODELS)}")
    return load_weights(SAVED_MODELS[setup, seed], make_seq2seq(setup, seed, config))


def save_models(config: dict | None = None, folder=None) -> list:
    """Retrain the runs of :data:`SAVED_MODELS` (greedy tests only) and save their weights; returns
    their rows."""
    rows = []
    for (setup, seed), name in SAVED_MODELS.items():
        row, model = run_seq2seq(setup, seed, config=config, beam=False, return_model=True)
        save_weights(name, model, WEIGHTS_DIR if folder is None else folder)
        rows.append(row)
    return rows


def main(argv: list | None = None) -> None:
    """The command line: run the study in parallel and write its results file."""
    parser = argparse.ArgumentParser(prog="python -m lstm_course.seq2seq_study", description=main.__doc__)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    parser.add_argument("--out", default=None, help="output file (default: the shipped results file)")
    parser.add_argument("--sweep", action="store_true",
                        help="only run the learning-rate sweep and write seq2seq_sweep.json (or --out)")
    parser.add_argument("--save-models", action="store_true",
                        help="only retrain the runs of SAVED_MODELS and save their weights (the shipped folder)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.save_models:
        torch.set_num_threads(1)  # as the study's workers run
        committed = {(r["setup"], r["seed"]): r for r in load_results("seq2seq")["rows"]}
        for row in save_models():
            same = row["greedy"] == committed[row["setup"], row["seed"]]["greedy"]
            print(f"{row['setup']}, seed {row['seed']}: greedy {row['greedy']} "
                  f"({'as' if same else 'NOT as'} in the committed file)")
        return
    command = "python -m lstm_course.seq2seq_study " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.sweep:
        jobs = [(setup, lr, seed) for setup in SETUPS for lr in SWEEP["lrs"] for seed in SWEEP["seeds"]]
        workers = min(default_workers() if args.workers is None else check_int("workers", args.workers), len(jobs))
        start = time.perf_counter()
        rows = run_parallel(run_sweep, jobs, workers, desc="sweep runs")
        wall = time.perf_counter() - start
        config = dict(seq2seq_config(lr={}), lr=None, sweep=SWEEP)
        path = save_results("seq2seq_sweep", rows, config, args.out, command=command.strip(), wall_time=wall,
                            workers=workers)
        print(f"chosen: {choose_lr(rows)}; {len(rows)} runs in {wall:.0f} s; wrote {path}")
        return
    config = seq2seq_config()
    jobs = [(setup, seed) for setup in config["setups"] for seed in config["seeds"]]
    workers = min(default_workers() if args.workers is None else check_int("workers", args.workers), len(jobs))
    start = time.perf_counter()
    rows = run_parallel(_run_default, jobs, workers, desc="seq2seq runs")
    wall = time.perf_counter() - start
    path = save_results("seq2seq", rows, config, args.out, command=command.strip(), wall_time=wall,
                        workers=workers)
    for setup in config["setups"]:
        counts = [[r["greedy"][str(T)] for r in rows if r["setup"] == setup] for T in config["test_lengths"]]
        print(f"{setup:20s} " + " ".join(f"{sorted(c)[len(c) // 2]:4d}" for c in counts))
    print(f"{len(rows)} runs in {wall:.0f} s on {workers} workers; wrote {path}")


def _run_default(setup: str, seed: int) -> dict:
    """:func:`run_seq2seq` with the default config (a top-level function, so workers can import it)."""
    return run_seq2seq(setup, seed)


if __name__ == "__main__":  # run the package's module, not this __main__ copy, so workers can import fn
    from lstm_course import seq2seq_study

    seq2seq_study.main()
