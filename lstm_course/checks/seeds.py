"""Checkers for the multi-seed study of Lab 5: the Wilson interval, a summary of several
seeds' training runs, and a model matched in parameter count.

Each is checked against the package's own answer (:func:`lstm_course.studies.wilson_interval`,
a summary built on it, :func:`lstm_course.models.matched_hidden_size`), computed outside the
traps; while the student's function runs, ``studies.wilson_interval``, ``studies.summarize``
and ``studies.make_model`` are traps, so a wrapper around them earns no credit.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .. import studies
from .._validate import check_int
from ..models import SequenceModel, matched_hidden_size
from ..training import History
from . import _engine as E
from . import _feedback as F
from . import _traps as traps

F.MESSAGES.update({
    "wald_interval": ("your interval is the Wald interval p̂ ± z √(p̂(1 − p̂)/n), not Wilson's.",
                      "The Wald interval collapses to [0, 0] at k = 0 and to [1, 1] at k = n. "
                      "Wilson's centre is (p̂ + z²/2n) / (1 + z²/n), its half-width "
                      "z √(p̂(1 − p̂)/n + z²/4n²) / (1 + z²/n)."),
    "z_90": ("your interval is a 90 % interval: z = 1.645 instead of 1.96.",
             "A two-sided 95 % interval leaves 2.5 % in each tail: z = 1.96."),
    "no_denominator": ("the factor 1 / (1 + z²/n) is missing from the centre and the half-width.",
                       "Divide both the centre p̂ + z²/2n and the half-width by 1 + z²/n."),
    "centre_not_shifted": ("your centre is p̂ / (1 + z²/n): the shift z²/2n is missing.",
                           "Wilson's centre moves towards 1/2: (p̂ + z²/(2n)) / (1 + z²/n)."),
    "variance_term_missing": ("the term z²/4n² under the square root is missing (your interval "
                              "is too narrow, and has length 0 at k = 0).",
                              "The half-width is z √(p̂(1 − p̂)/n + z²/(4n²)) / (1 + z²/n)."),
    "unsolved_in_median": ("your median counts the unsolved runs, at their last evaluation.",
                           "The median updates-to-solve is over the solved runs only; the "
                           "unsolved ones are already counted in k/n."),
    "mean_not_median": ("you return the mean of the updates-to-solve, not the median.",
                        "np.median: one slow seed should not move the typical value."),
    "median_upper": ("with an even number of solved runs you take the upper of the two middle "
                     "values, not their mean.",
                     "np.median averages the two middle values."),
    "k_as_fraction": ("k is the solved fraction k/n, not the number of solved runs.",
                      "Return the count k (an int); the fraction is k / n."),
    "parameters_not_matched": ("your {cell} has H = {got_H} and {got} parameters; a hidden size "
                               "of {want_H} gives {want}, the count closest to {target}.",
                               "H = matched_hidden_size(cell, 2, 1, num_parameters): the same "
                               "budget for every cell, not the same H."),
    "not_seeded": ("two calls with the same seed build different weights.",
                   "Call torch.manual_seed(seed) just before building the model."),
    "seed_ignored": ("your model is the one of seed 0 whatever the seed asked for.",
                     "torch.manual_seed(seed), with the argument, not a constant."),
    "forget_bias_missing": ("your LSTM keeps PyTorch's random forget-gate biases.",
                            "SequenceModel(..., forget_bias=1.0) for the LSTM (None otherwise)."),
})


# ----------------------------------------------------------------------------- Wilson
def _wilson(k: int, n: int, mistake=None) -> dict:
    """The Wilson 95 % interval of ``k`` successes in ``n``, with the mistakes of ``mistake``."""
    ms = E.mistakes_of(mistake)
    if "wald_interval" in ms and ms & {"no_denominator", "centre_not_shifted",
                                       "variance_term_missing"}:
        raise E.Incompatible("a Wald interval has no Wilson terms")
    z = 1.645 if "z_90" in ms else 1.96
    p = k / n
    if "wald_interval" in ms:
        centre, half = p, z * math.sqrt(p * (1 - p) / n)
    else:
        denom = 1.0 if "no_denominator" in ms else 1 + z * z / n
        shift = 0.0 if "centre_not_shifted" in ms else z * z / (2 * n)
        extra = 0.0 if "variance_term_missing" in ms else z * z / (4 * n * n)
        centre, half = (p + shift) / denom, z * math.sqrt(p * (1 - p) / n + extra) / denom
    return {"interval": np.array([max(0.0, centre - half), min(1.0, centre + half)])}


def _wilson_cases():
    kns = ((3, 5), (0, 5), (20, 20), (7, 40))
    return [E.Case(f"{j + 1} of {len(kns)}: k = {k}, n = {n}", dict(k=k, n=n))
            for j, (k, n) in enumerate(kns)]


def _unpack_interval(name):
    def unpack(raw, d):
        low, high = E.expect_tuple(raw, ("low", "high"), name)
        return {"interval": np.array([E.to_array(low, "low"), E.to_array(high, "high")],
                                     dtype=np.float64).reshape(2)}
    return unpack


_WILSON_MISTAKES = ("wald_interval", "z_90", "no_denominator", "centre_not_shifted",
                    "variance_term_missing")


def check_wilson_interval(fn, verbose: bool = True):
    r"""Check a student's ``wilson_interval95(k, n) -> (low, high)``.

    .. math:: \frac{\hat p + \frac{z^2}{2n} \pm z\sqrt{\frac{\hat p(1-\hat p)}{n}
        + \frac{z^2}{4n^2}}}{1 + z^2/n}, \qquad \hat p = k/n,\ z = 1.96

    on four cases (``k = 0`` and ``k = n`` among them). Recognised mistakes: the Wald
    interval; z = 1.645 (90 %); the denominator 1 + z²/n missing; the centre's shift z²/2n
    missing; the term z²/4n² missing; any two of them together (when they compose).
    """
    name = E.function_name(fn, "check_wilson_interval", "wilson_interval95")

    def mutants(d):
        call = functools.partial(_wilson, d["k"], d["n"])
        return E.mutants([(c, {}, {"mistake": c}) for c in _WILSON_MISTAKES], call)
    return E.run(name, fn, _wilson_cases(), lambda f, d: f(d["k"], d["n"]),
                 _unpack_interval(name), lambda d: {"interval": np.array(
                     studies.wilson_interval(d["k"], d["n"]))}, mutants,
                 what="your interval is Wilson's 95 % interval on 4 cases, k = 0 and k = n "
                      "included.", forbid=traps.forbidden("seed_study"), verbose=verbose)


# ---------------------------------------------------------------------------- summary
def fake_history(solved_step, budget: int, every: int = 25) -> History:
    """A :class:`History` of a run evaluated every ``every`` updates that reached its target
    at ``solved_step`` (None: never, within ``budget`` updates), for tests and checks."""
    budget, every = check_int("budget", budget), check_int("every", every)
    if solved_step is not None:
        solved_step = check_int("solved_step", solved_step, minimum=0)
        if solved_step > budget:
            raise ValueError(f"solved_step must be at most budget = {budget}; got {solved_step}")
    stop = budget if solved_step is None else solved_step
    evals = list(range(0, stop + 1, every))
    if evals[-1] != stop:
        evals.append(stop)
    losses = [0.17 * 0.9 ** j for j in range(len(evals))]
    return History(step=list(range(stop)), loss=[0.1] * stop, eval_step=evals,
                   eval_loss=losses, solved_step=solved_step, sequences_seen=32 * stop)


def _summary(histories, mistake=None) -> dict:
    """k, n, the Wilson interval and the median updates-to-solve, with the given mistakes."""
    ms = E.mistakes_of(mistake)
    if len(ms & {"mean_not_median", "median_upper"}) > 1:
        raise E.Incompatible("two ways of taking a middle value")
    steps = [h.solved_step for h in histories if h.solved_step is not None]
    k, n = len(steps), len(histories)
    if "unsolved_in_median" in ms:
        steps = [h.eval_step[-1] for h in histories]
    if not steps:
        median = -1.0
    elif "mean_not_median" in ms:
        median = float(np.mean(steps))
    elif "median_upper" in ms:
        median = float(sorted(steps)[len(steps) // 2])
    else:
        median = float(np.median(steps))
    low, high = _wilson(k, n, "wald_interval" if "wald_interval" in ms else None)["interval"]
    return {"k": np.array(k / n if "k_as_fraction" in ms else float(k)), "n": np.array(float(n)),
            "low": np.array(low), "high": np.array(high), "median_steps": np.array(median)}


def _summary_cases():
    runs = (((100, 250, None, None, 50, 400), 400), ((175, None, 300, 300, 175), 400),
            ((None, None, None), 300), ((25,), 300))
    return [E.Case(f"{j + 1} of {len(runs)}: {len(s)} runs, "
                   f"{sum(x is not None for x in s)} solved",
                   dict(histories=[fake_history(x, budget) for x in s]))
            for j, (s, budget) in enumerate(runs)]


def _unpack_summary(raw, d):
    keys = ("k", "n", "low", "high", "median_steps")
    if not isinstance(raw, dict) or any(key not in raw for key in keys):
        got = sorted(map(str, raw)) if isinstance(raw, dict) else type(raw).__name__
        raise E.OutputProblem("bad_return", problem=f"expected a dict with the keys "
                              f"{', '.join(keys)}; got {got}.",
                              hint="return dict(k=k, n=n, low=low, high=high, "
                                   "median_steps=median)")
    out = {}
    for key in keys:
        value = raw[key]
        if key == "median_steps" and (value is None or (isinstance(value, float)
                                                        and math.isnan(value))):
            value = -1.0  # "no solved run", as the reference writes it
        out[key] = E.to_array(value, key).reshape(())
    return out


_SUMMARY_MISTAKES = ("unsolved_in_median", "mean_not_median", "median_upper", "k_as_fraction",
                     "wald_interval")


def check_summarize_seeds(fn, verbose: bool = True):
    """Check a student's ``summarize_seeds(histories) -> dict(k, n, low, high, median_steps)``.

    ``histories`` are :class:`~lstm_course.training.History` objects, one per seed; a run is
    solved when ``solved_step`` is not None. ``k`` solved runs of ``n``, ``(low, high)`` the
    Wilson 95 % interval of k/n, ``median_steps`` the median of the solved runs'
    ``solved_step`` (None when none solved). Recognised mistakes: unsolved runs counted in
    the median at their last evaluation; the mean instead of the median; the upper middle
    value for an even count; k returned as a fraction; the Wald interval; two of these at
    once.
    """
    name = E.function_name(fn, "check_summarize_seeds", "summarize_seeds")

    def mutants(d):
        call = functools.partial(_summary, d["histories"])
        return E.mutants([(c, {}, {"mistake": c}) for c in _SUMMARY_MISTAKES], call)
    return E.run(name, fn, _summary_cases(), lambda f, d: f(d["histories"]), _unpack_summary,
                 lambda d: _summary(d["histories"]), mutants,
                 what="k, n, the Wilson interval and the median updates-to-solve match on 4 "
                      "groups of runs (none solved and an even count among them).",
                 forbid=traps.forbidden("seed_study"), verbose=verbose)


# ------------------------------------------------------------------------ matched model
def _model(cell, num_parameters, seed, mistake=None) -> SequenceModel:
    ms = E.mistakes_of(mistake)
    H = matched_hidden_size(cell, 2, 1, num_parameters)
    torch.manual_seed(0 if "seed_ignored" in ms else seed)
    bias = 1.0 if cell == "lstm" and "forget_bias_missing" not in ms else None
    return SequenceModel(cell, 2, H, 1, forget_bias=bias)


def _weights(model) -> dict:
    return {"weights": torch.cat([p.detach().double().flatten()
                                  for p in model.state_dict().values()]).numpy()}


def _model_cases():
    specs = (("lstm", 1300, 3), ("rnn", 1300, 3), ("gru", 700, 1), ("lstm", 400, 0))
    return [E.Case(f"{j + 1} of {len(specs)}: {cell}, {P} parameters, seed {seed}",
                   dict(cell=cell, P=P, seed=seed)) for j, (cell, P, seed) in enumerate(specs)]


def _invoke_model(f, d):
    first = f(d["cell"], d["P"], d["seed"])
    torch.manual_seed(12345)
    torch.rand(17)  # the global generator moves on: an unseeded model changes
    return first, f(d["cell"], d["P"], d["seed"])


def _unpack_model(raw, d):
    first, second = raw
    if not isinstance(first, SequenceModel):
        raise E.OutputProblem("bad_return", problem=f"expected a SequenceModel; got "
                              f"{type(first).__name__}.", hint="return SequenceModel(...)")
    want = _model(d["cell"], d["P"], d["seed"])
    if first.cell != d["cell"]:
        raise E.OutputProblem("bad_return", problem=f"asked for a {d['cell']!r} model, got "
                              f"a {first.cell!r} one.", hint="pass cell to SequenceModel")
    if first.num_parameters() != want.num_parameters():
        raise E.OutputProblem("parameters_not_matched", cell=d["cell"].upper(),
                              got_H=first.hidden_size, got=first.num_parameters(),
                              want_H=want.hidden_size, want=want.num_parameters(), target=d["P"])
    got, again = _weights(first)["weights"], _weights(second)["weights"]
    if got.shape == again.shape and not np.array_equal(got, again):
        raise E.OutputProblem("not_seeded")
    return {"weights": got}


def check_matched_model(fn, verbose: bool = True):
    """Check a student's ``matched_model(cell, num_parameters, seed) -> SequenceModel``.

    The reference: ``H = matched_hidden_size(cell, 2, 1, num_parameters)``, then
    ``torch.manual_seed(seed)`` and ``SequenceModel(cell, 2, H, 1, forget_bias=1.0)`` for the
    LSTM (``None`` for the others); its weights must be equal. Recognised mistakes: the hidden
    size not matched to the budget; the seed not set (two calls differ); the seed ignored
    (always 0); the LSTM's forget-gate bias left random; two of these at once.
    """
    name = E.function_name(fn, "check_matched_model", "matched_model")

    def mutants(d):
        call = functools.partial(_model_outputs, d["cell"], d["P"], d["seed"])
        table = [(c, {}, {"mistake": c}) for c in ("forget_bias_missing", "seed_ignored")]
        return E.mutants(table, call)
    return E.run(name, fn, _model_cases(), _invoke_model, _unpack_model,
                 lambda d: _weights(_model(d["cell"], d["P"], d["seed"])), mutants,
                 what="the hidden size matches the budget and the weights equal the "
                      "reference's, seed by seed, on 4 models.",
                 forbid=traps.forbidden("study_models"), verbose=verbose)


def _model_outputs(cell, num_parameters, seed, mistake=None) -> dict:
    return _weights(_model(cell, num_parameters, seed, mistake))
