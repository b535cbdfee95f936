"""The GRU checkers: the reference (typed out) passes, and a student's GRU with each classic mistake,
or two of them, is rejected with the right diagnosis.

The wrong implementations are written the way a student would write them (np.split, 1/(1+exp),
loops), independently of the mutants inside ``lstm_course.checks.gru``.
"""
from __future__ import annotations

import numpy as np
import pytest

from lstm_course import checks
from lstm_course import numpy as real

from .test_checks import lnp  # the reference as a student would type it


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def gru_step(x, h_prev, p, *, reset="after", update="standard", order="rzn", biases=(True, True), act="tanh"):
    H = h_prev.shape[1]
    W_ir, W_iz, W_in = np.split(p["W_ih"], 3)
    W_hr, W_hz, W_hn = np.split(p["W_hh"], 3)
    b_ir, b_iz, b_in = np.split(p["b_ih"] if biases[0] else np.zeros(3 * H), 3)
    b_hr, b_hz, b_hn = np.split(p["b_hh"] if biases[1] else np.zeros(3 * H), 3)
    if order == "zrn":
        W_ir, W_iz, W_hr, W_hz, b_ir, b_iz, b_hr, b_hz = W_iz, W_ir, W_hz, W_hr, b_iz, b_ir, b_hz, b_hr
    r = sigmoid(x @ W_ir.T + b_ir + h_prev @ W_hr.T + b_hr)
    z = sigmoid(x @ W_iz.T + b_iz + h_prev @ W_hz.T + b_hz)
    inner = {"after": r * (h_prev @ W_hn.T + b_hn), "before": (r * h_prev) @ W_hn.T + b_hn,
             "no_bias": r * (h_prev @ W_hn.T) + b_hn}[reset]
    n = (np.tanh if act == "tanh" else sigmoid)(x @ W_in.T + b_in + inner)
    h = {"standard": (1 - z) * n + z * h_prev, "flipped": z * n + (1 - z) * h_prev,
         "sign": (z - 1) * n + z * h_prev}[update]
    return h, None


FORWARD_BUGS = {
    "reset before W_hn (Cho et al.)": (dict(reset="before"), "reset_before_W_hh"),
    "reset without b_hn": (dict(reset="no_bias"), "reset_without_bias"),
    "update gate flipped": (dict(update="flipped"), "update_flipped"),
    "sign of (1 - z)": (dict(update="sign"), "one_minus_z_sign"),
    "r and z swapped": (dict(order="zrn"), "gru_gate_order"),
    "sigmoid candidate": (dict(act="sigmoid"), "gru_candidate_sigmoid"),
    "b_hh missing": (dict(biases=(True, False)), "missing_bias"),
}


def test_the_reference_typed_out_passes_every_gru_checker():
    assert checks.check_gru_step_forward(lnp.gru_step_forward, verbose=False).passed
    assert checks.check_gru_step_forward(lambda x, h, p: gru_step(x, h, p), verbose=False).passed
    assert checks.check_gru_step_backward(lnp.gru_step_backward, verbose=False).passed
    assert checks.check_gru_forward(lnp.gru_forward, verbose=False).passed
    assert checks.check_gru_backward(lnp.gru_backward, verbose=False).passed


def test_the_package_gru_itself_earns_no_credit():
    for checker, fn in ((checks.check_gru_step_forward, real.gru_step_forward),
                        (checks.check_gru_backward, real.gru_backward)):
        res = checker(fn, verbose=False)
        assert res.code == "delegated" and "lstm_course.numpy.gru_" in res.message, res.message


@pytest.mark.parametrize("bug", FORWARD_BUGS)
def test_gru_step_forward_names_the_mistake(bug):
    kw, code = FORWARD_BUGS[bug]
    res = checks.check_gru_step_forward(lambda x, h, p: gru_step(x, h, p, **kw), verbose=False)
    assert not res.passed and res.code == code, res.message


def test_gru_forward_names_a_step_mistake_and_a_sequence_mistake():
    def student(xs, params, h0=None, bug=None, carry=True):
        B, H = xs.shape[1], params["W_hh"].shape[1]
        start = np.zeros((B, H)) if h0 is None else h0
        h, hs = start, []
        for x in xs:
            h, _ = gru_step(x, h if carry else start, params, **(bug or {}))
            hs.append(h)
        return np.stack(hs), h, None
    assert checks.check_gru_forward(student, verbose=False).passed
    res = checks.check_gru_forward(lambda xs, p, h0=None: student(xs, p, h0, dict(update="flipped")), verbose=False)
    assert res.code == "update_flipped", res.message
    res = checks.check_gru_forward(lambda xs, p, h0=None: student(xs, p, h0, carry=False), verbose=False)
    assert res.code == "h_not_carried", res.message


def gru_step_back(dh, c, *, dz_sign=False, reset=True, direct=True):
    """A student's GRU step backward from the cache's r, z, n and hn."""
    H = dh.shape[1]
    dn = dh * (1 - c.z)
    dz = dh * ((c.n - c.h_prev) if dz_sign else (c.h_prev - c.n))
    da_n = dn * (1 - c.n ** 2)
    da_r = da_n * c.hn * c.r * (1 - c.r)
    da_z = dz * c.z * (1 - c.z)
    dgx = np.hstack([da_r, da_z, da_n])
    dgh = np.hstack([da_r, da_z, da_n * c.r if reset else da_n])
    dh_prev = dgh @ c.params["W_hh"] + (dh * c.z if direct else 0.0)
    grads = {"W_ih": dgx.T @ c.x, "W_hh": dgh.T @ c.h_prev, "b_ih": dgx.sum(0), "b_hh": dgh.sum(0)}
    assert dh_prev.shape[1] == H
    return dgx @ c.params["W_ih"], dh_prev, grads


@pytest.mark.parametrize("kw, code", [(dict(dz_sign=True), "dz_sign"), (dict(reset=False), "reset_missing_in_backward"),
                                      (dict(direct=False), "direct_path_missing")], ids=["dz sign", "r", "direct"])
def test_gru_step_backward_names_the_mistake(kw, code):
    assert checks.check_gru_step_backward(lambda dh, c: gru_step_back(dh, c), verbose=False).passed
    res = checks.check_gru_step_backward(lambda dh, c: gru_step_back(dh, c, **kw), verbose=False)
    assert res.code == code, res.message


def test_two_gru_mistakes_at_once_are_both_named():
    res = checks.check_gru_step_forward(lambda x, h, p: gru_step(x, h, p, reset="before", update="flipped"),
                                        verbose=False)
    assert res.code == "two_mistakes", res.message
    assert {code for code, _ in res.detail["mistakes"]} == {"reset_before_W_hh", "update_flipped"}
    res = checks.check_gru_step_backward(lambda dh, c: gru_step_back(dh, c, dz_sign=True, direct=False),
                                         verbose=False)
    assert res.code == "two_mistakes", res.message
    assert {code for code, _ in res.detail["mistakes"]} == {"dz_sign", "direct_path_missing"}


def test_gru_backward_names_a_dropped_carry():
    def student(dhs, cache, dh_n=None, carry=True):
        dh = np.zeros_like(dhs[0]) if dh_n is None else dh_n
        dxs, grads = np.zeros_like(cache.xs), {k: 0.0 for k in cache.params}
        for t in reversed(range(len(dhs))):
            dxs[t], dh_prev, g = gru_step_back(dhs[t] + dh, cache.step(t))
            grads = {k: grads[k] + g[k] for k in grads}
            dh = dh_prev if carry or t == 0 else 0.0 * dh_prev
        return dxs, dh, grads
    assert checks.check_gru_backward(student, verbose=False).passed
    res = checks.check_gru_backward(lambda *a: student(*a[:2], a[2] if len(a) > 2 else None, carry=False),
                                    verbose=False)
    assert res.code == "dh_not_carried", res.message
