"""Bad input gets a ValueError/TypeError naming what was expected and what came."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_course import numpy as lnp

T, B, D, H = 4, 2, 3, 5


@pytest.fixture
def lstm():
    rng = np.random.default_rng(0)
    return lnp.init_lstm_params(D, H, rng=rng), rng.standard_normal((T, B, D))


def test_wrong_rank(lstm):
    params, xs = lstm
    with pytest.raises(ValueError, match=r"xs must have shape \(T, B, D\) \(3 dimensions\); got shape \(4, 3\)"):
        lnp.lstm_forward(xs[:, 0], params)
    with pytest.raises(ValueError, match=r"x must have shape \(B, D\).*got shape \(4, 2, 3\)"):
        lnp.lstm_step_forward(xs, None, None, params)


def test_input_size_disagrees_with_params(lstm):
    params, xs = lstm
    with pytest.raises(ValueError, match=r"params\['W_ih'\] must have shape \(4H, D\).*\(20, 4\); got shape \(20, 3\)"):
        lnp.lstm_forward(np.zeros((T, B, 4)), params)


def test_state_disagrees(lstm):
    params, xs = lstm
    with pytest.raises(ValueError, match=r"h0 must have shape \(B, H\) = \(2, 5\); got shape \(3, 5\)"):
        lnp.lstm_forward(xs, params, h0=np.zeros((3, H)))
    with pytest.raises(ValueError, match=r"c0 must have shape \(B, H\) = \(2, 5\); got shape \(2, 4\)"):
        lnp.lstm_forward(xs, params, c0=np.zeros((B, 4)))
    with pytest.raises(ValueError, match=r"h_prev must have shape \(B, H\)"):
        lnp.rnn_step_forward(xs[0], np.zeros((B, H + 1)), lnp.init_rnn_params(D, H, rng=0))


def test_missing_param(lstm):
    params, xs = lstm
    del params["b_hh"]
    with pytest.raises(ValueError, match=r"missing b_hh"):
        lnp.lstm_forward(xs, params)
    with pytest.raises(TypeError, match=r"params must be a dict"):
        lnp.lstm_forward(xs, [1, 2])


def test_misshaped_param(lstm):
    params, xs = lstm
    params["W_hh"] = np.zeros((4 * H, H + 1))
    with pytest.raises(ValueError, match=r"W_hh'\] must have shape \(4H, H\); got shape \(20, 6\)"):
        lnp.lstm_forward(xs, params)
    params["W_hh"] = np.zeros((4 * H, H))
    params["b_ih"] = np.zeros(H)
    with pytest.raises(ValueError, match=r"b_ih'\] must have shape \(4H,\).*got shape \(5,\)"):
        lnp.lstm_forward(xs, params)


def test_rnn_params_given_to_lstm(lstm):
    _, xs = lstm
    with pytest.raises(ValueError, match=r"W_hh'\] must have shape \(4H, H\); got shape \(5, 5\)"):
        lnp.lstm_forward(xs, lnp.init_rnn_params(D, H, rng=0))


@pytest.mark.parametrize("bad", [np.int64, np.int32, np.complex128, np.bool_, np.float16])
def test_unsupported_dtypes(lstm, bad):
    params, xs = lstm
    with pytest.raises(TypeError, match=rf"xs must have dtype float32 or float64; got dtype {np.dtype(bad)}"):
        lnp.lstm_forward(xs.astype(bad), params)


def test_integer_params(lstm):
    params, xs = lstm
    params["W_ih"] = params["W_ih"].astype(np.int64)
    with pytest.raises(TypeError, match=r"params\['W_ih'\] must have dtype float32 or float64; got dtype int64"):
        lnp.lstm_forward(xs, params)


def test_mixed_dtypes(lstm):
    params, xs = lstm
    with pytest.raises(TypeError, match=r"params\['W_ih'\] has dtype float64 but the input has dtype float32"):
        lnp.lstm_forward(xs.astype(np.float32), params)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_input(lstm, value):
    params, xs = lstm
    xs[1, 0, 2] = value
    with pytest.raises(ValueError, match=r"xs must be finite; got 1 NaN or inf entries"):
        lnp.lstm_forward(xs, params)
    params["W_hh"][0, 0] = value
    with pytest.raises(ValueError, match=r"params\['W_hh'\] must be finite"):
        lnp.lstm_forward(np.zeros((T, B, D)), params)


def test_torch_tensor_is_refused_with_a_hint(lstm):
    params, xs = lstm
    with pytest.raises(TypeError, match=r"got a torch.Tensor.*\.numpy\(\)"):
        lnp.lstm_forward(torch.from_numpy(xs), params)


def test_empty_dimension(lstm):
    params, _ = lstm
    with pytest.raises(ValueError, match=r"no empty dimension.*got shape \(0, 2, 3\)"):
        lnp.lstm_forward(np.zeros((0, B, D)), params)


def test_backward_checks_its_arguments(lstm):
    params, xs = lstm
    hs, _, cache = lnp.lstm_forward(xs, params)
    with pytest.raises(ValueError, match=r"dhs must have shape \(T, B, H\) = \(4, 2, 5\); got shape \(4, 2, 4\)"):
        lnp.lstm_backward(np.zeros((T, B, 4)), cache)
    with pytest.raises(ValueError, match=r"dc_n must have shape \(B, H\)"):
        lnp.lstm_backward(np.zeros_like(hs), cache, dc_n=np.zeros((B, 1)))
    with pytest.raises(TypeError, match=r"needs the LSTMCache returned by the matching forward function; got tuple"):
        lnp.lstm_backward(np.zeros_like(hs), tuple(cache))
    _, _, step_cache = lnp.lstm_step_forward(xs[0], None, None, params)
    with pytest.raises(TypeError, match=r"lstm_backward needs the LSTMCache.*got LSTMStepCache"):
        lnp.lstm_backward(np.zeros_like(hs), step_cache)
    with pytest.raises(TypeError, match=r"dhs has dtype float32 but the forward pass has dtype float64"):
        lnp.lstm_backward(np.zeros_like(hs, dtype=np.float32), cache)
    with pytest.raises(ValueError, match=r"block_steps must be at least 1; got 0"):
        lnp.fast.lstm_backward(np.zeros_like(hs), cache, block_steps=0)
    with pytest.raises(TypeError, match=r"block_steps must be an int; got float 2.0"):
        lnp.fast.lstm_backward(np.zeros_like(hs), cache, block_steps=2.0)


@pytest.mark.parametrize("model", ["rnn", "gru"])
def test_rnn_and_gru_backward_check_the_final_gradient(model):
    forward, backward = {"rnn": (lnp.rnn_forward, lnp.rnn_backward), "gru": (lnp.gru_forward, lnp.gru_backward)}[model]
    params = {"rnn": lnp.init_rnn_params, "gru": lnp.init_gru_params}[model](D, H, rng=0)
    hs, h_n, cache = forward(np.ones((T, B, D)), params)
    assert np.array_equal(h_n, hs[-1])
    with pytest.raises(ValueError, match=r"dh_n must have shape \(B, H\) = \(2, 5\); got shape \(2, 4\)"):
        backward(np.zeros_like(hs), cache, np.zeros((B, 4)))


@pytest.mark.parametrize("func,args", [
    (lnp.rnn_forward, ()),
    (lnp.gru_forward, ()),
])
def test_rnn_and_gru_validate_too(func, args):
    xs = np.zeros((T, B, D))
    params = lnp.init_lstm_params(D, H, rng=0)  # wrong model's params
    with pytest.raises(ValueError, match=r"W_hh'\] must have shape"):
        func(xs, params)


def test_init_arguments():
    with pytest.raises(ValueError, match=r"hidden_size must be at least 1; got 0"):
        lnp.init_lstm_params(3, 0)
    with pytest.raises(TypeError, match=r"input_size must be an int; got float 3.0"):
        lnp.init_rnn_params(3.0, 2)
    with pytest.raises(TypeError, match=r"dtype must be float32 or float64; got int64"):
        lnp.init_gru_params(3, 2, dtype=np.int64)
    with pytest.raises(TypeError, match=r"rng must be None, an int seed or a numpy.random.Generator; got str"):
        lnp.init_gru_params(3, 2, rng="seed")
    with pytest.raises(TypeError, match=r"forget_bias must be None or a finite number"):
        lnp.init_lstm_params(3, 2, forget_bias=float("nan"))


def test_relative_error_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"arrays of one shape; got \(2,\) and \(3,\)"):
        lnp.relative_error(np.zeros(2), np.zeros(3))
    assert lnp.relative_error(np.zeros(2), np.zeros(2)) == 0.0
    with pytest.raises(ValueError, match=r"model must be 'rnn', 'lstm' or 'gru'; got 'lstmm'"):
        lnp.check_sequence_gradients("lstmm")


@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 6), B=st.integers(1, 4), D=st.integers(1, 5), H=st.integers(1, 5),
       model=st.sampled_from(["rnn", "lstm", "gru"]), seed=st.integers(0, 2**16))
def test_property_forward_matches_torch_any_size(T, B, D, H, model, seed):
    from ._reference import MODELS, max_abs, torch_twin

    rng = np.random.default_rng(seed)
    params = MODELS[model][1](D, H, rng=rng)
    xs = rng.standard_normal((T, B, D))
    with torch.no_grad():
        out = torch_twin(model, params)(torch.from_numpy(xs))[0]
    ours = {"rnn": lnp.rnn_forward, "lstm": lnp.lstm_forward, "gru": lnp.gru_forward}[model](xs, params)[0]
    assert max_abs(ours, out) < 1e-12


@settings(max_examples=15, deadline=None)
@given(T=st.integers(1, 4), B=st.integers(1, 3), D=st.integers(1, 3), H=st.integers(1, 4),
       model=st.sampled_from(["rnn", "lstm", "gru"]), seed=st.integers(0, 2**16))
def test_property_gradients_match_finite_differences(T, B, D, H, model, seed):
    errors = lnp.check_sequence_gradients(model, T=T, B=B, D=D, H=H, seed=seed)
    assert max(errors.values()) < 1e-7
