r"""Checkers for the NumPy GRU exercises: one step and a whole sequence, forward and backward.

The GRU of ``torch.nn.GRU`` (gate order r, z, n; the reset gate applied *after* the recurrent
product), with the signatures of ``lstm_course.numpy``'s ``gru_*`` functions:

.. math::

    n = \tanh(W_{in}x + b_{in} + r \odot (W_{hn}h_{prev} + b_{hn})),\qquad
    h = (1 - z) \odot n + z \odot h_{prev}.

The mutants (the GRU with known mistakes built in) are defined here. The classic ones: the
reset gate applied before ``W_hn`` (Cho et al.'s form) or without ``b_hn``; the update gate
the wrong way round (``h = z ⊙ n + (1 − z) ⊙ h_prev``); the sign of (1 − z) lost, forward
(``(z − 1) ⊙ n``) or in the gradient of z (``dz = dh ⊙ (n − h_prev)``).
"""
from __future__ import annotations

import numpy as np

from .. import numpy as lnp
from . import _engine as E
from . import _one_state as O
from . import _traps as traps
from .lstm import PARAM_GRADS


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _parts(x, h_prev, p, ms):
    """Pre-activations ``gx``, ``gh`` (B, 3H) with the bias mistakes of ``ms``, and H."""
    H = p["W_hh"].shape[1]
    gx = x @ p["W_ih"].T + (0.0 if "missing_b_ih" in ms else p["b_ih"])
    gh = h_prev @ p["W_hh"].T + (0.0 if "missing_b_hh" in ms else p["b_hh"])
    return gx, gh, H


def _step_forward(x, h_prev, p, mistake=None):
    """One GRU step with the mistakes ``mistake`` (a code or a tuple of codes); returns ``dict(h)``."""
    ms = E.mistakes_of(mistake)
    gx, gh, H = _parts(x, h_prev, p, ms)
    blocks = {"r": slice(0, H), "z": slice(H, 2 * H), "n": slice(2 * H, 3 * H)}
    if "gru_gate_order" in ms:  # r and z read from each other's rows
        blocks["r"], blocks["z"] = blocks["z"], blocks["r"]
    r = _sigmoid(gx[:, blocks["r"]] + gh[:, blocks["r"]])
    z = _sigmoid(gx[:, blocks["z"]] + gh[:, blocks["z"]])
    b_hn = 0.0 if "missing_b_hh" in ms else p["b_hh"][2 * H:]
    W_hn = p["W_hh"][2 * H:]
    recurrent = E.one_of({
        "reset_before_W_hh": lambda: (r * h_prev) @ W_hn.T + b_hn,
        "reset_without_bias": lambda: r * (h_prev @ W_hn.T) + b_hn,
        "no_reset": lambda: gh[:, blocks["n"]],
    }, ms, lambda: r * gh[:, blocks["n"]])()
    n = E.one_of({"gru_candidate_sigmoid": _sigmoid}, ms, np.tanh)(gx[:, blocks["n"]] + recurrent)
    h = E.one_of({
        "update_flipped": lambda: z * n + (1 - z) * h_prev,
        "one_minus_z_sign": lambda: (z - 1) * n + z * h_prev,
        "no_update_gate": lambda: n,
    }, ms, lambda: (1 - z) * n + z * h_prev)()
    return {"h": h}


def _step_backward(dh, c, mistake=None):
    """Backward of one GRU step (cache ``c``) with the mistakes ``mistake``; returns dx, dh_prev, grads."""
    ms = E.mistakes_of(mistake)
    r, z, n, hn, p = c.r, c.z, c.n, c.hn, c.params
    dn = dh * (1 - z)
    dz = dh * ((n - c.h_prev) if "dz_sign" in ms else (c.h_prev - n))
    da_n = dn if "gru_tanh_grad_missing" in ms else dn * (1 - n ** 2)
    dr = da_n * hn
    if "gate_grads_missing" in ms:
        da_r, da_z = dr, dz
    else:
        da_r, da_z = dr * r * (1 - r), dz * z * (1 - z)
    dgx = np.concatenate([da_r, da_z, da_n], axis=1)
    dgh = np.concatenate([da_r, da_z, da_n if "reset_missing_in_backward" in ms else da_n * r], axis=1)
    direct = 0.0 if "direct_path_missing" in ms else dh * z
    return {"dx": dgx @ p["W_ih"], "dh_prev": direct + dgh @ p["W_hh"], "dW_ih": dgx.T @ c.x,
            "dW_hh": dgh.T @ c.h_prev, "db_ih": dgx.sum(0), "db_hh": dgh.sum(0)}


def _forward(xs, p, h0, mistake=None):
    """A sequence forward with the mistakes ``mistake``; returns ``dict(hs, h_n)``."""
    ms = E.mistakes_of(mistake)
    T_, B, _ = xs.shape
    zeros = np.zeros((B, p["W_hh"].shape[1]))
    h0 = zeros if h0 is None or "initial_state_ignored" in ms else h0
    h, hs = h0, []
    for t in range(T_):
        h = _step_forward(xs[t], h0 if "h_not_carried" in ms else h, p, mistake)["h"]
        hs.append(h)
    return {"hs": np.stack(hs), "h_n": hs[-1]}


def _backward(dhs, cache, dh_n=None, mistake=None):
    """BPTT through a ``GRUCache`` with the mistakes ``mistake``; returns ``dict(dxs, dh0, dW_ih, ...)``."""
    ms = E.mistakes_of(mistake)
    T_, B, H = cache.hs.shape
    dh = np.zeros((B, H)) if dh_n is None or "final_grads_ignored" in ms else dh_n
    grads = {k: 0.0 for k in PARAM_GRADS}
    dxs = np.zeros(cache.xs.shape)
    for t in reversed(range(T_)):
        out = _step_backward(dhs[t] + dh, cache.step(t), mistake)
        dxs[t] = out["dx"]
        grads = {k: grads[k] + out[k] for k in grads}
        dh = 0.0 * dh if "dh_not_carried" in ms and t > 0 else out["dh_prev"]
    return dict(dxs=dxs, dh0=dh, **grads)


FORWARD_MUTANTS = [(m, {}, {"mistake": m}) for m in (
    "reset_before_W_hh", "reset_without_bias", "update_flipped", "one_minus_z_sign", "gru_gate_order",
    "no_reset", "no_update_gate", "gru_candidate_sigmoid")] + [
    ("missing_bias", {"bias": b}, {"mistake": f"missing_{b}"}) for b in ("b_ih", "b_hh")]
BACKWARD_MUTANTS = [(m, {}, {"mistake": m}) for m in (
    "dz_sign", "reset_missing_in_backward", "direct_path_missing", "gru_tanh_grad_missing",
    "gate_grads_missing")]
SEQ_FORWARD_MUTANTS = [(m, {}, {"mistake": m}) for m in ("h_not_carried", "initial_state_ignored")]
SEQ_BACKWARD_MUTANTS = [(m, {}, {"mistake": m}) for m in ("dh_not_carried", "final_grads_ignored")]
FORBID = traps.forbidden("gru")



def _step_cases():
    cases = []
    for k, (B, D, H) in enumerate(E.SIZES):
        rng = np.random.default_rng(8800 + k)
        params = E.random_params(rng, 3, D, H, scale=0.8)
        x, h_prev, dh = rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
        cache = lnp.gru_step_forward(x, h_prev, params)[1]
        cases.append(E.Case(E.label(k, 3, B=B, D=D, H=H), dict(B=B, x=x, h_prev=h_prev, params=params,
                                                                dh=dh, cache=cache)))
    return cases


def check_gru_step_forward(fn, verbose: bool = True):
    """Check a student's ``gru_step_forward(x, h_prev, params) -> (h, cache)``.

    Recognised mistakes: the reset gate applied before W_hn (``W_hn (r ⊙ h_prev)``, Cho et
    al.'s form) or to ``W_hn h_prev`` without its bias; the update gate the wrong way round
    (``z ⊙ n + (1 − z) ⊙ h_prev``); the sign of (1 − z) lost (``(z − 1) ⊙ n``); r and z read
    from each other's rows; no reset gate; no update gate (h = n); a sigmoid on the candidate;
    a missing bias; and any two of these at once.
    """
    name = E.function_name(fn, "check_gru_step_forward", "gru_step_forward")

    def unpack(raw, d):
        h, _ = E.expect_tuple(raw, ("h", "cache"), name)
        return {"h": E.to_array(h, "h")}

    def mutants(d):
        return E.mutants(FORWARD_MUTANTS, lambda **kw: _step_forward(d["x"], d["h_prev"], d["params"], **kw))
    return E.run(name, fn, _step_cases(), lambda f, d: f(d["x"], d["h_prev"], d["params"]), unpack,
                 lambda d: {"h": lnp.gru_step_forward(d["x"], d["h_prev"], d["params"])[0]}, mutants,
                 what="h matches torch.nn.GRU's equations on 3 test cases (B = 3, 1, 2; D ≠ H).",
                 forbid=FORBID, verbose=verbose)


def check_gru_step_backward(fn, verbose: bool = True):
    """Check a student's ``gru_step_backward(dh, cache) -> (dx, dh_prev, grads)``.

    ``fn`` receives the package's ``GRUStepCache(x, h_prev, r, z, n, hn, params)``. Recognised
    mistakes: the sign of dz (``dh ⊙ (n − h_prev)``: the derivative of (1 − z) is −1); the
    reset gate missing from the n block of the recurrent gradient; the direct path ``dh ⊙ z``
    to h_prev missing; tanh' or the gates' sigmoid' missing; a sign error; a transposed or
    batch-averaged gradient; one parameter's gradient wrong; any two known mistakes at once.
    """
    name = E.function_name(fn, "check_gru_step_backward", "gru_step_backward")

    def mutants(d):
        return E.mutants(BACKWARD_MUTANTS, lambda **kw: _step_backward(d["dh"], d["cache"], **kw))
    return O.check_step_backward(name, fn, _step_cases(), lnp.gru_step_backward, mutants, FORBID,
                                 verbose)


def _seq_cases():
    return O.seq_cases(lnp.gru_forward, 3, 8900, scale=0.8)


def check_gru_forward(fn, verbose: bool = True):
    """Check a student's ``gru_forward(xs, params, h0=None) -> (hs, h_n, cache)``.

    Recognised mistakes: those of :func:`check_gru_step_forward` at every step; h not carried
    from step to step; the initial state ignored.
    """
    name = E.function_name(fn, "check_gru_forward", "gru_forward")
    return O.check_sequence_forward(name, fn, _seq_cases(), lnp.gru_forward, _forward,
                                   SEQ_FORWARD_MUTANTS + FORWARD_MUTANTS, FORBID, verbose)


def check_gru_backward(fn, verbose: bool = True):
    """Check a student's ``gru_backward(dhs, cache, dh_n=None) -> (dxs, dh0, grads)``.

    ``fn`` receives the package's ``GRUCache`` (``cache.step(t)`` gives step t's
    ``GRUStepCache``). Recognised mistakes: those of :func:`check_gru_step_backward` at every
    step; the gradient from the later step not carried to h_(t−1); ``dh_n`` ignored.
    """
    name = E.function_name(fn, "check_gru_backward", "gru_backward")
    return O.check_sequence_backward(name, fn, _seq_cases(), lnp.gru_backward, _backward,
                                   SEQ_BACKWARD_MUTANTS + BACKWARD_MUTANTS, FORBID, verbose)
