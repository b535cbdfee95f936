"""The GRU's two forms: reset_after=False is Cho et al.'s equations, differentiable, and refused by weight transfer."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lstm_course.torch import GRU, GRUCell, gru_cell_step

F64 = torch.float64


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def cho_gru(xs, h0, W_ih, W_hh, b_ih=None, b_hh=None):
    """Cho et al. (2014), one gate per line, one step at a time, in NumPy: ``(T, B, D) -> (T, B, H)``.

    n_t = tanh(W_in x_t + b_in + W_hn (r_t * h_{t-1}) + b_hn): the reset gate scales the state
    before the recurrent product. Written independently of the package (no fused blocks).
    """
    H = W_hh.shape[1]
    W_ir, W_iz, W_in = W_ih[:H], W_ih[H : 2 * H], W_ih[2 * H :]
    W_hr, W_hz, W_hn = W_hh[:H], W_hh[H : 2 * H], W_hh[2 * H :]
    zeros = np.zeros(3 * H)
    b_ih = zeros if b_ih is None else b_ih
    b_hh = zeros if b_hh is None else b_hh
    b_ir, b_iz, b_in = b_ih[:H], b_ih[H : 2 * H], b_ih[2 * H :]
    b_hr, b_hz, b_hn = b_hh[:H], b_hh[H : 2 * H], b_hh[2 * H :]
    h, hs = h0, []
    for x in xs:
        r = _sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
        z = _sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
        n = np.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
        h = (1.0 - z) * n + z * h
        hs.append(h)
    return np.stack(hs)


def _params(module):
    """``(W_ih, W_hh, b_ih, b_hh)`` as NumPy arrays (biases None when absent)."""
    return [None if p is None else p.detach().numpy() for p in module._weights()]


def _assert_close(a, b, tol=1e-12):
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else a
    err = np.abs(a - b).max() / max(1.0, np.abs(b).max())
    assert err <= tol, err


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("layout", ["time_major", "batch_first", "unbatched"])
def test_gru_reset_after_false_equals_cho_equations(bias, layout):
    T, B, D, H = 7, 3, 4, 5
    torch.manual_seed(0)
    gru = GRU(D, H, bias=bias, batch_first=layout == "batch_first", reset_after=False, dtype=F64)
    gen = torch.Generator().manual_seed(1)
    xs = torch.randn(T, B, D, generator=gen, dtype=F64)
    h0 = torch.randn(B, H, generator=gen, dtype=F64)
    expected = cho_gru(xs.numpy(), h0.numpy(), *_params(gru))  # (T, B, H)
    if layout == "time_major":
        out, h_n = gru(xs, h0.unsqueeze(0))
    elif layout == "batch_first":
        out, h_n = gru(xs.transpose(0, 1), h0.unsqueeze(0))
        out = out.transpose(0, 1)
    else:  # one sequence at a time
        outs = [gru(xs[:, b], h0[b : b + 1]) for b in range(B)]
        out = torch.stack([o for o, _ in outs], dim=1)
        h_n = torch.stack([h for _, h in outs], dim=1)
    _assert_close(out, expected)
    _assert_close(h_n[0], expected[-1])
    if layout == "time_major":  # h_0 = 0 by default
        _assert_close(gru(xs)[0], cho_gru(xs.numpy(), np.zeros((B, H)), *_params(gru)))


@pytest.mark.parametrize("bias", [True, False])
def test_cell_and_step_reset_after_false_equal_cho_equations(bias):
    B, D, H = 3, 4, 5
    torch.manual_seed(2)
    cell = GRUCell(D, H, bias=bias, reset_after=False, dtype=F64)
    gen = torch.Generator().manual_seed(3)
    xs = torch.randn(6, B, D, generator=gen, dtype=F64)
    h = torch.randn(B, H, generator=gen, dtype=F64)
    expected = cho_gru(xs.numpy(), h.numpy(), *_params(cell))
    W_ih, W_hh, b_ih, b_hh = cell._weights()
    h_step, h_one = h, h[0]  # (B, H) and one unbatched sample (H,)
    for t in range(6):
        h = cell(xs[t], h)
        _assert_close(h, expected[t])
        h_one = cell(xs[t, 0], h_one)
        _assert_close(h_one, expected[t][0])
        # the step function, with b_hh passed separately (not folded into ax)
        ax = xs[t] @ W_ih.t() + (0.0 if b_ih is None else b_ih)
        h_step = gru_cell_step(ax, h_step, W_hh, b_hh, reset_after=False)
        _assert_close(h_step, expected[t])


@pytest.mark.parametrize("cls", [GRU, GRUCell])
def test_gradcheck_float64_reset_after_false(cls):
    torch.manual_seed(4)
    module = cls(2, 3, reset_after=False, dtype=F64)
    gen = torch.Generator().manual_seed(5)
    shape, s_shape = ((4, 2, 2), (1, 2, 3)) if cls is GRU else ((2, 2), (2, 3))
    x, h0 = (torch.randn(s, generator=gen, dtype=F64, requires_grad=True) for s in (shape, s_shape))
    names = [n for n, _ in module.named_parameters()]

    def f(x, h0, *ps):  # the module as a function of its inputs and of every parameter
        out = torch.func.functional_call(module, dict(zip(names, ps)), (x, h0))
        return torch.cat([t.reshape(-1) for t in (out if cls is GRU else (out,))])

    inputs = (x, h0, *(p.detach().clone().requires_grad_(True) for p in module.parameters()))
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("cls", [GRU, GRUCell])
def test_the_two_forms_differ_for_the_same_weights_unless_r_is_one(cls):
    torch.manual_seed(6)
    torch_form = cls(3, 6, dtype=F64)
    cho = cls(3, 6, reset_after=False, dtype=F64)
    cho.load_state_dict(torch_form.state_dict())  # same names and shapes: the weights transfer
    assert [n for n, _ in cho.named_parameters()] == [n for n, _ in torch_form.named_parameters()]
    x = torch.randn((5, 4, 3) if cls is GRU else (4, 3), generator=torch.Generator().manual_seed(7), dtype=F64)
    first = (lambda y: y[0]) if cls is GRU else (lambda y: y)
    with torch.no_grad():
        differ = float((first(torch_form(x)) - first(cho(x))).abs().max())
        for m in (torch_form, cho):  # reset gate's bias +40: r = sigmoid(>30) = 1.0 in float64
            m._weights()[3][:6] += 40.0
        agree = float((first(torch_form(x)) - first(cho(x))).abs().max())
    assert differ > 1e-2, differ
    assert agree < 1e-12, agree


def test_default_is_torch_form_and_equals_nn_gru():
    torch.manual_seed(8)
    ref = nn.GRU(3, 5, dtype=F64)
    ours = GRU.from_torch(ref, reset_after=True)
    assert ours.reset_after is True and GRU.from_torch(ref).reset_after is True
    x = torch.randn(6, 2, 3, dtype=F64)
    for a, b in zip(ours(x), ref(x)):
        _assert_close(a, b.detach().numpy(), tol=1e-13)
    assert "reset_after" not in repr(ours) and "reset_after=False" in repr(GRU(3, 5, reset_after=False))


@pytest.mark.parametrize("cls, nn_cls", [(GRU, nn.GRU), (GRUCell, nn.GRUCell)])
def test_weight_transfer_refuses_cho_form(cls, nn_cls):
    message = rf"torch.nn.{nn_cls.__name__} cannot express Cho et al.'s GRU.*needs reset_after=True; got reset_after=False"
    with pytest.raises(ValueError, match=message):
        cls(3, 4, reset_after=False).to_torch()
    with pytest.raises(ValueError, match=message):
        cls.from_torch(nn_cls(3, 4), reset_after=False)
    assert type(cls(3, 4).to_torch()) is nn_cls  # the default still transfers


@pytest.mark.parametrize("bad", [1, 0, "False", None, np.bool_(False)])
@pytest.mark.parametrize("cls", [GRU, GRUCell])
def test_reset_after_must_be_a_bool(cls, bad):
    with pytest.raises(TypeError, match=rf"reset_after must be True or False; got {type(bad).__name__}"):
        cls(3, 4, reset_after=bad)


def test_reset_after_is_keyword_only_and_checked_in_the_step_function():
    with pytest.raises(TypeError):
        GRU(3, 4, True, False, False)  # fifth positional argument: reset_after is keyword-only
    with pytest.raises(TypeError):
        GRUCell(3, 4, True, False)
    ax, h, W_hh = torch.zeros(2, 12), torch.zeros(2, 4), torch.zeros(12, 4)
    with pytest.raises(TypeError, match="reset_after must be True or False; got int 0"):
        gru_cell_step(ax, h, W_hh, reset_after=0)
