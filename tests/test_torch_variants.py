"""The LSTM variants (peephole, CIFG, no input/forget/output gate, no tanh, forget bias) against explicit equations."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from lstm_course import convert
from lstm_course.torch import LSTM, LSTMCell

VARIANTS = {
    "standard": {},
    "peephole": {"peephole": True},
    "coupled": {"coupled": True},
    "peephole_coupled": {"peephole": True, "coupled": True},
    "no_forget_gate": {"forget_gate": False},
    "peephole_no_forget_gate": {"peephole": True, "forget_gate": False},
    "no_output_activation": {"output_activation": False},
    "forget_bias": {"forget_bias": 2.0},
    "everything": {"peephole": True, "output_activation": False, "forget_bias": -1.0},
    "no_input_gate": {"input_gate": False},
    "no_output_gate": {"output_gate": False},
    "no_input_activation": {"input_activation": False},
    "peephole_nig_nog": {"peephole": True, "input_gate": False, "output_gate": False},
    "peephole_nog_niaf_cifg": {"peephole": True, "output_gate": False, "input_activation": False,
                               "coupled": True},
}


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def explicit_lstm(xs, h0, c0, p, peephole=False, coupled=False, forget_gate=True, output_activation=True,
                  forget_bias=None, input_gate=True, output_gate=True, input_activation=True):
    """The variant equations written independently: one weight matrix per gate, NumPy float64, one step at a time."""
    H = h0.shape[1]
    W = {g: (p["W_ih"][k * H:(k + 1) * H], p["W_hh"][k * H:(k + 1) * H], p["b_ih"][k * H:(k + 1) * H]
             + p["b_hh"][k * H:(k + 1) * H]) for k, g in enumerate("ifgo")}
    w_ci, w_cf, w_co = (p.get(n, np.zeros(H)) if peephole else np.zeros(H) for n in ("w_ci", "w_cf", "w_co"))

    def pre(g, x, h):
        W_x, W_h, b = W[g]
        return x @ W_x.T + h @ W_h.T + b

    h, c, hs, cs = h0, c0, [], []
    for x in xs:
        i = _sigmoid(pre("i", x, h) + w_ci * c) if input_gate else np.ones_like(c)
        if not forget_gate:
            f = np.ones_like(i)
        elif coupled:
            f = 1.0 - i
        else:
            f = _sigmoid(pre("f", x, h) + w_cf * c)
        g = np.tanh(pre("g", x, h)) if input_activation else pre("g", x, h)
        c = f * c + i * g
        o = _sigmoid(pre("o", x, h) + w_co * c) if output_gate else np.ones_like(c)
        h = o * (np.tanh(c) if output_activation else c)
        hs.append(h)
        cs.append(c)
    return np.stack(hs), np.stack(cs)


def _numpy_params(m):
    p = convert.from_torch(m, dtype=next(m.parameters()).detach().numpy().dtype)
    for k, n in (("w_ci", "weight_ci"), ("w_cf", "weight_cf"), ("w_co", "weight_co")):
        if getattr(m, n) is not None:
            p[k] = getattr(m, n).detach().numpy()
    return p


def _make(cls, options, D=3, H=4, seed=0, backward=None):
    torch.manual_seed(seed)
    kwargs = {} if backward is None else {"backward": backward}
    return cls(D, H, dtype=torch.float64, **options, **kwargs)


@pytest.mark.parametrize("name", VARIANTS)
def test_sequence_module_equals_explicit_equations(name):
    options = VARIANTS[name]
    lstm = _make(LSTM, options)
    gen = torch.Generator().manual_seed(1)
    x, h0, c0 = (torch.randn(s, generator=gen, dtype=torch.float64) for s in ((6, 2, 3), (1, 2, 4), (1, 2, 4)))
    out, (h_n, c_n) = lstm(x, (h0, c0))
    hs, cs = explicit_lstm(x.numpy(), h0[0].numpy(), c0[0].numpy(), _numpy_params(lstm), **options)
    np.testing.assert_allclose(out.detach().numpy(), hs, rtol=0, atol=1e-13)
    np.testing.assert_allclose(h_n[0].detach().numpy(), hs[-1], rtol=0, atol=1e-13)
    np.testing.assert_allclose(c_n[0].detach().numpy(), cs[-1], rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", VARIANTS)
def test_cell_equals_explicit_equations_step_by_step(name):
    options = VARIANTS[name]
    cell = _make(LSTMCell, options, seed=3)
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(5, 2, 3, generator=gen, dtype=torch.float64)
    h, c = torch.randn(2, 4, generator=gen, dtype=torch.float64), torch.randn(2, 4, generator=gen, dtype=torch.float64)
    hs, cs = explicit_lstm(x.numpy(), h.numpy(), c.numpy(), _numpy_params(cell), **options)
    for t in range(5):
        h, c = cell(x[t], (h, c))
        np.testing.assert_allclose(h.detach().numpy(), hs[t], rtol=0, atol=1e-13)
        np.testing.assert_allclose(c.detach().numpy(), cs[t], rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("cls", [LSTM, LSTMCell])
def test_variant_gradcheck_float64(name, cls):
    module = _make(cls, VARIANTS[name], D=2, H=3, seed=5)
    gen = torch.Generator().manual_seed(6)
    shape, s_shape = ((4, 2, 2), (1, 2, 3)) if cls is LSTM else ((2, 2), (2, 3))
    x, h0, c0 = (torch.randn(s, generator=gen, dtype=torch.float64, requires_grad=True)
                 for s in (shape, s_shape, s_shape))
    names = [n for n, _ in module.named_parameters()]

    def f(x, h0, c0, *ps):  # the module as a function of its inputs and of every parameter
        out = torch.func.functional_call(module, dict(zip(names, ps)), (x, (h0, c0)))
        return torch.cat([t.reshape(-1) for t in ((out[0], *out[1]) if cls is LSTM else out)])

    inputs = (x, h0, c0, *(p.detach().clone().requires_grad_(True) for p in module.parameters()))
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("cls, nn_cls", [(LSTM, nn.LSTM), (LSTMCell, nn.LSTMCell)])
def test_defaults_equal_torch_nn_and_forget_bias_transfers(cls, nn_cls):
    for options in ({}, {"forget_bias": 1.5}):
        ours = _make(cls, options)
        ref = ours.to_torch()
        assert type(ref) is nn_cls
        x = torch.randn((5, 2, 3) if cls is LSTM else (2, 3), dtype=torch.float64)
        y_ours, y_ref = ours(x), ref(x)
        flat = (lambda y: [y[0], *y[1]]) if cls is LSTM else list
        for a, b in zip(flat(y_ours), flat(y_ref)):
            assert torch.allclose(a, b, atol=1e-13, rtol=0)


def test_parameters_of_each_variant():
    H, D = 4, 3
    peep = _make(LSTM, {"peephole": True})
    names = [n for n, _ in peep.named_parameters()]
    assert names == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ci", "weight_cf", "weight_co"]
    assert all(getattr(peep, n).shape == (H,) for n in ("weight_ci", "weight_cf", "weight_co"))
    cifg = _make(LSTMCell, {"peephole": True, "coupled": True})
    assert cifg.weight_cf is None and cifg.weight_ci.shape == (H,)
    fb = _make(LSTM, {"forget_bias": 3.0})
    assert torch.all(fb.bias_ih_l0[H:2 * H] == 3.0) and torch.all(fb.bias_hh_l0[H:2 * H] == 0.0)
    fb.reset_parameters()
    assert torch.all(fb.bias_ih_l0[H:2 * H] == 3.0)
    standard = _make(LSTM, {})
    assert standard.is_standard and standard.num_used_parameters() == 4 * H * (D + H) + 8 * H
    assert peep.num_used_parameters() == standard.num_used_parameters() + 3 * H


@pytest.mark.parametrize("options", [{"coupled": True}, {"forget_gate": False}])
def test_unused_forget_rows_are_zero_with_zero_gradient(options):
    H, D = 4, 3
    lstm = _make(LSTM, options)
    rows = slice(H, 2 * H)
    for p in (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0):
        assert torch.all(p[rows] == 0)
    out, (h_n, c_n) = lstm(torch.randn(5, 2, 3, dtype=torch.float64))
    (out.sum() + c_n.sum()).backward()
    for p in (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0):
        assert torch.all(p.grad[rows] == 0) and p.grad[:H].abs().sum() > 0
    assert lstm.num_used_parameters() == 3 * H * (D + H) + 6 * H


def test_no_forget_gate_cell_accumulates():
    """The 1997 cell: c_t − c_{t−1} = i_t ⊙ g_t exactly, so the cell state is a running sum."""
    cell = _make(LSTMCell, {"forget_gate": False})
    x, h, c = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    _, c_new = cell(x, (h, c))
    a = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
    i, g = torch.sigmoid(a[:, :4]), torch.tanh(a[:, 8:12])
    assert torch.allclose(c_new - c, i * g, atol=1e-14, rtol=0)


@pytest.mark.parametrize("cls", [LSTM, LSTMCell])
def test_transfer_refuses_inexpressible_variants(cls):
    for key, value in (("peephole", True), ("coupled", True), ("forget_gate", False), ("output_activation", False)):
        m = cls(3, 4, **{key: value})
        assert not m.is_standard
        with pytest.raises(ValueError, match=f"cannot express {key}={value}"):
            m.to_torch()
    with pytest.raises(TypeError, match="takes no coupled"):
        cls.from_torch((nn.LSTM if cls is LSTM else nn.LSTMCell)(3, 4), coupled=True)


def test_bad_variant_options():
    with pytest.raises(ValueError, match="coupled=True .* needs a forget gate; got forget_gate=False"):
        LSTM(3, 4, coupled=True, forget_gate=False)
    with pytest.raises(ValueError, match="needs bias=True; got bias=False"):
        LSTMCell(3, 4, bias=False, forget_bias=1.0)
    with pytest.raises(ValueError, match="no forget gate of its own"):
        LSTM(3, 4, coupled=True, forget_bias=1.0)
    for bad in (float("nan"), "1.0", True):
        with pytest.raises(TypeError, match="forget_bias must be None or a finite number; got"):
            LSTM(3, 4, forget_bias=bad)
    with pytest.raises(TypeError, match="peephole must be True or False; got int 1"):
        LSTMCell(3, 4, peephole=1)


def test_every_combination_runs_and_repr_names_it():
    for peephole, coupled, forget_gate, output_activation in itertools.product([False, True], repeat=4):
        if coupled and not forget_gate:
            continue
        m = LSTM(2, 3, peephole=peephole, coupled=coupled, forget_gate=forget_gate,
                 output_activation=output_activation)
        out, (h, c) = m(torch.randn(4, 2, 2))
        assert out.shape == (4, 2, 3) and torch.isfinite(out).all()
        assert ("peephole=True" in repr(m)) == peephole and ("coupled=True" in repr(m)) == coupled


@pytest.mark.parametrize("option, block", [("input_gate", 0), ("output_gate", 3)])
def test_missing_gate_rows_are_zero_unused_and_not_counted(option, block):
    H, D = 4, 3
    m = _make(LSTM, {option: False}, D=D, H=H, seed=2)
    rows = slice(block * H, (block + 1) * H)
    x = torch.randn(5, 2, D, dtype=torch.float64)
    m(x)[0].pow(2).sum().backward()
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        assert torch.all(getattr(m, name)[rows] == 0) and torch.all(getattr(m, name).grad[rows] == 0), name
    assert m.num_used_parameters() == 3 * H * (D + H) + 6 * H
    peep = _make(LSTM, {option: False, "peephole": True})
    assert (peep.weight_ci is None) == (option == "input_gate")
    assert (peep.weight_co is None) == (option == "output_gate")
    assert f"{option}=False" in repr(m) and not m.is_standard


def test_input_activation_off_lets_the_candidate_leave_minus_one_one():
    cell = _make(LSTMCell, {"input_activation": False, "input_gate": False, "forget_gate": False}, D=1, H=1)
    with torch.no_grad():
        cell.weight_ih.zero_()
        cell.bias_ih.zero_()
        cell.bias_hh.zero_()
        cell.weight_hh.zero_()
        cell.weight_ih[2, 0] = 1.0  # g = x exactly
    h, c = cell(torch.tensor([[5.0]], dtype=torch.float64))
    assert c.item() == 5.0  # i = 1, no tanh: the candidate 5 is written as it is


def test_coupled_needs_an_input_gate_and_new_options_refuse_transfer():
    with pytest.raises(ValueError, match="coupled=True .* needs an input gate; got input_gate=False"):
        LSTM(3, 4, coupled=True, input_gate=False)
    with pytest.raises(TypeError, match="output_gate must be True or False"):
        LSTMCell(3, 4, output_gate="no")
    with pytest.raises(ValueError, match="cannot express input_activation=False"):
        LSTM(3, 4, input_activation=False).to_torch()
