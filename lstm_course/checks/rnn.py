"""Checkers for the NumPy RNN exercises: one step and a whole sequence, forward and backward.

The tanh RNN ``h_t = tanh(x_t W_ihᵀ + b_ih + h_(t−1) W_hhᵀ + b_hh)`` with the signatures of
``lstm_course.numpy``'s ``rnn_*`` functions; the mutants (the RNN with one known mistake
built in) are defined here, next to the checkers that use them.
"""
from __future__ import annotations

import numpy as np

from .. import numpy as lnp
from . import _engine as E
from . import _one_state as O
from . import _traps as traps
from .lstm import PARAM_GRADS

_ACT = {"no_tanh": lambda a: a, "sigmoid": lambda a: 0.5 * (1.0 + np.tanh(0.5 * a)),
        "relu": lambda a: np.maximum(a, 0.0)}


def _step_forward(x, h_prev, p, mistake=None):
    """One RNN step with the mistakes ``mistake`` (a code or a tuple of codes); returns ``dict(h)``."""
    ms = E.mistakes_of(mistake)
    W_hh = p["W_hh"] if "W_hh_untransposed" in ms else p["W_hh"].T
    a = x @ p["W_ih"].T
    if "missing_b_ih" not in ms:
        a = a + p["b_ih"]
    if "no_recurrence" not in ms:
        a = a + h_prev @ W_hh + (0.0 if "missing_b_hh" in ms else p["b_hh"])
    return {"h": E.one_of(_ACT, ms, np.tanh)(a)}


def _step_backward(dh, x, h_prev, h, p, mistake=None):
    """Backward of one RNN step with the mistakes ``mistake``; returns ``dict(dx, dh_prev, dW_ih, ...)``."""
    ms = E.mistakes_of(mistake)
    slope = E.one_of({"rnn_tanh_grad_missing": 1.0, "tanh_grad_from_h": 1.0 - h}, ms, 1.0 - h * h)
    da = dh * slope  # (B, H)
    W_hh = p["W_hh"].T if "W_hh_untransposed" in ms else p["W_hh"]
    db = da.sum(axis=0)
    return {"dx": da @ p["W_ih"], "dh_prev": da @ W_hh, "dW_ih": da.T @ x, "dW_hh": da.T @ h_prev,
            "db_ih": db, "db_hh": db}


def _forward(xs, p, h0, mistake=None):
    """A sequence forward with the mistakes ``mistake``; returns ``dict(hs, h_n)``."""
    ms = E.mistakes_of(mistake)
    T, B, _ = xs.shape
    zeros = np.zeros((B, p["W_hh"].shape[1]))
    h0 = zeros if h0 is None or "initial_state_ignored" in ms else h0
    h, hs = h0, []
    for t in range(T):
        h = _step_forward(xs[t], h0 if "h_not_carried" in ms else h, p, mistake)["h"]
        hs.append(h)
    return {"hs": np.stack([h0] + hs[:-1] if "hs_shifted" in ms else hs), "h_n": hs[-1]}


def _backward(dhs, cache, dh_n=None, mistake=None):
    """BPTT through an ``RNNCache`` with the mistakes ``mistake``; returns ``dict(dxs, dh0, dW_ih, ...)``."""
    ms = E.mistakes_of(mistake)
    T, B, H = cache.hs.shape
    dh = np.zeros((B, H)) if dh_n is None or "final_grads_ignored" in ms else dh_n
    grads = {k: 0.0 for k in PARAM_GRADS}
    dxs = np.zeros(cache.xs.shape)
    for t in reversed(range(T)):
        h_prev = cache.hs[t - 1] if t > 0 else cache.h0
        out = _step_backward(dhs[t] + dh, cache.xs[t], h_prev, cache.hs[t], cache.params, mistake)
        dxs[t] = out["dx"]
        grads = {k: grads[k] + out[k] for k in grads}
        dh = 0.0 * dh if "dh_not_carried" in ms and t > 0 else out["dh_prev"]
    return dict(dxs=dxs, dh0=dh, **grads)


FORWARD_MUTANTS = [("no_tanh", {}, {"mistake": "no_tanh"}),
                   ("wrong_activation", {"used": "the sigmoid"}, {"mistake": "sigmoid"}),
                   ("wrong_activation", {"used": "ReLU"}, {"mistake": "relu"}),
                   ("W_hh_untransposed", {"where": ""}, {"mistake": "W_hh_untransposed"}),
                   ("no_recurrence", {}, {"mistake": "no_recurrence"})] + [
    ("missing_bias", {"bias": b}, {"mistake": f"missing_{b}"}) for b in ("b_ih", "b_hh")]
BACKWARD_MUTANTS = [("rnn_tanh_grad_missing", {}, {"mistake": "rnn_tanh_grad_missing"}),
                    ("tanh_grad_from_h", {}, {"mistake": "tanh_grad_from_h"}),
                    ("W_hh_untransposed", {"where": " in dh_prev"}, {"mistake": "W_hh_untransposed"})]
SEQ_FORWARD_MUTANTS = [(m, {}, {"mistake": m}) for m in ("h_not_carried", "hs_shifted", "initial_state_ignored")]
SEQ_BACKWARD_MUTANTS = [(m, {}, {"mistake": m}) for m in ("dh_not_carried", "final_grads_ignored")]


def _step_cases():
    cases = []
    for k, (B, D, H) in enumerate(E.SIZES):
        rng = np.random.default_rng(8300 + k)
        params = E.random_params(rng, 1, D, H)
        x, h_prev, dh = rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
        cache = lnp.rnn_step_forward(x, h_prev, params)[1]
        cases.append(E.Case(E.label(k, 3, B=B, D=D, H=H), dict(B=B, x=x, h_prev=h_prev, params=params,
                                                                dh=dh, cache=cache)))
    return cases


def check_rnn_step_forward(fn, verbose: bool = True):
    """Check a student's ``rnn_step_forward(x, h_prev, params) -> (h, cache)``.

    Recognised mistakes: wrong shape; tanh missing; sigmoid or ReLU in place of tanh;
    ``h_prev @ W_hh`` without the transpose (a square matrix hides it); no recurrence
    (h_prev ignored); a missing bias (b_ih or b_hh).
    """
    name = E.function_name(fn, "check_rnn_step_forward", "rnn_step_forward")

    def unpack(raw, d):
        h, _ = E.expect_tuple(raw, ("h", "cache"), name)
        return {"h": E.to_array(h, "h")}

    def mutants(d):
        return E.mutants(FORWARD_MUTANTS, lambda **kw: _step_forward(d["x"], d["h_prev"], d["params"], **kw))
    return E.run(name, fn, _step_cases(), lambda f, d: f(d["x"], d["h_prev"], d["params"]), unpack,
                 lambda d: {"h": lnp.rnn_step_forward(d["x"], d["h_prev"], d["params"])[0]}, mutants,
                 what="h matches the reference on 3 test cases (B = 3, 1, 2; D ≠ H).", forbid=traps.forbidden("rnn"),
                 verbose=verbose)



def check_rnn_step_backward(fn, verbose: bool = True):
    """Check a student's ``rnn_step_backward(dh, cache) -> (dx, dh_prev, grads)``.

    ``fn`` receives the package's ``RNNStepCache(x, h_prev, h, params)``. Recognised mistakes:
    wrong shapes; missing keys in ``grads``; tanh' missing or computed as 1 − h; ``W_hh``
    untransposed in ``dh_prev``; a sign error; a transposed or batch-averaged gradient; one
    parameter's gradient wrong (named, with its relative error).
    """
    name = E.function_name(fn, "check_rnn_step_backward", "rnn_step_backward")

    def mutants(d):
        c = d["cache"]
        return E.mutants(BACKWARD_MUTANTS,
                         lambda **kw: _step_backward(d["dh"], c.x, c.h_prev, c.h, c.params, **kw))
    return O.check_step_backward(name, fn, _step_cases(), lnp.rnn_step_backward, mutants, traps.forbidden("rnn"),
                                 verbose)


def _seq_cases():
    return O.seq_cases(lnp.rnn_forward, 1, 8400)


def check_rnn_forward(fn, verbose: bool = True):
    """Check a student's ``rnn_forward(xs, params, h0=None) -> (hs, h_n, cache)``.

    Recognised mistakes: every mistake of :func:`check_rnn_step_forward` made at each step;
    h not carried from step to step; hs shifted by one step; the initial state ignored.
    """
    name = E.function_name(fn, "check_rnn_forward", "rnn_forward")
    return O.check_sequence_forward(name, fn, _seq_cases(), lnp.rnn_forward, _forward,
                                   SEQ_FORWARD_MUTANTS + FORWARD_MUTANTS, traps.forbidden("rnn"), verbose)


def check_rnn_backward(fn, verbose: bool = True):
    """Check a student's ``rnn_backward(dhs, cache, dh_n=None) -> (dxs, dh0, grads)``.

    ``fn`` receives the package's ``RNNCache``. Recognised mistakes: every mistake of
    :func:`check_rnn_step_backward` made at each step; the gradient from the later step not
    carried to h_(t−1); the final state's gradient ``dh_n`` ignored; one parameter's gradient
    wrong (for example not summed over time, or with h_t where h_(t−1) belongs).
    """
    name = E.function_name(fn, "check_rnn_backward", "rnn_backward")
    return O.check_sequence_backward(name, fn, _seq_cases(), lnp.rnn_backward, _backward,
                                   SEQ_BACKWARD_MUTANTS + BACKWARD_MUTANTS, traps.forbidden("rnn"), verbose)
