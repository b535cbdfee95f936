"""The NumPy implementations equal torch.nn.RNN/LSTM/GRU with the same weights, forward and backward."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm_course import numpy as lnp

from ._reference import MODELS, max_abs, torch_grads, torch_twin

SIZES = [  # (T, B, D, H): T=1, B=1, D≠H, D=1
    (1, 1, 1, 1),
    (1, 3, 4, 2),
    (5, 1, 3, 7),
    (7, 4, 6, 3),
    (12, 2, 1, 5),
]
FORWARD = {"rnn": lnp.rnn_forward, "lstm": lnp.lstm_forward, "gru": lnp.gru_forward}
TOL_FWD = {np.float64: 1e-12, np.float32: 1e-5}


def _inputs(model, T, B, D, H, dtype, seed, with_state):
    rng = np.random.default_rng(seed)
    params = MODELS[model][1](D, H, rng=rng, dtype=dtype)
    xs = rng.standard_normal((T, B, D)).astype(dtype)
    h0 = rng.standard_normal((B, H)).astype(dtype) if with_state else None
    c0 = rng.standard_normal((B, H)).astype(dtype) if with_state else None
    return params, xs, h0, c0


def _torch_state(state, B, H, dtype):
    t = torch.zeros(1, B, H, dtype=dtype) if state is None else torch.from_numpy(state.copy())[None]
    return t.requires_grad_(True)


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("with_state", [False, True])
def test_forward_matches_torch(model, dtype, size, with_state):
    T, B, D, H = size
    params, xs, h0, c0 = _inputs(model, T, B, D, H, dtype, seed=sum(size), with_state=with_state)
    module = torch_twin(model, params)
    tdt = torch.from_numpy(xs).dtype
    hx = _torch_state(h0, B, H, tdt)
    with torch.no_grad():
        if model == "lstm":
            out, (h_n, c_n) = module(torch.from_numpy(xs), (hx, _torch_state(c0, B, H, tdt)))
            hs, (ours_h, ours_c), _ = lnp.lstm_forward(xs, params, h0, c0)
            assert max_abs(ours_c, c_n[0]) < TOL_FWD[dtype]
        else:
            out, h_n = module(torch.from_numpy(xs), hx)
            hs, ours_h, _ = FORWARD[model](xs, params, h0)
    assert hs.dtype == dtype and hs.shape == (T, B, H)
    assert max_abs(hs, out) < TOL_FWD[dtype]
    assert max_abs(ours_h, h_n[0]) < TOL_FWD[dtype]


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_backward_matches_autograd(model, size, dtype, tol):
    """Upstream gradients on every h_t and on the final states; every gradient compared."""
    T, B, D, H = size
    params, xs, h0, c0 = _inputs(model, T, B, D, H, dtype, seed=100 + sum(size), with_state=True)
    rng = np.random.default_rng(7)
    dhs = rng.standard_normal((T, B, H)).astype(dtype)
    dh_n = rng.standard_normal((B, H)).astype(dtype)
    dc_n = rng.standard_normal((B, H)).astype(dtype)
    module = torch_twin(model, params)
    x_t = torch.from_numpy(xs.copy()).requires_grad_(True)
    tdt = x_t.dtype
    h0_t = _torch_state(h0, B, H, tdt)
    if model == "lstm":
        c0_t = _torch_state(c0, B, H, tdt)
        out, (h_n, c_n) = module(x_t, (h0_t, c0_t))
        loss = (out * torch.from_numpy(dhs)).sum() + (h_n[0] * torch.from_numpy(dh_n)).sum() + (c_n[0] * torch.from_numpy(dc_n)).sum()
        loss.backward()
        _, _, cache = lnp.lstm_forward(xs, params, h0, c0)
        dxs, dh0, dc0, grads = lnp.lstm_backward(dhs, cache, dh_n=dh_n, dc_n=dc_n)
        assert max_abs(dc0, c0_t.grad[0]) < tol * max(1.0, float(np.abs(dc0).max()))
    else:
        out, h_n = module(x_t, h0_t)
        loss = (out * torch.from_numpy(dhs)).sum() + (h_n[0] * torch.from_numpy(dh_n)).sum()
        loss.backward()
        _, _, cache = FORWARD[model](xs, params, h0)
        backward = lnp.rnn_backward if model == "rnn" else lnp.gru_backward
        dxs, dh0, grads = backward(dhs, cache, dh_n)
    assert dxs.dtype == dtype and dh0.dtype == dtype
    assert lnp.relative_error(dxs, x_t.grad.numpy()) < tol
    assert lnp.relative_error(dh0, h0_t.grad[0].numpy()) < tol
    theirs = torch_grads(module)
    for key in params:
        assert grads[key].shape == params[key].shape
        assert grads[key].dtype == dtype
        assert lnp.relative_error(grads[key], theirs[key]) < tol, key


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
def test_float32_in_float32_out(model):
    params, xs, h0, c0 = _inputs(model, 3, 2, 4, 5, np.float32, seed=1, with_state=True)
    out = FORWARD[model](xs, params)[0]
    assert out.dtype == np.float32


def test_torch_twin_is_really_the_same_model():
    """Guard against a vacuous comparison: different weights must give different outputs."""
    params, xs, _, _ = _inputs("lstm", 4, 2, 3, 3, np.float64, seed=3, with_state=False)
    other = lnp.init_lstm_params(3, 3, rng=99)
    with torch.no_grad():
        out, _ = torch_twin("lstm", other)(torch.from_numpy(xs))
    assert max_abs(lnp.lstm_forward(xs, params)[0], out) > 1e-3
