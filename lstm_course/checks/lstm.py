"""Checkers for the NumPy LSTM exercises: one step and a whole sequence, forward and backward.

Each checker calls the student's function with the signature of its ``lstm_course.numpy``
namesake, compares the outputs with the package's on three cases (``B = 3, 1, 2``, ``D ≠ H``)
and names the mistake when they differ (see :mod:`._lstm_variants` for the list).
"""
from __future__ import annotations

import numpy as np

from .. import numpy as lnp
from . import _engine as E
from . import _traps as traps
from . import _lstm_variants as V

GRAD_KEYS = ("W_ih", "W_hh", "b_ih", "b_hh")
PARAM_GRADS = tuple("d" + k for k in GRAD_KEYS)


def _step_cases():
    cases = []
    for k, (B, D, H) in enumerate(E.SIZES):
        rng = np.random.default_rng(8100 + k)
        params = E.random_params(rng, 4, D, H)
        x, h_prev, c_prev = rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
        dh, dc = rng.standard_normal((B, H)), rng.standard_normal((B, H))
        cache = lnp.lstm_step_forward(x, h_prev, c_prev, params)[2]
        cases.append(E.Case(E.label(k, len(E.SIZES), B=B, D=D, H=H),
                            dict(B=B, x=x, h_prev=h_prev, c_prev=c_prev, params=params, dh=dh, dc=dc, cache=cache)))
    return cases


def _unpack_step_forward(raw, d, name="lstm_step_forward"):
    h, c, _ = E.expect_tuple(raw, ("h", "c", "cache"), name)
    return {"h": E.to_array(h, "h"), "c": E.to_array(c, "c")}


def _unpack_step_backward(raw, d, name="lstm_step_backward"):
    dx, dh_prev, dc_prev, grads = E.expect_tuple(raw, ("dx", "dh_prev", "dc_prev", "grads"), name)
    out = {"dx": E.to_array(dx, "dx"), "dh_prev": E.to_array(dh_prev, "dh_prev"),
           "dc_prev": E.to_array(dc_prev, "dc_prev")}
    out.update(E.expect_grads(grads, GRAD_KEYS))
    return out


def _step_reference(d):
    h, c, _ = lnp.lstm_step_forward(d["x"], d["h_prev"], d["c_prev"], d["params"])
    return {"h": h, "c": c}


def _step_forward_mutants(d):
    def call(**kw):
        return V.step_forward(d["x"], d["h_prev"], d["c_prev"], d["params"], **kw)
    return E.mutants(V.FORWARD_MUTANTS, call) + E.mutants(
        [("swapped_outputs", {"order": "(h, c, cache)"}, {"mistake": "swapped_outputs"})], call)


def check_lstm_step_forward(fn, verbose: bool = True):
    """Check a student's ``lstm_step_forward(x, h_prev, c_prev, params) -> (h, c, cache)``.

    Recognised mistakes: wrong output shape; gates read in another order than i, f, g, o
    (any of the 23 others, cs231n's i, f, o, g named); the candidate multiplied by the
    forget gate; the forget gate applied to the whole update; no forget gate; c_prev
    ignored; tanh missing on the cell; h computed from c_prev; sigmoid and tanh swapped;
    sigmoid on the candidate; a missing bias (b_ih or b_hh); h and c returned swapped.

    Args:
        fn: the student's function.
        verbose: print the message (default).

    Returns:
        a :class:`CheckResult`.
    """
    name = E.function_name(fn, "check_lstm_step_forward", "lstm_step_forward")
    return E.run(name, fn, _step_cases(),
                 lambda f, d: f(d["x"], d["h_prev"], d["c_prev"], d["params"]),
                 lambda raw, d: _unpack_step_forward(raw, d, name), _step_reference, _step_forward_mutants,
                 what="h and c match the reference on 3 test cases (B = 3, 1, 2; D ≠ H).", forbid=traps.forbidden("lstm"),
                 verbose=verbose)


def _step_backward_reference(d):
    dx, dh_prev, dc_prev, grads = lnp.lstm_step_backward(d["dh"], d["dc"], d["cache"])
    return dict(dx=dx, dh_prev=dh_prev, dc_prev=dc_prev, **{"d" + k: grads[k] for k in GRAD_KEYS})


def _step_backward_mutants(d):
    c = d["cache"]

    def call(**kw):
        return V.step_backward(d["dh"], d["dc"], c.x, c.h_prev, c.c_prev, c.gates, c.tanh_c, c.params, **kw)
    return E.mutants(V.BACKWARD_MUTANTS, call)


def check_lstm_step_backward(fn, forward=None, verbose: bool = True):
    """Check a student's ``lstm_step_backward(dh, dc, cache) -> (dx, dh_prev, dc_prev, grads)``.

    By default ``fn`` receives the package's ``LSTMStepCache``, so the backward is checked
    on its own even when the forward is not finished. Pass ``forward=`` (the student's
    ``lstm_step_forward``) to feed ``fn`` the student's own cache instead.

    Recognised mistakes: wrong shapes (of every gradient); a missing or mis-keyed entry of
    ``grads``; gates read from the cache in the wrong order (cs231n's named); the upstream
    ``dc`` ignored; the path through h missing from the cell's gradient; tanh' missing,
    computed as 1 − tanh(c), or with the wrong sign; ``dc_prev`` zero or missing its factor f;
    di and dg swapped; the gates' activation derivatives missing; the wrong sign in one
    gate's gradient; an overall sign error; a transposed or batch-averaged gradient; one
    parameter's gradient wrong (named, with its relative error).
    """
    name = E.function_name(fn, "check_lstm_step_backward", "lstm_step_backward")
    if forward is None:
        def invoke(f, d):
            return f(d["dh"], d["dc"], d["cache"])
    else:
        E.function_name(forward, "check_lstm_step_backward", "lstm_step_backward, forward=lstm_step_forward")
        if not check_lstm_step_forward(forward, verbose=False):
            if verbose:
                print("(Your forward does not pass check_lstm_step_forward yet: the backward is checked "
                      "on the package's cache instead.)")
            forward = None

        def invoke(f, d):
            if forward is None:
                return f(d["dh"], d["dc"], d["cache"])
            return f(d["dh"], d["dc"], forward(d["x"], d["h_prev"], d["c_prev"], d["params"])[2])
    return E.run(name, fn, _step_cases(), invoke, lambda raw, d: _unpack_step_backward(raw, d, name),
                 _step_backward_reference, _step_backward_mutants, param_keys=PARAM_GRADS,
                 what="dx, dh_prev, dc_prev and all four parameter gradients match the reference on 3 test "
                      "cases.", forbid=traps.forbidden("lstm"),
                      verbose=verbose)


def _seq_cases():
    cases = []
    for k, ((B, D, H), T) in enumerate(zip(E.SIZES, (4, 1, 3))):
        rng = np.random.default_rng(8200 + k)
        params = E.random_params(rng, 4, D, H)
        xs = rng.standard_normal((T, B, D))
        given = k != 1  # case 2 leaves the initial states and final gradients at None
        h0, c0, dh_n, dc_n = ((rng.standard_normal((B, H)) if given else None) for _ in range(4))
        cache = lnp.lstm_forward(xs, params, h0, c0)[2]
        cases.append(E.Case(E.label(k, 3, T=T, B=B, D=D, H=H) + ("" if given else ", no initial state"),
                            dict(B=B, xs=xs, params=params, h0=h0, c0=c0, cache=cache,
                                 dhs=rng.standard_normal((T, B, H)), dh_n=dh_n, dc_n=dc_n)))
    return cases


def _unpack_forward(raw, d, name):
    hs, final, _ = E.expect_tuple(raw, ("hs", "(h_n, c_n)", "cache"), name)
    h_n, c_n = E.expect_tuple(final, ("h_n", "c_n"), f"the second item {name} returned")
    return {"hs": E.to_array(hs, "hs"), "h_n": E.to_array(h_n, "h_n"), "c_n": E.to_array(c_n, "c_n")}


def _forward_reference(d):
    hs, (h_n, c_n), _ = lnp.lstm_forward(d["xs"], d["params"], d["h0"], d["c0"])
    return {"hs": hs, "h_n": h_n, "c_n": c_n}


def _forward_mutants(d):
    def call(**kw):
        return V.forward(d["xs"], d["params"], d["h0"], d["c0"], **kw)
    return E.mutants(V.SEQUENCE_FORWARD_MUTANTS + V.FORWARD_MUTANTS, call)


def check_lstm_forward(fn, verbose: bool = True):
    """Check a student's ``lstm_forward(xs, params, h0=None, c0=None) -> (hs, (h_n, c_n), cache)``.

    Recognised mistakes: every mistake of :func:`check_lstm_step_forward` made at each step;
    h or c not carried from step to step; hs shifted by one step; the initial state ignored;
    the cell states returned in place of the hidden states; wrong shapes.
    """
    name = E.function_name(fn, "check_lstm_forward", "lstm_forward")

    def invoke(f, d):
        if d["h0"] is None:
            return f(d["xs"], d["params"])
        return f(d["xs"], d["params"], d["h0"], d["c0"])
    return E.run(name, fn, _seq_cases(), invoke, lambda raw, d: _unpack_forward(raw, d, name),
                 _forward_reference, _forward_mutants,
                 what="hs, h_n and c_n match the reference on 3 sequences (T = 4, 1, 3), with and without "
                      "an initial state.", forbid=traps.forbidden("lstm"),
                      verbose=verbose)


def _unpack_backward(raw, d, name):
    dxs, dh0, dc0, grads = E.expect_tuple(raw, ("dxs", "dh0", "dc0", "grads"), name)
    out = {"dxs": E.to_array(dxs, "dxs"), "dh0": E.to_array(dh0, "dh0"), "dc0": E.to_array(dc0, "dc0")}
    out.update(E.expect_grads(grads, GRAD_KEYS))
    return out


def _backward_reference(d):
    dxs, dh0, dc0, grads = lnp.lstm_backward(d["dhs"], d["cache"], d["dh_n"], d["dc_n"])
    return dict(dxs=dxs, dh0=dh0, dc0=dc0, **{"d" + k: grads[k] for k in GRAD_KEYS})


def _backward_mutants(d):
    def call(**kw):
        return V.backward(d["dhs"], d["cache"], d["dh_n"], d["dc_n"], **kw)
    return E.mutants(V.SEQUENCE_BACKWARD_MUTANTS + V.BACKWARD_MUTANTS, call)


def check_lstm_backward(fn, verbose: bool = True):
    """Check a student's ``lstm_backward(dhs, cache, dh_n=None, dc_n=None) -> (dxs, dh0, dc0, grads)``.

    ``fn`` receives the package's ``LSTMCache``. Recognised mistakes: every mistake of
    :func:`check_lstm_step_backward` made at each step; dc or dh not carried from step t
    to t − 1; the final-state gradients ignored; c_t used where c_(t−1) belongs; one
    parameter's gradient wrong (for example not summed over time).
    """
    name = E.function_name(fn, "check_lstm_backward", "lstm_backward")

    def invoke(f, d):
        if d["dh_n"] is None:
            return f(d["dhs"], d["cache"])
        return f(d["dhs"], d["cache"], d["dh_n"], d["dc_n"])
    return E.run(name, fn, _seq_cases(), invoke, lambda raw, d: _unpack_backward(raw, d, name),
                 _backward_reference, _backward_mutants, param_keys=PARAM_GRADS,
                 what="dxs, dh0, dc0 and all four parameter gradients match the reference on 3 sequences.",
                 forbid=traps.forbidden("lstm"),
                 verbose=verbose)
