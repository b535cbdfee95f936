"""Tests for the LSTM's heirs: minLSTM/minGRU (parallel == sequential), sLSTM and mLSTM against a
direct step-by-step reading of Beck et al. (2024)'s equations, the causal Transformer, the tasks."""
import math

import pytest
import torch

from lstm_course.models import SequenceModel
from lstm_course.recall_tasks import (associative_recall, associative_recall_baseline_accuracy, selective_copy,
                                      selective_copy_baseline_accuracy)
from lstm_course.torch.causal_transformer import CausalTransformer, sinusoidal_positions
from lstm_course.torch.minrnn import MinGRU, MinLSTM
from lstm_course.torch.xlstm import MLSTM, SLSTM

D, H, T, B = 3, 5, 12, 2


def _x(seed=0, T=T):
    return torch.randn(T, B, D, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def _randomise(module, scale=0.5, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * scale)
    return module


# --------------------------------------------------------------------------- minLSTM / minGRU
def minlstm_direct(x, W, b):
    """The minLSTM equations read one step at a time (Feng et al. 2024)."""
    h = torch.zeros(x.shape[1], W.shape[0] // 3, dtype=x.dtype)
    out = []
    for x_t in x:
        f = torch.sigmoid(x_t @ W[:H].T + b[:H])
        i = torch.sigmoid(x_t @ W[H : 2 * H].T + b[H : 2 * H])
        h_tilde = x_t @ W[2 * H :].T + b[2 * H :]
        h = f / (f + i) * h + i / (f + i) * h_tilde
        out.append(h)
    return torch.stack(out)


@pytest.mark.parametrize("cls", [MinLSTM, MinGRU])
@pytest.mark.parametrize("method", ["hillis_steele", "blelloch", "closed_form"])
def test_min_parallel_equals_sequential(cls, method):
    layer = _randomise(cls(D, H, method=method).double())
    x, h0 = _x(), torch.randn(1, B, H, dtype=torch.float64)
    par, par_n = layer(x, h0)
    layer.mode = "sequential"
    seq, seq_n = layer(x, h0)
    assert torch.allclose(par, seq, rtol=0, atol=1e-12) and torch.allclose(par_n, seq_n, rtol=0, atol=1e-12)
    assert torch.equal(par_n[0], par[-1])


def test_minlstm_is_its_equations_and_gradients_agree():
    layer = _randomise(MinLSTM(D, H).double())
    x = _x().requires_grad_(True)
    out, _ = layer(x)
    assert torch.allclose(out, minlstm_direct(x, layer.proj.weight, layer.proj.bias), rtol=0, atol=1e-12)
    g_par = torch.autograd.grad(out.sum(), (x, layer.proj.weight))
    layer.mode = "sequential"
    g_seq = torch.autograd.grad(layer(x)[0].sum(), (x, layer.proj.weight))
    for p, s in zip(g_par, g_seq):
        assert torch.allclose(p, s, rtol=1e-10, atol=1e-12)


def test_mingru_is_its_equations():
    layer = _randomise(MinGRU(D, H).double())
    x = _x()
    W, b = layer.proj.weight, layer.proj.bias
    h, ref = torch.zeros(B, H, dtype=torch.float64), []
    for x_t in x:
        z = torch.sigmoid(x_t @ W[:H].T + b[:H])
        h = (1 - z) * h + z * (x_t @ W[H:].T + b[H:])
        ref.append(h)
    assert torch.allclose(layer(x)[0], torch.stack(ref), rtol=0, atol=1e-12)


def test_forget_bias_starts_minlstm_remembering():
    assert torch.all(MinLSTM(D, H, forget_bias=2.0).proj.bias[:H] - MinLSTM(D, H).proj.bias[:H] != 0)
    torch.manual_seed(0)
    a = MinLSTM(D, H, forget_bias=3.0).proj.bias[:H].detach().clone()
    torch.manual_seed(0)
    b = MinLSTM(D, H).proj.bias[:H].detach().clone()
    assert torch.allclose(a - b, torch.full((H,), 3.0))


# --------------------------------------------------------------------------- sLSTM
def slstm_direct(x, W, b, R, exp_forget=False):
    """sLSTM without the stabiliser: i = exp(i~), f = sigmoid(f~) or exp(f~), c/n normalised."""
    h = c = n = torch.zeros(x.shape[1], H, dtype=x.dtype)
    out = []
    for x_t in x:
        pre = x_t @ W.T + b + h @ R.T
        i_pre, f_pre, z_pre, o_pre = pre[:, :H], pre[:, H : 2 * H], pre[:, 2 * H : 3 * H], pre[:, 3 * H :]
        i = torch.exp(i_pre)
        f = torch.exp(f_pre) if exp_forget else torch.sigmoid(f_pre)
        c = f * c + i * torch.tanh(z_pre)
        n = f * n + i
        h = torch.sigmoid(o_pre) * c / n
        out.append(h)
    return torch.stack(out)


@pytest.mark.parametrize("forget_gate", ["sigmoid", "exp"])
def test_slstm_equals_the_direct_reading(forget_gate):
    layer = _randomise(SLSTM(D, H, forget_gate=forget_gate).double())
    x = _x()
    out, (h, c, n, m) = layer(x)
    ref = slstm_direct(x, layer.W.weight, layer.W.bias, layer.R.weight, forget_gate == "exp")
    assert torch.allclose(out, ref, rtol=1e-12, atol=1e-12)
    assert torch.equal(h[0], out[-1]) and h.shape == c.shape == n.shape == m.shape == (1, B, H)


def test_slstm_stabiliser_keeps_large_gates_finite():
    layer = _randomise(SLSTM(D, H).double())
    with torch.no_grad():
        layer.W.bias[:H] = 800.0  # exp(800) overflows float64: the direct reading fails
    x = _x()
    ref = slstm_direct(x, layer.W.weight, layer.W.bias, layer.R.weight)
    out, _ = layer(x)
    assert not torch.isfinite(ref).all() and torch.isfinite(out).all()
    with torch.no_grad():  # the same layer with the input gate's bias shifted back by 800
        layer.W.bias[:H] = 0.0
    # a constant shift of every i~ cancels in c/n: the outputs agree
    assert torch.allclose(out, layer(x)[0], rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- mLSTM
def mlstm_direct(x, layer):
    """mLSTM without the stabiliser: C = f C + i v k^T, n = f n + i k, h = o * C q / max(|n.q|, 1)."""
    W, b = layer.W.weight, layer.W.bias
    C, n = torch.zeros(x.shape[1], H, H, dtype=x.dtype), torch.zeros(x.shape[1], H, dtype=x.dtype)
    out = []
    for x_t in x:
        p = x_t @ W.T + b
        q, k, v, o = p[:, :H], p[:, H : 2 * H] / math.sqrt(H), p[:, 2 * H : 3 * H], p[:, 3 * H : 4 * H]
        i = torch.exp(p[:, 4 * H])
        f = torch.sigmoid(p[:, 4 * H + 1]) if layer.forget_gate == "sigmoid" else torch.exp(p[:, 4 * H + 1])
        for s in range(x.shape[1]):
            C[s] = f[s] * C[s] + i[s] * torch.outer(v[s], k[s])
            n[s] = f[s] * n[s] + i[s] * k[s]
        h = torch.stack([torch.sigmoid(o[s]) * (C[s] @ q[s]) / max(abs(n[s] @ q[s]), 1.0)
                         for s in range(x.shape[1])])
        out.append(h)
    return torch.stack(out), C, n


@pytest.mark.parametrize("mode", ["parallel", "sequential"])
@pytest.mark.parametrize("forget_gate", ["sigmoid", "exp"])
def test_mlstm_equals_the_direct_reading(mode, forget_gate):
    layer = _randomise(MLSTM(D, H, mode=mode, forget_gate=forget_gate).double(), scale=0.3)
    x = _x()
    out, (C, n, m) = layer(x)
    ref, C_ref, n_ref = mlstm_direct(x, layer)
    assert torch.allclose(out, ref, rtol=1e-11, atol=1e-12)
    scale = torch.exp(m[0])  # the stored state is scaled by exp(-m)
    assert torch.allclose(C[0] * scale[:, None, None], C_ref, rtol=1e-10, atol=1e-12)
    assert torch.allclose(n[0] * scale[:, None], n_ref, rtol=1e-10, atol=1e-12)


def test_mlstm_parallel_gradients_equal_sequential():
    layer = _randomise(MLSTM(D, H).double(), scale=0.3)
    x = _x().requires_grad_(True)
    g_par = torch.autograd.grad(layer(x)[0].sum(), (x, layer.W.weight))
    layer.mode = "sequential"
    g_seq = torch.autograd.grad(layer(x)[0].sum(), (x, layer.W.weight))
    for p, s in zip(g_par, g_seq):
        assert torch.allclose(p, s, rtol=1e-9, atol=1e-11)


# --------------------------------------------------------------------------- causal Transformer
def test_transformer_is_causal_and_fits_the_harness():
    torch.manual_seed(0)
    layer = CausalTransformer(D, 8, nhead=2).double().eval()
    x = _x()
    out, last = layer(x)
    y = x.clone()
    y[7:] = torch.randn(T - 7, B, D, dtype=torch.float64)  # change the future only
    assert torch.allclose(layer(y)[0][:7], out[:7], rtol=0, atol=1e-12)
    assert not torch.allclose(layer(y)[0][7:], out[7:])
    assert torch.equal(last[0], out[-1])
    model = SequenceModel.from_layer(CausalTransformer(D, 8), 4)
    assert model(x.float()).shape == (B, 4)
    p = sinusoidal_positions(5, 4)
    assert torch.allclose(p[3], torch.tensor([math.sin(3), math.cos(3), math.sin(3e-2), math.cos(3e-2)],
                                             dtype=torch.float64))


# --------------------------------------------------------------------------- the tasks
def test_selective_copy():
    data = selective_copy(50, 20, seed=3, n_symbols=4, copy_length=3)
    assert data.x.shape == (23, 50, 6) and data.y.shape == (23, 50) and data.kind == "sequence"
    symbols = data.x[:20].argmax(-1)  # (20, 50)
    for s in range(50):
        stored = symbols[:, s][symbols[:, s] > 0]
        assert stored.tolist() == data.y[20:, s].tolist() and len(stored) == 3
    assert (data.y[:20] == 0).all() and (data.x[20:].argmax(-1) == 5).all()
    assert torch.equal(selective_copy(50, 20, seed=3, n_symbols=4, copy_length=3).x, data.x)
    assert selective_copy_baseline_accuracy(n_symbols=4, copy_length=3) == 4.0 ** -3


def test_associative_recall():
    data = associative_recall(40, 15, seed=2, n_keys=6, n_values=5, pairs=3)
    assert data.x.shape == (15, 40, 12) and data.y.shape == (40,) and data.kind == "classification"
    for s in range(40):
        keys = [data.x[2 * p, s, :6].argmax().item() for p in range(3)]
        values = [data.x[2 * p + 1, s, 6:11].argmax().item() for p in range(3)]
        assert len(set(keys)) == 3
        query = data.x[14, s, :6].argmax().item()
        assert data.x[14, s, -1] == 1 and values[keys.index(query)] == data.y[s].item()
    assert (data.x[6:14] == 0).all()
    assert associative_recall_baseline_accuracy(n_values=5) == 0.2


# --------------------------------------------------------------------------- bad input
def test_bad_input():
    with pytest.raises(ValueError, match="mode must be one of"):
        MinLSTM(D, H, mode="fast")
    with pytest.raises(ValueError, match="method must be one of"):
        MinGRU(D, H, method="magic")
    with pytest.raises(TypeError, match="hidden_size must be an int"):
        SLSTM(D, 2.5)
    with pytest.raises(ValueError, match="forget_gate must be one of"):
        MLSTM(D, H, forget_gate="relu")
    with pytest.raises(ValueError, match=r"x must be a tensor of shape \(T, B, 3\)"):
        MinLSTM(D, H)(torch.zeros(4, 2, 5))
    with pytest.raises(TypeError, match="dtype"):
        MinLSTM(D, H)(torch.zeros(4, 2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"hx must be None or a tensor of shape \(1, 2, 5\)"):
        MinGRU(D, H)(torch.zeros(4, 2, 3), torch.zeros(2, 5))
    with pytest.raises(ValueError, match="hx must be None"):
        SLSTM(D, H)(torch.zeros(4, 2, 3), torch.zeros(1, 2, 5))
    with pytest.raises(ValueError, match="multiple of nhead"):
        CausalTransformer(D, 5, nhead=2)
    with pytest.raises(ValueError, match="T must be at least 4"):
        selective_copy(3, 3, copy_length=4)
    with pytest.raises(ValueError, match="n_keys must be at least 4"):
        associative_recall(3, 20, n_keys=3, pairs=4)
    with pytest.raises(ValueError, match="T must be at least 9"):
        associative_recall(3, 8, pairs=4)
