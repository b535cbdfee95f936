"""What the RNN and GRU checkers share: both cells carry one state h and follow torch.nn's contract
``forward(xs, params, h0=None) -> (hs, h_n, cache)``, ``backward(dhs, cache, dh_n=None) -> (dxs, dh0, grads)``."""
from __future__ import annotations

import numpy as np

from . import _engine as E
from .lstm import GRAD_KEYS, PARAM_GRADS


def grads_dict(grads) -> dict:
    """``{"dW_ih": …, "dW_hh": …, "db_ih": …, "db_hh": …}`` from a gradient dict with the parameters' keys."""
    return {"d" + k: grads[k] for k in GRAD_KEYS}


def seq_cases(forward, gates: int, seed: int, scale: float = 0.6) -> list:
    """Three sequences (T = 4, 1, 3); the second has no initial state and no final-state gradient."""
    cases = []
    for k, ((B, D, H), T) in enumerate(zip(E.SIZES, (4, 1, 3))):
        rng = np.random.default_rng(seed + k)
        params = E.random_params(rng, gates, D, H, scale=scale)
        xs = rng.standard_normal((T, B, D))
        given = k != 1
        h0, dh_n = ((rng.standard_normal((B, H)) if given else None) for _ in range(2))
        cache = forward(xs, params, h0)[2]
        cases.append(E.Case(E.label(k, 3, T=T, B=B, D=D, H=H) + ("" if given else ", no initial state"),
                            dict(B=B, xs=xs, params=params, h0=h0, cache=cache,
                                 dhs=rng.standard_normal((T, B, H)), dh_n=dh_n)))
    return cases


def check_sequence_forward(name, fn, cases, forward, mutant_forward, table, forbid, verbose):
    """Check ``fn(xs, params, h0=None) -> (hs, h_n, cache)`` against the package's ``forward``;
    ``mutant_forward(xs, params, h0, mistake=...)`` builds the mutants of ``table``."""
    def unpack(raw, d):
        hs, h_n, _ = E.expect_tuple(raw, ("hs", "h_n", "cache"), name)
        return {"hs": E.to_array(hs, "hs"), "h_n": E.to_array(h_n, "h_n")}

    def reference(d):
        hs, h_n, _ = forward(d["xs"], d["params"], d["h0"])
        return {"hs": hs, "h_n": h_n}

    def mutants(d):
        return E.mutants(table, lambda **kw: mutant_forward(d["xs"], d["params"], d["h0"], **kw))

    def invoke(f, d):
        return f(d["xs"], d["params"]) if d["h0"] is None else f(d["xs"], d["params"], d["h0"])
    return E.run(name, fn, cases, invoke, unpack, reference, mutants,
                 what="hs and h_n match the reference on 3 sequences (T = 4, 1, 3), with and without an "
                      "initial state.", forbid=forbid, verbose=verbose)


def check_sequence_backward(name, fn, cases, backward, mutant_backward, table, forbid, verbose):
    """Check ``fn(dhs, cache, dh_n=None) -> (dxs, dh0, grads)`` against the package's ``backward``;
    ``mutant_backward(dhs, cache, dh_n, mistake=...)`` builds the mutants of ``table``."""
    def unpack(raw, d):
        dxs, dh0, grads = E.expect_tuple(raw, ("dxs", "dh0", "grads"), name)
        return dict(dxs=E.to_array(dxs, "dxs"), dh0=E.to_array(dh0, "dh0"), **E.expect_grads(grads, GRAD_KEYS))

    def reference(d):
        dxs, dh0, grads = backward(d["dhs"], d["cache"], d["dh_n"])
        return dict(dxs=dxs, dh0=dh0, **grads_dict(grads))

    def mutants(d):
        return E.mutants(table, lambda **kw: mutant_backward(d["dhs"], d["cache"], d["dh_n"], **kw))

    def invoke(f, d):
        return f(d["dhs"], d["cache"]) if d["dh_n"] is None else f(d["dhs"], d["cache"], d["dh_n"])
    return E.run(name, fn, cases, invoke, unpack, reference, mutants, param_keys=PARAM_GRADS,
                 what="dxs, dh0 and all four parameter gradients match the reference on 3 sequences.",
                 forbid=forbid, verbose=verbose)


def check_step_backward(name, fn, cases, step_backward, mutants, forbid, verbose):
    """Check ``fn(dh, cache) -> (dx, dh_prev, grads)`` against the package's ``step_backward``;
    ``mutants(d)`` gives the mutants of case ``d``."""
    def unpack(raw, d):
        dx, dh_prev, grads = E.expect_tuple(raw, ("dx", "dh_prev", "grads"), name)
        return dict(dx=E.to_array(dx, "dx"), dh_prev=E.to_array(dh_prev, "dh_prev"),
                    **E.expect_grads(grads, GRAD_KEYS))

    def reference(d):
        dx, dh_prev, grads = step_backward(d["dh"], d["cache"])
        return dict(dx=dx, dh_prev=dh_prev, **grads_dict(grads))
    return E.run(name, fn, cases, lambda f, d: f(d["dh"], d["cache"]), unpack, reference, mutants,
                 param_keys=PARAM_GRADS, what="dx, dh_prev and all four parameter gradients match the "
                 "reference on 3 test cases.", forbid=forbid, verbose=verbose)
