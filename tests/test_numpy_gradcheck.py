"""Finite differences confirm every gradient; step and sequence functions agree."""
from __future__ import annotations

import numpy as np
import pytest

from lstm_course import numpy as lnp


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("size", [(1, 1, 1, 1), (4, 2, 3, 5), (6, 3, 5, 2)])
def test_sequence_gradients_match_finite_differences(model, size):
    T, B, D, H = size
    errors = lnp.check_sequence_gradients(model, T=T, B=B, D=D, H=H, seed=T + D)
    expected = {"W_ih", "W_hh", "b_ih", "b_hh", "xs", "h0"} | ({"c0"} if model == "lstm" else set())
    assert set(errors) == expected
    for name, err in errors.items():
        assert err < 1e-7, f"{model} {name}: relative error {err:.2e}"


def test_gradcheck_detects_a_wrong_gradient():
    """The check can fail: a deliberately wrong gradient gives a large error."""
    x = np.array([1.0, -2.0, 0.5])
    errors = lnp.gradcheck(lambda: float(np.sum(x**3)), {"x": x}, {"x": 3 * x**2 + np.array([0, 0, 0.1])})
    assert errors["x"] > 1e-3
    ok = lnp.gradcheck(lambda: float(np.sum(x**3)), {"x": x}, {"x": 3 * x**2})
    assert ok["x"] < 1e-8


def _step_sequence(model, params, xs, h0, c0):
    """Run the step functions in a Python loop, then backward through them."""
    T = xs.shape[0]
    step_fwd = {"rnn": lnp.rnn_step_forward, "gru": lnp.gru_step_forward}
    caches, hs, h, c = [], [], h0, c0
    for t in range(T):
        if model == "lstm":
            h, c, cache = lnp.lstm_step_forward(xs[t], h, c, params)
        else:
            h, cache = step_fwd[model](xs[t], h, params)
        caches.append(cache)
        hs.append(h)
    return np.stack(hs), c, caches


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
def test_step_and_sequence_functions_agree(model):
    T, B, D, H = 6, 3, 4, 5
    rng = np.random.default_rng(11)
    params = {"rnn": lnp.init_rnn_params, "lstm": lnp.init_lstm_params, "gru": lnp.init_gru_params}[model](D, H, rng=rng)
    xs = rng.standard_normal((T, B, D))
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    dhs = rng.standard_normal((T, B, H))
    hs_step, c_step, caches = _step_sequence(model, params, xs, h0, c0)
    grads_step = {k: np.zeros_like(v) for k, v in params.items()}
    dxs_step = np.zeros_like(xs)
    dh, dc = np.zeros((B, H)), np.zeros((B, H))
    for t in reversed(range(T)):
        if model == "lstm":
            dxs_step[t], dh, dc, g = lnp.lstm_step_backward(dh + dhs[t], dc, caches[t])
        else:
            back = lnp.rnn_step_backward if model == "rnn" else lnp.gru_step_backward
            dxs_step[t], dh, g = back(dh + dhs[t], caches[t])
        for k in g:
            grads_step[k] += g[k]
    if model == "lstm":
        hs, (_, c_n), cache = lnp.lstm_forward(xs, params, h0, c0)
        dxs, dh0, dc0, grads = lnp.lstm_backward(dhs, cache)
        np.testing.assert_allclose(c_n, c_step, rtol=0, atol=1e-13)
        np.testing.assert_allclose(dc0, dc, rtol=0, atol=1e-12)
    else:
        fwd, bwd = {"rnn": (lnp.rnn_forward, lnp.rnn_backward), "gru": (lnp.gru_forward, lnp.gru_backward)}[model]
        hs, _, cache = fwd(xs, params, h0)
        dxs, dh0, grads = bwd(dhs, cache)
    np.testing.assert_allclose(hs, hs_step, rtol=0, atol=1e-13)
    np.testing.assert_allclose(dxs, dxs_step, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dh0, dh, rtol=0, atol=1e-12)
    for k in params:
        np.testing.assert_allclose(grads[k], grads_step[k], rtol=0, atol=1e-11)


def test_forward_does_not_modify_its_inputs():
    rng = np.random.default_rng(0)
    params = lnp.init_lstm_params(3, 4, rng=rng)
    xs, h0, c0 = rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    copies = [a.copy() for a in (xs, h0, c0, *params.values())]
    _, _, cache = lnp.lstm_forward(xs, params, h0, c0)
    lnp.lstm_backward(rng.standard_normal((5, 2, 4)), cache, dh_n=np.ones((2, 4)), dc_n=np.ones((2, 4)))
    for before, after in zip(copies, (xs, h0, c0, *params.values())):
        np.testing.assert_array_equal(before, after)


def test_init_forget_bias_and_ranges():
    p = lnp.init_lstm_params(3, 4, rng=0, forget_bias=1.0)
    np.testing.assert_array_equal(p["b_ih"][4:8], 1.0)
    np.testing.assert_array_equal(p["b_hh"][4:8], 0.0)
    k = 1 / np.sqrt(4)
    for name, arr in lnp.init_gru_params(5, 4, rng=1).items():
        assert np.all(np.abs(arr) <= k), name
    assert lnp.init_rnn_params(2, 3, rng=0, dtype=np.float32)["W_hh"].dtype == np.float32
    a, b = lnp.init_rnn_params(2, 3, rng=5), lnp.init_rnn_params(2, 3, rng=5)
    np.testing.assert_array_equal(a["W_hh"], b["W_hh"])
