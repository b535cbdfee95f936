"""Checkers for Lab 6's language-model exercises: the window of truncated BPTT, perplexity over
windows of unequal length, and the score of a continuation.

Each is compared with the package's answer (:func:`lstm_course.text.tbptt_window`,
:func:`lstm_course.charlm.perplexity`, :func:`lstm_course.charlm.continuation_log_prob`),
computed outside the traps; while the student's function runs, those functions are traps, so a
wrapper around them earns no credit. The models are small float64 ``CharLM``s with fixed seeds.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from .. import charlm, text
from ..charlm import CharLM
from . import _engine as E
from . import _feedback as FB
from . import _traps as traps

FB.MESSAGES.update({
    "targets_not_shifted": ("your targets are the inputs themselves: y[t] = x[t].",
                            "The target of step t is the *next* character: y = data[s + 1 : s + 1 + T], "
                            "one row further than x = data[s : s + T]."),
    "window_stride_one": ("your window k starts at row k: consecutive windows overlap in all but one row.",
                          "Window k starts at row s = k * bptt, so that the windows tile the data."),
    "row_skipped": ("your window k starts at row k * (bptt + 1): one row between windows is never an "
                    "input.",
                    "Window k starts at row k * bptt. The row that is window k's last target is window "
                    "k + 1's first input; it is not used up."),
    "last_row_without_target": ("in the last window x has one row more than y: the data's last row has "
                                "no next character to predict.",
                                "Take T = min(bptt, L − 1 − s) rows for both x and y."),
    "batch_major": ("your window is batch-major, ({B}, T): the course is time-major.",
                    "Slice rows of the (L, B) data: x = data[s : s + T] has shape (T, B)."),
    "exp_missing": ("you return the mean cross-entropy (nats per character), not the perplexity.",
                    "Perplexity is exp of that mean: math.exp(total / count)."),
    "bits_then_exp": ("your number is exp of the cross-entropy in bits: the bases are mixed.",
                      "Nats go with exp, bits with 2 **: exp(mean nats) = 2 ** (mean bits)."),
    "pow2_of_nats": ("your number is 2 ** (cross-entropy in nats): the bases are mixed.",
                     "F.cross_entropy works in nats (natural log): take exp of the mean, not 2 **."),
    "train_mode": ("the model runs in training mode during evaluation.",
                   "Call model.eval() before evaluating (it switches dropout off, in models that "
                   "have it), and model.train() after."),
    "prompt_scored": ("your mean also counts the prompt's characters.",
                      "Score only the continuation: the predictions of its characters start at the "
                      "prompt's last position, len(prompt) − 1."),
    "score_not_shifted": ("each character is scored by the prediction made *after* reading it.",
                          "Position t's logits predict character t + 1: read log_probs[:-1] against "
                          "ids[1:]."),
    "log_softmax_missing": ("your scores are raw logits, not log-probabilities.",
                            "torch.log_softmax(logits, dim=-1) first; logits have no fixed scale."),
    "log_prob_sum": ("you return the sum of the log-probabilities, not their mean per character.",
                     "Divide by the number of characters scored, so that texts of different lengths "
                     "compare."),
    "prompt_state_dropped": ("the continuation is read from a zero state, not from the state the "
                             "prompt ended in.",
                             "Read prompt and continuation as one sequence, or pass the prompt's final "
                             "state on: model(x, state)."),
})


# ----------------------------------------------------------------------------- the window
def _window_cases():
    out = []
    for k, (L, B, bptt) in enumerate(((11, 3, 4), (10, 1, 3), (8, 2, 16))):
        ids = torch.from_numpy(np.random.default_rng(9100 + k).integers(0, 50, size=(L, B))).long()
        out.append(E.Case(f"{k + 1} of 3: data ({L}, {B}), bptt = {bptt}", dict(data=ids, bptt=bptt)))
    return out


WINDOW_MISTAKES = ("targets_not_shifted", "window_stride_one", "row_skipped",
                   "last_row_without_target")


def _window(data, k, bptt, mistake=None):
    """Window ``k`` of ``data (L, B)``: ``(x, y)``, with the mistakes of ``mistake``."""
    ms = E.mistakes_of(mistake)
    s = k * E.one_of({"window_stride_one": 1, "row_skipped": bptt + 1}, ms, bptt)
    if "last_row_without_target" in ms:
        x, y = data[s: s + bptt], data[s + 1: s + 1 + bptt]
    else:
        T = max(0, min(bptt, data.shape[0] - 1 - s))
        x, y = data[s: s + T], data[s + 1: s + 1 + T]
    return x, (x if "targets_not_shifted" in ms else y)


def _as_padded(windows, bptt, B):
    """The windows as two ``(n, bptt + 1, B)`` float arrays padded with −1 (one shape for all)."""
    xs, ys = (np.full((len(windows), bptt + 1, B), -1.0) for _ in range(2))
    for k, (x, y) in enumerate(windows):
        xs[k, : len(x)], ys[k, : len(y)] = x, y
    return {"x": xs, "y": ys}


def _windows_of(d, mistake=None):
    data, bptt = d["data"], d["bptt"]
    n = text.num_windows(data, bptt)
    windows = [_window(data, k, bptt, mistake) for k in range(n)]
    return _as_padded([(x.numpy(), y.numpy()) for x, y in windows], bptt, data.shape[1])


def check_next_char_window(fn, verbose: bool = True):
    """Check a student's ``next_char_window(data, k, bptt) -> (x, y)``, on every window of three
    ``(L, B)`` streams (a last window shorter than ``bptt`` among them).

    Window ``k`` covers rows ``s = k · bptt`` to ``s + T − 1`` with ``T = min(bptt, L − 1 − s)``,
    ``y`` the same rows shifted by one. Recognised mistakes: targets not shifted; windows that
    overlap (start at row ``k``) or skip a row (start at ``k · (bptt + 1)``); a last window whose
    ``x`` keeps the row that has no target; a batch-major ``(B, T)`` window; any two at once.
    """
    name = E.function_name(fn, "check_next_char_window", "next_char_window")

    def invoke(f, d):
        return [f(d["data"], k, d["bptt"]) for k in range(text.num_windows(d["data"], d["bptt"]))]

    def unpack(raw, d):
        B, bptt = d["data"].shape[1], d["bptt"]
        windows = []
        for k, pair in enumerate(raw):
            x, y = (E.to_array(v, q) for v, q in zip(E.expect_tuple(pair, ("x", "y"), name), "xy"))
            want = _window(d["data"], k, bptt)[0].shape
            for v in (x, y):
                if v.ndim == 2 and v.shape == want[::-1] and want[0] != want[1]:
                    raise E.OutputProblem("batch_major", B=B)
                if v.ndim != 2 or v.shape[1] != B or v.shape[0] > bptt + 1:
                    raise E.OutputProblem("wrong_shape", quantity=f"window {k}",
                                          expected=tuple(want), received=v.shape,
                                          hint="x and y are (T, B): T rows of the time-major data.")
            windows.append((x, y))
        return _as_padded(windows, bptt, B)

    def mutants(d):
        return E.mutants([(c, {}, {"mistake": c}) for c in WINDOW_MISTAKES],
                         functools.partial(_windows_of, d))
    return E.run(name, fn, _window_cases(), invoke, unpack, _windows_of, mutants,
                 what="every window tiles the data, time-major, with targets one row ahead, on 3 "
                      "streams (a shorter last window included).",
                 forbid=traps.forbidden("windows"), verbose=verbose)


# ----------------------------------------------------------------------------- perplexity
_V = 6
PERPLEXITY_MISTAKES = ("state_reset_each_window", "mean_of_window_means", "exp_missing",
                       "bits_then_exp", "pow2_of_nats")


def _model(seed: int) -> CharLM:
    torch.manual_seed(seed)
    model = CharLM(_V, 5, cell="lstm", embedding_dim=3).double()
    with torch.no_grad():
        model.readout.weight.mul_(3.0)  # predictions far enough from uniform to tell bases apart
    return model


def _perplexity_cases():
    out = []
    for k, (L, B, bptt) in enumerate(((14, 3, 4), (9, 1, 3), (11, 2, 20))):
        ids = torch.from_numpy(np.random.default_rng(9200 + k).integers(0, _V, size=(L, B))).long()
        out.append(E.Case(f"{k + 1} of 3: data ({L}, {B}), bptt = {bptt}",
                          dict(data=ids, bptt=bptt, seed=9300 + k)))
    return out


@torch.no_grad()
def _perplexity(d, mistake=None):
    ms = E.mistakes_of(mistake)
    finish = E.one_of({"exp_missing": lambda h: h, "bits_then_exp": lambda h: math.exp(h / math.log(2)),
                       "pow2_of_nats": lambda h: 2.0 ** h}, ms, math.exp)
    model, data, bptt = _model(d["seed"]), d["data"], d["bptt"]
    total, count, means, state = 0.0, 0, [], None
    for k in range(text.num_windows(data, bptt)):
        x, y = text.tbptt_window(data, k, bptt)
        logits, state = model(x, None if "state_reset_each_window" in ms else state)
        nll = F.cross_entropy(logits.reshape(-1, _V), y.reshape(-1), reduction="sum").item()
        total, count = total + nll, count + y.numel()
        means.append(nll / y.numel())
    return {"perplexity": np.array(finish(np.mean(means) if "mean_of_window_means" in ms
                                          else total / count))}


def check_perplexity(fn, verbose: bool = True):
    """Check a student's ``perplexity(model, data, bptt) -> float``: ``exp`` of the mean
    cross-entropy per character (nats) of a ``CharLM`` on ``data (L, B)``, read window by window
    with the state carried, in eval mode and without gradients.

    Recognised mistakes: the state reset at every window; the mean of the windows' means (the
    last window is shorter); the cross-entropy returned without ``exp``; bases mixed (``exp`` of
    bits, ``2 **`` of nats); gradients recorded; the model left in training mode; any two of the
    first five at once.
    """
    name = E.function_name(fn, "check_perplexity", "perplexity")

    def invoke(f, d):
        model = _model(d["seed"]).train()
        seen = []
        model.register_forward_hook(lambda m, *_: seen.append((torch.is_grad_enabled(), m.training)))
        value = f(model, d["data"], d["bptt"])
        if any(g for g, _ in seen):
            raise E.OutputProblem("grad_enabled")
        if any(t for _, t in seen):
            raise E.OutputProblem("train_mode")
        return value

    def unpack(raw, d):
        return {"perplexity": E.to_number(raw, "the perplexity", "Return a float: math.exp(total / count).")}

    def mutants(d):
        return E.mutants([(c, {}, {"mistake": c}) for c in PERPLEXITY_MISTAKES],
                         functools.partial(_perplexity, d))
    return E.run(name, fn, _perplexity_cases(), invoke, unpack, _perplexity, mutants,
                 what="exp of the mean cross-entropy per character, state carried across windows of "
                      "unequal length, on 3 streams.",
                 forbid=traps.forbidden("training_loops"), verbose=verbose)


# ------------------------------------------------------------------- the score of a text
SCORE_VOCAB = text.Vocab("abcdefgh .")
SCORE_MISTAKES = ("prompt_scored", "score_not_shifted", "log_softmax_missing", "log_prob_sum",
                  "prompt_state_dropped")


def score_model(seed: int = 260) -> CharLM:
    """A small random float64 ``CharLM`` over :data:`SCORE_VOCAB` with varied predictions."""
    torch.manual_seed(seed)
    model = CharLM(len(SCORE_VOCAB), 8, cell="lstm", embedding_dim=4).double()
    with torch.no_grad():
        model.rnn.weight_hh_l0.mul_(3.0)  # the prediction depends on the history
        model.readout.weight.mul_(4.0)
    return model.eval()


def _score_cases():
    specs = (("abc", "hg. f"), ("e", "ddab"), ("a. bc", "h"))
    return [E.Case(f"{k + 1} of 3: prompt {p!r}, continuation {c!r}", dict(prompt=p, continuation=c))
            for k, (p, c) in enumerate(specs)]


@torch.no_grad()
def _score(d, mistake=None):
    ms = E.mistakes_of(mistake)
    model, prompt, cont = score_model(), d["prompt"], d["continuation"]
    ids = SCORE_VOCAB.encode(prompt + cont)[:, None]  # (N, 1)
    if "prompt_state_dropped" in ms:
        first, _ = model(ids[: len(prompt)])
        rest, _ = model(ids[len(prompt): -1])
        logits = torch.cat([first, rest])  # the continuation read from a zero state
    else:
        logits = model(ids[:-1])[0]  # (N - 1, 1, V): predicts ids[1:]
    scores = logits if "log_softmax_missing" in ms else torch.log_softmax(logits, dim=-1)
    targets = ids[:-1] if "score_not_shifted" in ms else ids[1:]
    picked = scores[:, 0].gather(1, targets).flatten()  # (N - 1,)
    picked = picked if "prompt_scored" in ms else picked[len(prompt) - 1:]
    return {"score": np.array(picked.sum().item() if "log_prob_sum" in ms else picked.mean().item())}


def check_mean_log_prob(fn, verbose: bool = True):
    """Check a student's ``mean_log_prob(model, vocab, prompt, continuation) -> float``: the mean
    log-probability per character (nats) the model gives to the continuation's characters, each
    predicted from everything before it (the prompt included).

    Recognised mistakes: the prompt's characters scored too; each character scored by the
    prediction made after reading it (no shift); raw logits instead of log-probabilities; the sum
    instead of the mean; the continuation read from a zero state; any two at once.
    """
    name = E.function_name(fn, "check_mean_log_prob", "mean_log_prob")
    model = score_model()

    def unpack(raw, d):
        return {"score": E.to_number(raw, "the score", "Return a float, e.g. with .item().")}

    def mutants(d):
        return E.mutants([(c, {}, {"mistake": c}) for c in SCORE_MISTAKES],
                         functools.partial(_score, d))
    return E.run(name, fn, _score_cases(),
                 lambda f, d: f(model, SCORE_VOCAB, d["prompt"], d["continuation"]), unpack,
                 lambda d: {"score": np.array(charlm.continuation_log_prob(
                     model, SCORE_VOCAB, d["prompt"], d["continuation"]))}, mutants,
                 what="the mean log-probability of the continuation's characters matches, on 3 "
                      "prompts (a one-character continuation included).",
                 forbid=traps.forbidden("scoring"), verbose=verbose)
