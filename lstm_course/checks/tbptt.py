"""Checkers for truncated backpropagation through time: batching a stream, one training window, and
the evaluation loop.

``train_window`` is checked by running it on two consecutive windows of a small float64
``CharLM`` with plain SGD (so an update is exactly ``−lr`` times the clipped gradient) and
comparing the two losses and the final weights with a reference run from the same initial
weights; the known mistakes (the state reset instead of carried, no clipping, gradients not
zeroed between windows, the summed instead of the mean loss) are reference runs with that
mistake built in. A state passed on without ``detach`` makes the second backward pass reach
into the first window's freed graph; the checker names that too.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .. import text
from ..charlm import CharLM
from . import _engine as E
from . import _traps as traps


# --------------------------------------------------------------------------------- batchify
def _stream_cases():
    out = []
    for k, (N, B) in enumerate(((23, 4), (10, 1), (30, 3))):
        ids = torch.from_numpy(np.random.default_rng(9500 + k).integers(0, 7, size=N)).long()
        out.append(E.Case(f"{k + 1} of 3: a stream of {N}, batch_size = {B}", dict(ids=ids, B=B)))
    return out


def _batchify(d, mistake=None):
    ids, B = d["ids"], d["B"]
    L = len(ids) // B
    if mistake == "interleaved":
        return {"data": ids[: L * B].reshape(L, B).numpy()}
    return {"data": text.batchify(ids, B).numpy()}


def check_batchify(fn, verbose: bool = True):
    """Check a student's ``batchify(ids, batch_size) -> (L, B)``: column ``b`` holds characters
    ``b·L … (b+1)·L − 1`` of the stream, ``L = N // B``, the remainder dropped.

    Recognised mistakes: the stream dealt out across the columns (``reshape(L, B)``: neighbouring
    characters land in different columns); batch-first ``(B, L)``; the remainder kept.
    """
    name = E.function_name(fn, "check_batchify", "batchify")

    def mutants(d):
        return [E.Mutant("interleaved", {}, lambda: _batchify(d, "interleaved"))]
    return E.run(name, fn, _stream_cases(), lambda f, d: f(d["ids"], d["B"]),
                 lambda raw, d: {"data": E.to_array(raw, "the batched data")}, _batchify, mutants,
                 what="every column is a contiguous piece of the stream, time-major, on 3 streams.",
                 forbid=traps.forbidden("text_pipeline"), verbose=verbose)


# --------------------------------------------------------------------------------- one window
_V, _H, _K, _B, _LR, _MAX_NORM = 6, 5, 4, 3, 0.5, 0.1


def _model(seed: int) -> CharLM:
    torch.manual_seed(seed)
    return CharLM(_V, _H, cell="lstm", embedding_dim=3).double()


def _window_cases():
    out = []
    for k in range(2):
        ids = torch.from_numpy(np.random.default_rng(9600 + k).integers(0, _V, size=(2 * _K + 1, _B))).long()
        windows = [(ids[i * _K: (i + 1) * _K], ids[i * _K + 1: (i + 1) * _K + 1]) for i in range(2)]
        out.append(E.Case(f"{k + 1} of 2: two windows of {_K} steps, B = {_B}", dict(windows=windows, seed=9700 + k)))
    return out


def _reference_window(model, opt, x, y, state, max_norm, ms=frozenset()):
    logits, state = model(x, state)
    loss = F.cross_entropy(logits.reshape(-1, _V), y.reshape(-1), reduction="sum" if "loss_sum" in ms else "mean")
    if "no_zero_grad" not in ms:
        opt.zero_grad()
    loss.backward()
    if "no_clipping" not in ms:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    opt.step()
    return loss.item(), tuple(s.detach() for s in state)


def _run_two(d, window_fn):
    model = _model(d["seed"])
    opt = torch.optim.SGD(model.parameters(), lr=_LR)
    losses, state = [], None
    for x, y in d["windows"]:
        loss, state = window_fn(model, opt, x, y, state)
        losses.append(loss)
    return model, losses, state


def _reference_run(d, mistake=None):
    ms = E.mistakes_of(mistake)

    def window(model, opt, x, y, state):
        return _reference_window(model, opt, x, y, None if "window_state_not_carried" in ms else state, _MAX_NORM, ms)
    model, losses, _ = _run_two(d, window)
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy()
    return {"losses": np.array(losses), "weights": flat}


def check_train_window(fn, verbose: bool = True):
    """Check a student's ``train_window(model, optimiser, x, y, state, max_norm) -> (loss, state)``.

    One window of truncated BPTT: run ``model(x, state)`` (a ``CharLM``: logits ``(K, B, V)``
    and the new state), take the mean cross-entropy against ``y (K, B)``, zero the gradients,
    backpropagate, clip the gradients' global norm to ``max_norm``, take one optimiser step,
    and return the loss (a float) and the new state *detached* from the graph.

    Recognised mistakes: the state not detached (the next window's backward pass reaches into
    this one's graph); the state reset instead of carried; no clipping (or clipping after the
    step); gradients not zeroed, so they pile up across windows; the loss summed instead of
    averaged; and any two of these at once.
    """
    name = E.function_name(fn, "check_train_window", "train_window")

    def invoke(f, d):
        def window(model, opt, x, y, state):
            try:
                loss, new = E.expect_tuple(f(model, opt, x, y, state, _MAX_NORM), ("loss", "state"), name)
            except RuntimeError as e:
                if "second time" in str(e) or "freed" in str(e):
                    raise E.OutputProblem("state_not_detached") from None
                raise
            if isinstance(new, (tuple, list)) and any(getattr(s, "grad_fn", None) is not None for s in new):
                raise E.OutputProblem("state_not_detached")
            return float(loss), new
        model, losses, _ = _run_two(d, window)
        return np.array(losses), torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy()

    def unpack(raw, d):
        return {"losses": raw[0], "weights": raw[1]}

    def mutants(d):
        table = [(m, {}, {"mistake": m}) for m in ("window_state_not_carried", "no_clipping", "no_zero_grad", "loss_sum")]
        return E.mutants(table, lambda **kw: _reference_run(d, **kw))
    return E.run(name, fn, _window_cases(), invoke, unpack, _reference_run, mutants,
                 what="two consecutive windows give the reference's losses and weights (state carried and "
                      "detached, gradients zeroed, clipped, mean loss).",
                 forbid=traps.forbidden("training_loops"), verbose=verbose)


# --------------------------------------------------------------------------------- evaluation
def _eval_cases():
    out = []
    for k, (L, B, bptt) in enumerate(((14, 3, 4), (9, 1, 3), (11, 2, 20))):
        ids = torch.from_numpy(np.random.default_rng(9800 + k).integers(0, _V, size=(L, B))).long()
        out.append(E.Case(f"{k + 1} of 3: data ({L}, {B}), bptt = {bptt}", dict(data=ids, bptt=bptt, seed=9900 + k)))
    return out


def _evaluate(d, mistake=None):
    model = _model(d["seed"])
    data, bptt = d["data"], d["bptt"]
    total, count, means, state = 0.0, 0, [], None
    with torch.no_grad():
        for k in range(text.num_windows(data, bptt)):
            x, y = text.tbptt_window(data, k, bptt)
            logits, state = model(x, None if mistake == "state_reset_each_window" else state)
            nll = F.cross_entropy(logits.reshape(-1, _V), y.reshape(-1), reduction="sum").item()
            total, count = total + nll, count + y.numel()
            means.append(nll / y.numel())
    return {"loss": np.array(np.mean(means) if mistake == "mean_of_window_means" else total / count)}


def check_evaluate(fn, verbose: bool = True):
    """Check a student's ``evaluate(model, data, bptt) -> float``: the mean cross-entropy (nats per
    character) of a ``CharLM`` on ``data (L, B)``, read window by window with the state carried
    from one window to the next, without gradients.

    Recognised mistakes: the state reset at every window; the mean of the windows' means (the
    last window is shorter); gradients recorded during evaluation (not under ``torch.no_grad()``).
    """
    name = E.function_name(fn, "check_evaluate", "evaluate")

    def invoke(f, d):
        model = _model(d["seed"])
        grad_modes = []
        model.register_forward_hook(lambda *_: grad_modes.append(torch.is_grad_enabled()))
        loss = f(model, d["data"], d["bptt"])
        if any(grad_modes):
            raise E.OutputProblem("grad_enabled")
        return loss

    def unpack(raw, d):
        value = float(raw) if isinstance(raw, (int, float)) or (hasattr(raw, "numel") and raw.numel() == 1) else raw
        return {"loss": E.to_array(value, "the loss")}

    def mutants(d):
        return [E.Mutant(m, {}, (lambda m=m: _evaluate(d, m))) for m in ("state_reset_each_window",
                                                                         "mean_of_window_means")]
    return E.run(name, fn, _eval_cases(), invoke, unpack, _evaluate, mutants,
                 what="the mean cross-entropy per character matches, state carried across windows, on 3 "
                      "streams.", forbid=traps.forbidden("training_loops"), verbose=verbose)

