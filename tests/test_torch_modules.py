"""lstm_course.torch modules equal their torch.nn twins after from_torch: outputs, states and every gradient."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lstm_course import torch as ltorch

LAYERS = {"rnn": (ltorch.RNN, nn.RNN), "lstm": (ltorch.LSTM, nn.LSTM), "gru": (ltorch.GRU, nn.GRU)}
CELLS = {"rnn": (ltorch.RNNCell, nn.RNNCell), "lstm": (ltorch.LSTMCell, nn.LSTMCell),
         "gru": (ltorch.GRUCell, nn.GRUCell)}
TOL = {torch.float64: 1e-12, torch.float32: 1e-5}


def _run(module, x, hx, probe):
    """Forward, a loss that weighs every output differently, backward; return everything compared."""
    module.zero_grad()
    x = x.clone().requires_grad_(True)
    states = [] if hx is None else [s.clone().requires_grad_(True) for s in (hx if isinstance(hx, tuple) else (hx,))]
    hx_in = None if hx is None else (tuple(states) if isinstance(hx, tuple) else states[0])
    out = module(x, hx_in)
    flat = _flatten(out)
    loss = sum((probe(k, y) * y).sum() for k, y in enumerate(flat))
    loss.backward()
    grads = [x.grad] + [s.grad for s in states] + [p.grad for p in module.parameters()]
    return [y.detach() for y in flat], grads


def _flatten(out):
    """The tensors of a (possibly nested) output: ``(output, (h_n, c_n))`` -> ``[output, h_n, c_n]``."""
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for part in out for t in _flatten(part)]


def _probe_factory(seed):
    gen = torch.Generator().manual_seed(seed)
    cache = {}

    def probe(k, y):
        if k not in cache:
            cache[k] = torch.randn(y.shape, generator=gen, dtype=y.dtype)
        return cache[k]

    return probe


def _assert_same(ours, theirs, tol):
    (yo, go), (yt, gt) = ours, theirs
    assert len(yo) == len(yt) and len(go) == len(gt)
    for a, b in zip(yo + go, yt + gt):
        assert a.shape == b.shape and a.dtype == b.dtype
        err = float((a - b).abs().max())
        assert err <= tol * max(1.0, float(b.abs().max())), err


def _layer_case(kind, T, B, D, H, dtype, layout, with_hx, seed=0, bias=True):
    torch.manual_seed(seed)
    ours_cls, nn_cls = LAYERS[kind]
    ref = nn_cls(D, H, bias=bias, batch_first=(layout == "batch_first"), dtype=dtype)
    ours = ours_cls.from_torch(ref)
    shape = {"time_major": (T, B, D), "batch_first": (B, T, D), "unbatched": (T, D)}[layout]
    x = torch.randn(shape, dtype=dtype)
    hx = None
    if with_hx:
        s_shape = (1, H) if layout == "unbatched" else (1, B, H)
        hx = tuple(torch.randn(s_shape, dtype=dtype) for _ in range(2)) if kind == "lstm" else torch.randn(s_shape, dtype=dtype)
    return ours, ref, x, hx


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("layout", ["time_major", "batch_first", "unbatched"])
@pytest.mark.parametrize("with_hx", [False, True])
def test_layer_equals_torch_nn(kind, dtype, layout, with_hx):
    ours, ref, x, hx = _layer_case(kind, 6, 3, 4, 5, dtype, layout, with_hx)
    probe = _probe_factory(1)
    _assert_same(_run(ours, x, hx, probe), _run(ref, x, hx, probe), TOL[dtype])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_hx", [False, True])
def test_cell_equals_torch_nn(kind, dtype, batched, with_hx):
    torch.manual_seed(0)
    ours_cls, nn_cls = CELLS[kind]
    ref = nn_cls(4, 5, dtype=dtype)
    ours = ours_cls.from_torch(ref)
    x = torch.randn((3, 4) if batched else (4,), dtype=dtype)
    hx = None
    if with_hx:
        s = (3, 5) if batched else (5,)
        hx = (torch.randn(s, dtype=dtype), torch.randn(s, dtype=dtype)) if kind == "lstm" else torch.randn(s, dtype=dtype)
    probe = _probe_factory(2)
    _assert_same(_run(ours, x, hx, probe), _run(ref, x, hx, probe), TOL[dtype])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_no_bias_and_relu(kind):
    ours, ref, x, hx = _layer_case(kind, 5, 2, 3, 4, torch.float64, "time_major", True, bias=False)
    assert ours.bias_ih_l0 is None and ours.bias_hh_l0 is None
    probe = _probe_factory(3)
    _assert_same(_run(ours, x, hx, probe), _run(ref, x, hx, probe), 1e-12)
    if kind == "rnn":
        ref = nn.RNN(3, 4, nonlinearity="relu", dtype=torch.float64)
        ours = ltorch.RNN.from_torch(ref)
        assert ours.nonlinearity == "relu"
        _assert_same(_run(ours, x, hx, probe), _run(ref, x, hx, probe), 1e-12)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("table", [LAYERS, CELLS], ids=["layer", "cell"])
def test_parameter_names_shapes_and_init(kind, table):
    ours_cls, nn_cls = table[kind]
    torch.manual_seed(0)
    ours, ref = ours_cls(7, 50), nn_cls(7, 50)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [(n, p.shape) for n, p in ref.named_parameters()]
    k = 1 / math.sqrt(50)
    for p in ours.parameters():  # U(-k, k): inside the interval, and spread like it (std k/√3)
        p = p.detach()
        assert float(p.abs().max()) <= k
        assert abs(float(p.std()) - k / math.sqrt(3)) < 0.25 * k / math.sqrt(3)
    assert ours.extra_repr().startswith("input_size=7, hidden_size=50, bias=True")


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("table", [LAYERS, CELLS], ids=["layer", "cell"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_to_torch_round_trip_is_exact(kind, table, dtype):
    ours_cls, nn_cls = table[kind]
    torch.manual_seed(1)
    kwargs = {"batch_first": True} if table is LAYERS else {}
    ours = ours_cls(3, 4, dtype=dtype, **kwargs)
    ref = ours.to_torch()
    assert type(ref) is nn_cls and getattr(ref, "batch_first", True)
    back = ours_cls.from_torch(ref)
    for (n1, p1), (n2, p2), (n3, p3) in zip(ours.named_parameters(), ref.named_parameters(), back.named_parameters()):
        assert n1 == n2 == n3 and p1.dtype == p2.dtype == p3.dtype == dtype
        assert torch.equal(p1, p2) and torch.equal(p1, p3)
        assert p1.data_ptr() != p2.data_ptr() != p3.data_ptr()  # copies, not shared
    x = torch.randn((2, 3, 3) if table is LAYERS else (2, 3), dtype=dtype)
    y_ours, y_ref = ours(x), ref(x)
    first = (lambda y: y[0]) if (table is LAYERS or kind == "lstm") else (lambda y: y)
    assert torch.allclose(first(y_ours), first(y_ref), atol=TOL[dtype], rtol=0)


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(["rnn", "lstm", "gru"]), T=st.integers(1, 6), B=st.integers(1, 4),
       D=st.integers(1, 5), H=st.integers(1, 5), layout=st.sampled_from(["time_major", "batch_first", "unbatched"]),
       with_hx=st.booleans(), seed=st.integers(0, 1000))
def test_property_random_sizes(kind, T, B, D, H, layout, with_hx, seed):
    ours, ref, x, hx = _layer_case(kind, T, B, D, H, torch.float64, layout, with_hx, seed)
    probe = _probe_factory(seed)
    _assert_same(_run(ours, x, hx, probe), _run(ref, x, hx, probe), 1e-12)


# --- bad input ----------------------------------------------------------------------------------------
def _lstm():
    torch.manual_seed(0)
    return ltorch.LSTM(3, 4)


BAD_CALLS = [
    ("rank", lambda m: m(torch.randn(2, 3, 4, 3)), ValueError, "(T, B, D) or (T, D)"),
    ("input size", lambda m: m(torch.randn(5, 2, 7)), ValueError, "input_size = 3"),
    ("int dtype", lambda m: m(torch.ones(5, 2, 3, dtype=torch.int64)), TypeError, "int64"),
    ("complex dtype", lambda m: m(torch.ones(5, 2, 3, dtype=torch.complex64)), TypeError, "complex64"),
    ("dtype mismatch", lambda m: m(torch.ones(5, 2, 3, dtype=torch.float64)), TypeError, "float32"),
    ("nan", lambda m: m(torch.tensor(float("nan")).expand(5, 2, 3).clone()), ValueError, "30 NaN or inf"),
    ("inf", lambda m: m(torch.zeros(5, 2, 3).index_fill_(0, torch.tensor([1]), float("inf"))), ValueError, "6 NaN or inf"),
    ("numpy", lambda m: m(np.zeros((5, 2, 3), np.float32)), TypeError, "torch.Tensor"),
    ("empty", lambda m: m(torch.zeros(0, 2, 3)), ValueError, "empty"),
    ("hx not pair", lambda m: m(torch.zeros(5, 2, 3), torch.zeros(1, 2, 4)), TypeError, "(h_0, c_0)"),
    ("h0 shape", lambda m: m(torch.zeros(5, 2, 3), (torch.zeros(2, 4), torch.zeros(1, 2, 4))), ValueError, "(1, B, H) = (1, 2, 4)"),
    ("c0 batch", lambda m: m(torch.zeros(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 3, 4))), ValueError, "c_0"),
    ("unbatched h0", lambda m: m(torch.zeros(5, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 4))), ValueError, "(1, H) = (1, 4)"),
    ("nan c0", lambda m: m(torch.zeros(5, 2, 3), (torch.zeros(1, 2, 4), torch.full((1, 2, 4), float("nan")))), ValueError, "finite"),
]


@pytest.mark.parametrize("name, call, error, words", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_names_expected_and_received(name, call, error, words):
    with pytest.raises(error) as info:
        call(_lstm())
    msg = str(info.value)
    assert words in msg and "got" in msg


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_bad_input_cells(kind):
    cell = CELLS[kind][0](3, 4)
    with pytest.raises(ValueError, match=r"\(B, D\) or \(D,\).*got 3-D"):
        cell(torch.zeros(2, 2, 3))
    with pytest.raises(ValueError, match="input_size = 3; got shape"):
        cell(torch.zeros(2, 5))
    with pytest.raises(TypeError, match="floating dtype.*got dtype torch.int32"):
        cell(torch.zeros(2, 3, dtype=torch.int32))
    hx = torch.zeros(3, 4)
    with pytest.raises(ValueError, match=r"\(B, H\) = \(2, 4\).*got shape \(3, 4\)"):
        cell(torch.zeros(2, 3), (hx, hx) if kind == "lstm" else hx)
    with pytest.raises(ValueError, match="1 NaN or inf"):
        cell(torch.tensor([0.0, float("inf"), 1.0]))


def test_bad_constructor_and_transfer_arguments():
    with pytest.raises(ValueError, match="hidden_size must be at least 1; got 0"):
        ltorch.LSTM(3, 0)
    with pytest.raises(TypeError, match="input_size must be an int; got float"):
        ltorch.GRU(3.0, 4)
    with pytest.raises(TypeError, match="third argument is num_layers"):
        ltorch.LSTM(3, 4, 2)
    with pytest.raises(TypeError, match="batch_first must be True or False"):
        ltorch.RNN(3, 4, True, "yes")
    with pytest.raises(ValueError, match="nonlinearity must be one of 'tanh', 'relu'; got 'sigmoid'"):
        ltorch.RNNCell(3, 4, nonlinearity="sigmoid")
    with pytest.raises(TypeError, match="expects a torch.nn.LSTM; got GRU"):
        ltorch.LSTM.from_torch(nn.GRU(3, 4))
    with pytest.raises(TypeError, match="expects a torch.nn.LSTMCell; got LSTM"):
        ltorch.LSTMCell.from_torch(nn.LSTM(3, 4))
    with pytest.raises(ValueError, match="num_layers=2"):
        ltorch.LSTM.from_torch(nn.LSTM(3, 4, num_layers=2))
    with pytest.raises(ValueError, match="bidirectional=True"):
        ltorch.GRU.from_torch(nn.GRU(3, 4, bidirectional=True))
    with pytest.raises(ValueError, match="proj_size=2"):
        ltorch.LSTM.from_torch(nn.LSTM(3, 4, proj_size=2))
    with pytest.raises(TypeError, match="takes no peephole"):
        ltorch.LSTM.from_torch(nn.LSTM(3, 4), peephole=True)
