"""lstm_course.numpy.fast computes what the plain reference computes: equal to 1e-12 in float64."""
from __future__ import annotations

import numpy as np
import pytest

from lstm_course import numpy as lnp
from lstm_course.numpy import fast

SIZES = [(1, 1, 1, 1), (1, 3, 4, 2), (5, 1, 3, 7), (7, 4, 6, 3), (12, 2, 1, 5), (40, 8, 5, 16)]
TOL = {np.float64: 1e-12, np.float32: 1e-5}


def _problem(T, B, D, H, dtype, seed, with_state=True):
    rng = np.random.default_rng(seed)
    params = lnp.init_lstm_params(D, H, rng=rng, dtype=dtype)
    xs = rng.standard_normal((T, B, D)).astype(dtype)
    h0, c0, dh_n, dc_n = (rng.standard_normal((B, H)).astype(dtype) if with_state else None for _ in range(4))
    dhs = rng.standard_normal((T, B, H)).astype(dtype)
    return params, xs, h0, c0, dhs, dh_n, dc_n


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("with_state", [False, True])
def test_fast_equals_the_reference(dtype, size, with_state):
    params, xs, h0, c0, dhs, dh_n, dc_n = _problem(*size, dtype, seed=sum(size), with_state=with_state)
    ref_hs, (ref_h, ref_c), ref_cache = lnp.lstm_forward(xs, params, h0, c0)
    hs, (h_n, c_n), cache = fast.lstm_forward(xs, params, h0, c0)
    assert type(cache) is type(ref_cache)  # the same LSTMCache: either backward takes either cache
    for ours, theirs in [(hs, ref_hs), (h_n, ref_h), (c_n, ref_c), (cache.cs, ref_cache.cs),
                         (cache.gates, ref_cache.gates), (cache.tanh_cs, ref_cache.tanh_cs)]:
        assert ours.dtype == dtype
        assert lnp.relative_error(ours, theirs) < TOL[dtype]
    ref = lnp.lstm_backward(dhs, ref_cache, dh_n, dc_n)
    ours = fast.lstm_backward(dhs, cache, dh_n, dc_n)
    for name, a, b in zip(("dxs", "dh0", "dc0"), ours[:3], ref[:3]):
        assert a.dtype == dtype and lnp.relative_error(a, b) < TOL[dtype], name
    for key in params:
        assert ours[3][key].shape == params[key].shape
        assert lnp.relative_error(ours[3][key], ref[3][key]) < TOL[dtype], key


def test_the_comparison_is_not_vacuous():
    """A wrong weight in the fast path shows: the bound above can fail."""
    params, xs, h0, c0, dhs, dh_n, dc_n = _problem(6, 2, 3, 4, np.float64, seed=1)
    other = dict(params, W_hh=params["W_hh"] * 1.001)
    assert lnp.relative_error(fast.lstm_forward(xs, other, h0, c0)[0], lnp.lstm_forward(xs, params, h0, c0)[0]) > 1e-6


@pytest.mark.parametrize("block", ["steps=1", "steps=2", "steps=3", "steps=7", "steps=50", "bytes=2 steps"])
def test_blocks_change_nothing(monkeypatch, block):
    """The fast backward computes its local factors block by block; every block size (uneven
    last blocks, one-step first blocks, more steps than the sequence, the BLOCK_BYTES rule)
    gives the reference's gradients."""
    T, B, D, H = 7, 3, 4, 5
    params, xs, h0, c0, dhs, dh_n, dc_n = _problem(T, B, D, H, np.float64, seed=5)
    kind, value = block.split("=")
    if kind == "bytes":  # the default rule, with a budget of two steps' factors
        monkeypatch.setattr(fast, "BLOCK_BYTES", 2 * B * 4 * H * 8)
        assert fast.steps_per_block(T, B, H, np.float64) == 2
        block_steps = None
    else:
        block_steps = int(value)
    cache = lnp.lstm_forward(xs, params, h0, c0)[2]
    ours = fast.lstm_backward(dhs, cache, dh_n, dc_n, block_steps=block_steps)
    ref = lnp.lstm_backward(dhs, cache, dh_n, dc_n)
    for a, b in zip(ours[:3], ref[:3]):
        assert lnp.relative_error(a, b) < 1e-12
    for key in params:
        assert lnp.relative_error(ours[3][key], ref[3][key]) < 1e-12, key


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scaling_in_advance_gives_the_same_bits(dtype):
    """The fast forward scales the rows of the weights once (−1 on i, f, o, −2 on g) and calls
    gates_forward(scaled=True): the scaling is exact, so the cell's outputs equal those of unscaled
    pre-activations bit for bit."""
    rng = np.random.default_rng(3)
    B, D, H = 4, 6, 5
    x, h, c = rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    W_ih, W_hh, b = rng.standard_normal((4 * H, D)), rng.standard_normal((4 * H, H)), rng.standard_normal(4 * H)
    x, h, c, W_ih, W_hh, b = (v.astype(dtype) for v in (x, h, c, W_ih, W_hh, b))
    scale = fast.gate_scale(H, np.dtype(dtype))[0]
    plain = fast.gates_forward(x @ W_ih.T + h @ W_hh.T + b, c)
    scaled = fast.gates_forward(x @ (W_ih * scale[:, None]).T + h @ (W_hh * scale[:, None]).T + b * scale, c,
                                scaled=True)
    for ours, theirs in zip(scaled, plain):
        np.testing.assert_array_equal(ours, theirs)
    assert not np.array_equal(fast.gates_forward(x @ W_ih.T + h @ W_hh.T + b, c, scaled=True)[3], plain[3])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_exponential_saturates_without_warnings_or_nans(dtype):
    """Pre-activations far beyond exp's range give gates of exactly 0 and 1 (g exactly −1 and 1),
    the cell's values, and no overflow warning (an error under pytest's filterwarnings)."""
    H = 3
    a = np.array([[-1e4] * (4 * H), [1e4] * (4 * H)], dtype=dtype)
    c_prev = np.ones((2, H), dtype)
    with np.errstate(all="raise"):
        gates, c, _, h = fast.gates_forward(a, c_prev)
    np.testing.assert_array_equal(gates[0], [0] * (2 * H) + [-1] * H + [0] * H)
    np.testing.assert_array_equal(gates[1], [1] * (4 * H))
    np.testing.assert_array_equal(c, [[0] * H, [2] * H])  # f ⊙ c_prev + i ⊙ g
    np.testing.assert_array_equal(h[0], [0] * H)


def test_fast_refuses_bad_input_as_the_reference_does():
    params, xs, *_ = _problem(3, 2, 4, 5, np.float64, seed=2)
    with pytest.raises(ValueError, match=r"xs must have shape \(T, B, D\)"):
        fast.lstm_forward(xs[:, 0], params)
    cache = fast.lstm_forward(xs, params)[2]
    with pytest.raises(ValueError, match="dhs"):
        fast.lstm_backward(np.zeros((3, 2, 4)), cache)
    with pytest.raises(TypeError, match="block_steps must be an int"):
        fast.lstm_backward(np.zeros((3, 2, 5)), cache, block_steps=2.0)
    with pytest.raises(TypeError, match="needs the LSTMCache"):
        fast.lstm_backward(np.zeros((3, 2, 5)), tuple(cache))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tanh_by_exp_is_tanh_to_rounding_and_saturates(dtype):
    """fast.tanh_by_exp gives np.tanh's values to a few units of the last place of 1 (it subtracts 1
    at the end), exactly ±1 far out, 0 at 0, and no floating-point warning; it may write into x."""
    x = np.concatenate([np.linspace(-30, 30, 2001), [0.0, 1e-300, -1e-30, 1e4, -1e4]]).astype(dtype)
    x[-2:] = np.finfo(dtype).max, -np.finfo(dtype).max  # where -2x overflows too
    with np.errstate(all="raise"):
        ours = fast.tanh_by_exp(x, out=np.empty_like(x))
    eps = np.finfo(dtype).eps
    assert np.abs(ours - np.tanh(x)).max() <= 4 * eps
    assert ours[-2] == 1 and ours[-1] == -1 and ours[2001] == 0
    y = x.copy()
    assert fast.tanh_by_exp(y, out=y) is y and np.array_equal(y, ours)
