"""lstm_course.gradients: Jacobian and gradient norms against torch autograd, scaling, bounds, clipping."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm_course import gradients as G
from lstm_course import numpy as lnp

T, B, D, H = 7, 2, 3, 4
INIT = {"rnn": lnp.init_rnn_params, "lstm": lnp.init_lstm_params, "gru": lnp.init_gru_params}


def setup(model, seed=0, with_states=True):
    rng = np.random.default_rng(seed)
    params = INIT[model](D, H, rng=rng)
    params["W_hh"] = params["W_hh"] * 3.0  # larger recurrent weights: norms far from 0 and 1
    xs = rng.standard_normal((T, B, D))
    h0 = rng.standard_normal((B, H)) * 0.5 if with_states else None
    c0 = rng.standard_normal((B, H)) if with_states and model == "lstm" else None
    return params, xs, h0, c0


def torch_step(model, params):
    """One step ``(x, h, c) -> (h, c)`` of the torch cell with the same float64 weights."""
    w = {k: torch.from_numpy(v) for k, v in params.items()}
    cell = {"rnn": torch.rnn_tanh_cell, "gru": torch.gru_cell}

    def step(x, h, c):
        if model == "lstm":
            return torch.lstm_cell(x, (h, c), w["W_ih"], w["W_hh"], w["b_ih"], w["b_hh"])
        return cell[model](x, h, w["W_ih"], w["W_hh"], w["b_ih"], w["b_hh"]), c

    return step


def torch_states(model, params, xs, h0, c0):
    """Every state ``(h_t, c_t)``, ``t = 0 … T``, for sample-wise restarts."""
    step = torch_step(model, params)
    h = torch.zeros(B, H, dtype=torch.float64) if h0 is None else torch.from_numpy(h0)
    c = torch.zeros(B, H, dtype=torch.float64) if c0 is None else torch.from_numpy(c0)
    states = [(h, c)]
    for x in torch.from_numpy(xs):
        h, c = step(x, h, c)
        states.append((h, c))
    return states


def brute_force_jacobians(model, params, xs, h0, c0, of="h", wrt="h"):
    """``∂s_T/∂r_t`` by torch.autograd.functional.jacobian, one restart from every t: (T+1, B, H, H)."""
    step = torch_step(model, params)
    states = torch_states(model, params, xs, h0, c0)
    x_t = torch.from_numpy(xs)
    out = np.empty((T + 1, B, H, H))
    for t in range(T + 1):
        for b in range(B):
            h_t, c_t = states[t][0][b : b + 1], states[t][1][b : b + 1]

            def last(r):
                h, c = (r, c_t) if wrt == "h" else (h_t, r)
                for k in range(t, T):
                    h, c = step(x_t[k, b : b + 1], h, c)
                return (h if of == "h" else c)[0]

            out[t, b] = torch.autograd.functional.jacobian(last, h_t if wrt == "h" else c_t)[:, 0].numpy()
    return out


@pytest.mark.parametrize("model,of,wrt", [("rnn", "h", "h"), ("gru", "h", "h"), ("lstm", "h", "h"),
                                          ("lstm", "c", "c"), ("lstm", "h", "c"), ("lstm", "c", "h")])
@pytest.mark.parametrize("ord", [2, "fro"])
def test_jacobian_norms_match_torch_autograd(model, of, wrt, ord):
    params, xs, h0, c0 = setup(model)
    J = brute_force_jacobians(model, params, xs, h0, c0, of, wrt)
    expected = np.linalg.norm(J, ord=ord, axis=(2, 3))
    got = G.jacobian_norms(model, params, xs, h0, c0, of=of, wrt=wrt, ord=ord)
    assert got.shape == (T + 1, B)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-14)


def test_jacobian_norm_is_one_at_distance_zero_and_decays_for_small_weights():
    params, xs, h0, _ = setup("rnn")
    params["W_hh"] = G.scale_spectral_norm(params["W_hh"], 0.5)
    norms = G.jacobian_norms("rnn", params, xs, h0)
    np.testing.assert_allclose(norms[T], 1.0)
    assert np.all(np.diff(norms, axis=0) > 0)  # strictly smaller the farther back


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
def test_state_gradients_match_sequence_backward_and_autograd(model):
    params, xs, h0, c0 = setup(model, seed=1)
    rng = np.random.default_rng(2)
    dh_T = rng.standard_normal((B, H))
    dc_T = rng.standard_normal((B, H)) if model == "lstm" else None
    got = G.state_gradients(model, params, xs, h0, c0, dh_T=dh_T, dc_T=dc_T)
    # the package's sequence backward with the upstream gradient at the last step only
    dhs = np.zeros((T, B, H))
    dhs[-1] = dh_T
    if model == "lstm":
        _, _, cache = lnp.lstm_forward(xs, params, h0, c0)
        _, dh0, dc0, _ = lnp.lstm_backward(dhs, cache, dc_n=dc_T)
        np.testing.assert_allclose(got.dc[0], dc0, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(got.dc[T], dc_T)
    else:
        pairs = {"rnn": (lnp.rnn_forward, lnp.rnn_backward), "gru": (lnp.gru_forward, lnp.gru_backward)}
        forward, backward = pairs[model]
        _, dh0, _ = backward(dhs, forward(xs, params, h0)[2])
        assert got.dc is None
    np.testing.assert_allclose(got.dh[0], dh0, rtol=1e-12, atol=1e-15)
    # torch autograd: restart from every state (h_t, c_t) as independent leaves, as the definition says
    step = torch_step(model, params)
    states = torch_states(model, params, xs, h0, c0)
    for t in range(T):
        h, c = (s.detach().requires_grad_(True) for s in states[t])
        h_t, c_t = h, c
        for x in torch.from_numpy(xs[t:]):
            h, c = step(x, h, c)
        loss = (h * torch.from_numpy(dh_T)).sum()
        if model == "lstm":
            loss = loss + (c * torch.from_numpy(dc_T)).sum()
        loss.backward()
        np.testing.assert_allclose(got.dh[t], h_t.grad.numpy(), rtol=1e-10, atol=1e-14)
        if model == "lstm":
            np.testing.assert_allclose(got.dc[t], c_t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_hidden_gradient_norms_default_upstream_is_unit_vector():
    params, xs, h0, c0 = setup("lstm")
    norms = G.hidden_gradient_norms("lstm", params, xs, h0, c0)
    np.testing.assert_allclose(norms[T], 1.0)
    u = np.full((B, H), 0.5)  # (1, …, 1)/√H for H = 4
    expected = np.linalg.norm(G.state_gradients("lstm", params, xs, h0, c0, dh_T=u).dc, axis=2)
    np.testing.assert_allclose(G.hidden_gradient_norms("lstm", params, xs, h0, c0, wrt="c"), expected)


@pytest.mark.parametrize("nonlinearity", ["tanh", "sigmoid", "linear"])
def test_jacobian_product_norms_match_brute_force(nonlinearity):
    params, xs, h0, _ = setup("rnn", seed=3)
    hs, dphis = G.elman_forward(params, xs, h0, nonlinearity)
    phi = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda a: a}[nonlinearity]
    w = {k: torch.from_numpy(v) for k, v in params.items()}
    step = lambda x, h: phi(x @ w["W_ih"].T + w["b_ih"] + h @ w["W_hh"].T + w["b_hh"])
    x_t = torch.from_numpy(xs)
    h = torch.from_numpy(h0)
    states = [h]
    for x in x_t:
        h = step(x, h)
        states.append(h)
    np.testing.assert_allclose(hs, torch.stack(states[1:]).numpy(), rtol=1e-12, atol=1e-15)
    expected = np.empty((T + 1, B))
    for t in range(T + 1):
        for b in range(B):
            def last(r):
                for k in range(t, T):
                    r = step(x_t[k, b], r)
                return r
            expected[t, b] = np.linalg.norm(torch.autograd.functional.jacobian(last, states[t][b]).numpy(), ord=2)
    np.testing.assert_allclose(G.jacobian_product_norms(params["W_hh"], dphis), expected, rtol=1e-10)
    if nonlinearity == "tanh":  # the same numbers as the package's BPTT
        np.testing.assert_allclose(G.jacobian_product_norms(params["W_hh"], dphis),
                                   G.jacobian_norms("rnn", params, xs, h0), rtol=1e-12)
        np.testing.assert_allclose(hs, lnp.rnn_forward(xs, params, h0)[0])


def test_linear_rnn_jacobian_is_a_matrix_power():
    params, xs, _, _ = setup("rnn")
    _, dphis = G.elman_forward(params, xs, None, "linear")
    norms = G.jacobian_product_norms(params["W_hh"], dphis)
    for t in range(T + 1):
        np.testing.assert_allclose(norms[t], np.linalg.norm(np.linalg.matrix_power(params["W_hh"], T - t), ord=2))


@pytest.mark.parametrize("nonlinearity,sigma", [("tanh", 0.5), ("tanh", 1.0), ("tanh", 3.0),
                                                ("sigmoid", 2.0), ("sigmoid", 4.0), ("sigmoid", 10.0)])
def test_bound_holds_at_every_distance(nonlinearity, sigma):
    rng = np.random.default_rng(4)
    params = lnp.init_rnn_params(D, 16, rng=rng)
    params["W_hh"] = G.scale_spectral_norm(params["W_hh"], sigma)
    xs = rng.standard_normal((30, 5, D))
    _, dphis = G.elman_forward(params, xs, None, nonlinearity)
    norms = G.jacobian_product_norms(params["W_hh"], dphis)
    distances = 30 - np.arange(31)
    bound = (G.GAMMA[nonlinearity] * sigma) ** distances
    assert np.all(norms <= bound[:, None] * (1 + 1e-9))
    assert G.fit_log_slope(distances, norms.mean(axis=1)) <= G.bound_log_slope(sigma, nonlinearity)


def test_scale_spectral_norm_is_exact_and_keeps_directions():
    rng = np.random.default_rng(5)
    W = rng.standard_normal((6, 6))
    for sigma in (0.0, 0.25, 1.0, 7.5):
        V = G.scale_spectral_norm(W, sigma)
        assert abs(G.spectral_norm(V) - sigma) <= 1e-12 * max(sigma, 1)
        np.testing.assert_allclose(V, W * (sigma / np.linalg.svd(W, compute_uv=False)[0]), rtol=1e-14)
    W0 = W.copy()
    G.scale_spectral_norm(W, 2.0)
    np.testing.assert_array_equal(W, W0)  # no in-place change


def test_spectral_radius_versus_norm_on_the_nilpotent_example():
    W = np.array([[8.0, 8.0], [-8.0, -8.0]])
    assert G.spectral_radius(W) == pytest.approx(0.0, abs=1e-6)  # W @ W = 0: both eigenvalues 0
    assert G.spectral_norm(W) == pytest.approx(16.0, rel=1e-14)
    np.testing.assert_array_equal(W @ W, np.zeros((2, 2)))


def test_fit_log_slope_and_bound_slope():
    d = np.arange(10.0)
    assert G.fit_log_slope(d, 3.0 * 0.8**d) == pytest.approx(np.log(0.8), rel=1e-12)
    assert G.bound_log_slope(2.0, "tanh") == pytest.approx(np.log(2.0))
    assert G.bound_log_slope(2.0, "sigmoid") == pytest.approx(np.log(0.5))
    assert G.bound_log_slope(4.0, "sigmoid") == 0.0


def grads_example():
    rng = np.random.default_rng(6)
    return {"W": rng.standard_normal((3, 4)) * 10, "b": rng.standard_normal(3) * 10}


def test_clip_grad_norm_matches_torch_and_keeps_direction():
    grads = grads_example()
    before = {k: v.copy() for k, v in grads.items()}
    clipped, total = G.clip_grad_norm(grads, 1.0)
    tensors = [torch.from_numpy(v.copy()) for v in grads.values()]
    for t in tensors:
        t.grad = t.clone()
    torch_total = torch.nn.utils.clip_grad_norm_(tensors, 1.0)
    assert total == pytest.approx(float(torch_total), rel=1e-12)
    for ours, t in zip(clipped.values(), tensors):
        np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-5)  # torch divides by ‖g‖ + 1e-6
    assert G.global_norm(clipped) == pytest.approx(1.0, rel=1e-12)
    for k in grads:
        np.testing.assert_array_equal(grads[k], before[k])  # inputs untouched
        np.testing.assert_allclose(clipped[k], grads[k] / total, rtol=1e-12)
    same, total2 = G.clip_grad_norm(grads, 10 * total)  # below the threshold: unchanged
    assert total2 == total
    for k in grads:
        np.testing.assert_array_equal(same[k], grads[k])


def test_clip_grad_value_matches_torch_and_changes_direction():
    grads = grads_example()
    clipped = G.clip_grad_value(grads, 5.0)
    for k, g in grads.items():
        t = torch.from_numpy(g.copy())
        t.grad = t.clone()
        torch.nn.utils.clip_grad_value_([t], 5.0)
        np.testing.assert_array_equal(clipped[k], t.grad.numpy())
        assert np.all(np.abs(clipped[k]) <= 5.0)
    flat = lambda d: np.concatenate([v.ravel() for v in d.values()])
    cos = flat(grads) @ flat(clipped) / (np.linalg.norm(flat(grads)) * np.linalg.norm(flat(clipped)))
    assert cos < 0.999  # element-wise clipping turns the vector


def test_bad_inputs_raise_clear_errors():
    params, xs, h0, _ = setup("rnn")
    with pytest.raises(ValueError, match="model must be 'rnn', 'lstm' or 'gru'; got 'elman'"):
        G.jacobian_norms("elman", params, xs)
    with pytest.raises(ValueError, match="wrt must be 'h'.*got wrt='c' for model 'rnn'"):
        G.jacobian_norms("rnn", params, xs, wrt="c")
    with pytest.raises(ValueError, match="ord must be 2 or 'fro'; got 1"):
        G.jacobian_norms("rnn", params, xs, ord=1)
    with pytest.raises(ValueError, match="c0 and dc_T belong to the LSTM only"):
        G.state_gradients("rnn", params, xs, c0=h0, dh_T=h0)
    with pytest.raises(ValueError, match=r"dh_T must have shape \(B, H\).*got shape \(3, 4\)"):
        G.state_gradients("rnn", params, xs, dh_T=np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"xs must have shape \(T, B, D\) \(3 dimensions\); got shape \(7, 3\)"):
        G.jacobian_norms("rnn", params, xs[:, 0])
    with pytest.raises(ValueError, match="LSTM params must have keys"):
        G.jacobian_norms("lstm", {"W_hh": params["W_hh"]}, xs)
    with pytest.raises(ValueError, match=r"params\['W_hh'\] must have shape \(4H, H\)"):
        G.jacobian_norms("lstm", params, xs)
    with pytest.raises(ValueError, match="wrt must be 'h'.*got wrt='x'"):
        G.hidden_gradient_norms("rnn", params, xs, wrt="x")
    with pytest.raises(ValueError, match="nonlinearity must be one of.*got 'relu'"):
        G.elman_forward(params, xs, nonlinearity="relu")
    with pytest.raises(ValueError, match=r"dphis must have shape \(T, B, H\) with H = 4; got shape \(7, 2, 3\)"):
        G.jacobian_product_norms(params["W_hh"], np.ones((T, B, 3)))
    with pytest.raises(ValueError, match=r"W_hh must have shape \(H, H\)"):
        G.jacobian_product_norms(np.ones((4, 3)), np.ones((T, B, 4)))
    with pytest.raises(ValueError, match="sigma_max must be a finite number >= 0; got -1"):
        G.scale_spectral_norm(params["W_hh"], -1)
    with pytest.raises(TypeError, match="sigma_max must be a real number; got str"):
        G.scale_spectral_norm(params["W_hh"], "2")
    with pytest.raises(ValueError, match="W must be nonzero to be rescaled"):
        G.scale_spectral_norm(np.zeros((3, 3)), 1.0)
    with pytest.raises(TypeError, match="W must have dtype float32 or float64; got dtype int64"):
        G.spectral_norm(np.eye(3, dtype=np.int64))
    with pytest.raises(ValueError, match=r"W must have shape \(N, N\)"):
        G.spectral_radius(np.ones((2, 3)))
    with pytest.raises(ValueError, match="sigma_max must be a finite number > 0; got 0"):
        G.bound_log_slope(0, "tanh")
    with pytest.raises(ValueError, match="norms must be finite and > 0.*got 1 entries"):
        G.fit_log_slope([0, 1, 2], [1.0, 0.0, 0.5])
    with pytest.raises(ValueError, match=r"1-D of one length >= 2; got shapes \(3,\) and \(2,\)"):
        G.fit_log_slope([0, 1, 2], [1.0, 0.5])
    with pytest.raises(TypeError, match="grads must be a non-empty dict name → array; got list"):
        G.clip_grad_norm([np.ones(3)], 1.0)
    with pytest.raises(ValueError, match="max_norm must be a finite number > 0; got 0"):
        G.clip_grad_norm({"W": np.ones(3)}, 0)
    with pytest.raises(ValueError, match="clip_value must be a finite number > 0; got inf"):
        G.clip_grad_value({"W": np.ones(3)}, float("inf"))
    with pytest.raises(TypeError, match=r"grads\['W'\] must have dtype float32 or float64; got dtype int64"):
        G.clip_grad_value({"W": np.ones(3, dtype=np.int64)}, 1.0)
