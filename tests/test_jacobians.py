"""The LSTM's step Jacobians (lstm_course.jacobians) against torch autograd, float64."""
import numpy as np
import pytest
import torch

from lstm_course.convert import to_torch
from lstm_course.jacobians import (cell_jacobians_along, cell_sensitivities, full_cell_jacobian,
                                   lstm_step_jacobians, state_jacobian)
from lstm_course.numpy import init_lstm_params, lstm_forward, lstm_step_backward, lstm_step_forward, relative_error

D, H = 3, 4


def _setup(seed=0, B=2, scale=1.0):
    rng = np.random.default_rng(seed)
    params = init_lstm_params(D, H, rng=rng)
    params = {k: v * scale for k, v in params.items()}
    x = rng.standard_normal((B, D))
    h_prev = 0.5 * rng.standard_normal((B, H))
    c_prev = rng.standard_normal((B, H))
    return params, x, h_prev, c_prev


def _torch_cell(params):
    cell = torch.nn.LSTMCell(D, H).double()
    to_torch(params, cell)
    return cell


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_step_blocks_match_autograd(seed):
    params, x, h_prev, c_prev = _setup(seed, scale=3.0)  # large weights: big off-diagonal paths
    J = lstm_step_jacobians(x, h_prev, c_prev, params)
    cell = _torch_cell(params)
    for b in range(x.shape[0]):
        xb = torch.tensor(x[b:b + 1])

        def step(h, c):
            h_t, c_t = cell(xb, (h[None], c[None]))
            return h_t[0], c_t[0]

        (hh, hc), (ch, cc) = torch.autograd.functional.jacobian(
            step, (torch.tensor(h_prev[b]), torch.tensor(c_prev[b])))
        for mine, ref in ((J.dh_dh, hh), (J.dh_dc, hc), (J.dc_dh, ch), (J.dc_dc, cc)):
            assert relative_error(mine[b], ref.numpy()) < 1e-13


def test_direct_block_is_diag_forget_gate():
    params, x, h_prev, c_prev = _setup()
    _, _, cache = lstm_step_forward(x, h_prev, c_prev, params)
    f = cache.gates[:, H:2 * H]
    J = lstm_step_jacobians(x, h_prev, c_prev, params)
    for b in range(x.shape[0]):
        np.testing.assert_array_equal(J.dc_dc[b], np.diag(f[b]))


def test_state_jacobian_layout():
    params, x, h_prev, c_prev = _setup()
    J = lstm_step_jacobians(x, h_prev, c_prev, params)
    S = state_jacobian(x, h_prev, c_prev, params)
    assert S.shape == (2, 2 * H, 2 * H)
    np.testing.assert_array_equal(S[:, :H, H:], J.dh_dc)
    np.testing.assert_array_equal(S[:, H:, :H], J.dc_dh)


def test_full_cell_jacobian_matches_autograd_and_differs_from_diag_f():
    params, x, _, c_prev = _setup(3, scale=3.0)
    rng = np.random.default_rng(5)
    o_prev = rng.uniform(0.2, 0.9, size=c_prev.shape)
    full = full_cell_jacobian(x, c_prev, o_prev, params)
    cell = _torch_cell(params)
    for b in range(x.shape[0]):
        o_b = torch.tensor(o_prev[b])

        def c_next(c):
            h = o_b * torch.tanh(c)  # h_{t-1} is the read-out of c_{t-1}
            return cell(torch.tensor(x[b:b + 1]), (h[None], c[None]))[1][0]

        ref = torch.autograd.functional.jacobian(c_next, torch.tensor(c_prev[b])).numpy()
        assert relative_error(full[b], ref) < 1e-13
    _, _, cache = lstm_step_forward(x, o_prev * np.tanh(c_prev), c_prev, params)
    gap = relative_error(full[0], np.diag(cache.gates[0, H:2 * H]))
    assert gap > 0.05  # the paths through h_{t-1} are not negligible for these weights


def test_full_cell_jacobian_is_what_bptt_accumulates():
    """Vector-Jacobian form: the gradient BPTT collects on c_{t-1} from δc_t equals full^T δc_t."""
    params, x, _, c_prev = _setup(4)
    o_prev = np.full_like(c_prev, 0.7)
    h_prev = o_prev * np.tanh(c_prev)
    _, _, cache = lstm_step_forward(x, h_prev, c_prev, params)
    dc = np.random.default_rng(9).standard_normal(c_prev.shape)
    _, dh_prev, dc_prev_direct, _ = lstm_step_backward(np.zeros_like(dc), dc, cache)
    total = dc_prev_direct + dh_prev * o_prev * (1.0 - np.tanh(c_prev) ** 2)
    full = full_cell_jacobian(x, c_prev, o_prev, params)
    np.testing.assert_allclose(total, np.einsum("bjk,bj->bk", full, dc), rtol=1e-12, atol=1e-14)


def test_cell_jacobians_along_matches_stepwise():
    rng = np.random.default_rng(6)
    params = init_lstm_params(D, H, rng=rng)
    xs = rng.standard_normal((5, 2, D))
    direct, full = cell_jacobians_along(xs, params)
    assert direct.shape == full.shape == (4, 2, H, H)
    hs, _, cache = lstm_forward(xs, params)
    for t in range(1, 5):
        ref = full_cell_jacobian(xs[t], cache.cs[t - 1], cache.gates[t - 1][:, 3 * H:], params)
        np.testing.assert_allclose(full[t - 1], ref, rtol=1e-13, atol=1e-15)


def test_cell_sensitivities_match_autograd_of_injected_perturbations():
    T = 6
    rng = np.random.default_rng(7)
    params = {k: 2.0 * v for k, v in init_lstm_params(D, H, rng=rng).items()}
    xs = rng.standard_normal((T, 1, D))
    direct, total = cell_sensitivities(xs, params)
    cell = _torch_cell(params)
    xt = torch.tensor(xs)

    def c_last(deltas):  # deltas (T, H) added to c_1 … c_T; h_t = o_t ⊙ tanh(c_t + δ_t) sees them
        h = torch.zeros(1, H, dtype=torch.float64)
        c = torch.zeros(1, H, dtype=torch.float64)
        W_ih, W_hh = cell.weight_ih, cell.weight_hh
        b = cell.bias_ih + cell.bias_hh
        for t in range(T):
            a = xt[t] @ W_ih.T + h @ W_hh.T + b
            i, f, g, o = a.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g) + deltas[t]
            h = torch.sigmoid(o) * torch.tanh(c)
        return c[0]

    ref = torch.autograd.functional.jacobian(c_last, torch.zeros(T, H, dtype=torch.float64))  # (H, T, H)
    for t in range(T):
        assert relative_error(total[t, 0], ref[:, t, :].numpy()) < 1e-12
    np.testing.assert_array_equal(total[-1, 0], np.eye(H))
    _, _, cache = lstm_forward(xs, params)
    f = cache.gates[:, 0, H:2 * H]
    np.testing.assert_allclose(np.diag(direct[0, 0]), f[1:].prod(axis=0), rtol=1e-14)


def test_bad_input_messages():
    params, x, h_prev, c_prev = _setup()
    with pytest.raises(ValueError, match=r"o_prev must be an output gate, entries in \[0, 1\]"):
        full_cell_jacobian(x, c_prev, c_prev * 5, params)
    with pytest.raises(ValueError, match=r"o_prev must have shape"):
        full_cell_jacobian(x, c_prev, np.full((2, H + 1), 0.5), params)
    with pytest.raises(ValueError, match=r"h_prev must have shape"):
        lstm_step_jacobians(x, h_prev[:, :2], c_prev, params)
    with pytest.raises(TypeError, match=r"x must have dtype float32 or float64; got dtype int64"):
        state_jacobian(np.ones((2, D), dtype=np.int64), h_prev, c_prev, params)
    with pytest.raises(ValueError, match=r"needs T >= 2 steps"):
        cell_jacobians_along(np.ones((1, 2, D)), params)
