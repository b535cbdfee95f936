"""The hand-derived BPTT of LSTM(backward="bptt") equals nn.LSTM and passes torch.autograd.gradcheck."""
from __future__ import annotations

import importlib.util
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lstm_course.torch import LSTM, LSTMBPTT, lstm_bptt

ROOT = pathlib.Path(__file__).resolve().parents[1]
TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def _compare(T, B, D, H, dtype, *, bias=True, batch_first=False, unbatched=False, with_hx=True,
             final_grads=True, seed=0):
    """Run nn.LSTM and LSTM(backward="bptt") on the same data; return the largest relative difference."""
    torch.manual_seed(seed)
    ref = nn.LSTM(D, H, bias=bias, batch_first=batch_first, dtype=dtype)
    ours = LSTM.from_torch(ref, backward="bptt")
    assert ours.backward == "bptt"
    shape = (T, D) if unbatched else ((B, T, D) if batch_first else (T, B, D))
    s_shape = (1, H) if unbatched else (1, B, H)
    x = torch.randn(shape, dtype=dtype)
    hx = (torch.randn(s_shape, dtype=dtype), torch.randn(s_shape, dtype=dtype)) if with_hx else None
    gen = torch.Generator().manual_seed(seed + 1)
    results = []
    for module in (ref, ours):
        module.zero_grad()
        xi = x.clone().requires_grad_(True)
        hi = None if hx is None else tuple(s.clone().requires_grad_(True) for s in hx)
        out, (h_n, c_n) = module(xi, hi)
        gen.manual_seed(seed + 1)
        w = [torch.randn(t.shape, generator=gen, dtype=dtype) for t in (out, h_n, c_n)]
        loss = (w[0] * out).sum() + ((w[1] * h_n).sum() + (w[2] * c_n).sum() if final_grads else 0)
        loss.backward()
        grads = [xi.grad] + ([s.grad for s in hi] if hi else []) + [p.grad for p in module.parameters()]
        results.append([t.detach() for t in [out, h_n, c_n] + grads])
    worst = 0.0
    for a, b in zip(*results):
        assert a.shape == b.shape and a.dtype == b.dtype == dtype
        worst = max(worst, float((a - b).abs().max()) / max(1.0, float(b.abs().max())))
    return worst


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("size", [(1, 1, 1, 1), (7, 3, 4, 5), (12, 2, 1, 3), (4, 5, 6, 2)])
@pytest.mark.parametrize("with_hx", [True, False])
def test_bptt_equals_nn_lstm(dtype, size, with_hx):
    assert _compare(*size, dtype, with_hx=with_hx) <= TOL[dtype]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("option", ["no_bias", "batch_first", "unbatched", "output_grad_only"])
def test_bptt_layouts_and_options(dtype, option):
    kwargs = {"no_bias": {"bias": False}, "batch_first": {"batch_first": True}, "unbatched": {"unbatched": True},
              "output_grad_only": {"final_grads": False}}[option]
    assert _compare(6, 3, 4, 5, dtype, **kwargs) <= TOL[dtype]


@settings(max_examples=20, deadline=None)
@given(T=st.integers(1, 8), B=st.integers(1, 4), D=st.integers(1, 5), H=st.integers(1, 5),
       bias=st.booleans(), with_hx=st.booleans(), seed=st.integers(0, 10_000))
def test_bptt_property_random_sizes(T, B, D, H, bias, with_hx, seed):
    assert _compare(T, B, D, H, torch.float64, bias=bias, with_hx=with_hx, seed=seed) <= 1e-10


@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_float64(bias):
    torch.manual_seed(0)
    T, B, D, H = 4, 2, 3, 3
    k = 1 / H ** 0.5

    def leaf(*shape, scale=1.0):
        return (scale * (2 * torch.rand(*shape, dtype=torch.float64) - 1)).requires_grad_(True)

    args = [leaf(T, B, D), leaf(B, H), leaf(B, H), leaf(4 * H, D, scale=k), leaf(4 * H, H, scale=k)]
    args += [leaf(4 * H, scale=k), leaf(4 * H, scale=k)] if bias else [None, None]
    assert torch.autograd.gradcheck(LSTMBPTT.apply, tuple(args), eps=1e-6, atol=1e-8, rtol=1e-6)


def test_gradcheck_through_module_and_partial_needs():
    torch.manual_seed(1)
    lstm = LSTM(2, 3, backward="bptt", dtype=torch.float64)
    x = torch.randn(5, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: lstm(x)[0], (x,))
    # Only the weights require grad: the input and state gradients are skipped, the rest still exact.
    ref = lstm.to_torch()
    x = x.detach()
    for m in (lstm, ref):
        m.zero_grad()
        out, (h_n, c_n) = m(x)
        (out.square().sum() + c_n.sum()).backward()
    for p, q in zip(lstm.parameters(), ref.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-12, rtol=0)


def test_functional_form_matches_module():
    torch.manual_seed(2)
    lstm = LSTM(3, 4, backward="bptt", dtype=torch.float64)
    x, h0, c0 = torch.randn(5, 2, 3, dtype=torch.float64), torch.zeros(2, 4, dtype=torch.float64), None
    hs, h_n, c_n = lstm_bptt(x, h0, torch.zeros_like(h0), *lstm._weights())
    out, (h_n2, c_n2) = lstm(x, c0)
    assert torch.equal(hs, out) and torch.equal(h_n, h_n2[0]) and torch.equal(c_n, c_n2[0])


def test_bptt_refuses_variants_and_unknown_modes():
    with pytest.raises(ValueError, match="standard LSTM.*peephole=True.*backward='autograd'"):
        LSTM(3, 4, peephole=True, backward="bptt")
    with pytest.raises(ValueError, match="coupled=True"):
        LSTM(3, 4, coupled=True, backward="bptt")
    with pytest.raises(ValueError, match="backward must be one of 'autograd', 'bptt'; got 'manual'"):
        LSTM(3, 4, backward="manual")
    lstm = LSTM(3, 4, forget_bias=1.0, backward="bptt")  # only an initialisation: allowed
    lstm.backward = "other"
    with pytest.raises(ValueError, match="got 'other'"):
        lstm(torch.zeros(2, 1, 3))


def test_double_backward_and_inplace_output_are_refused():
    lstm = LSTM(2, 3, backward="bptt", dtype=torch.float64)
    x = torch.randn(3, 1, 2, dtype=torch.float64, requires_grad=True)
    out, _ = lstm(x)
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|does not require grad"):
        g.sum().backward()
    out, _ = lstm(x)
    out.mul_(2)  # the saved hidden states changed: autograd must notice
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_benchmark_quick_runs():
    """The benchmark script runs end to end in --quick mode and prints its table (timings not asserted).

    One thread: on a machine shared with other jobs, two spinning OpenMP threads per tiny call can
    stretch a seconds-long smoke run into minutes.
    """
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_rnn.py"), "--quick", "--threads", "1"],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for words in ("nn.LSTM", "hand-BPTT", "NumPy LSTM", "NumPy LSTM, plain reference", "torch LSTM autograd",
                  "CONTROL", "GFLOP/s", "(1 thread)", "floor: NumPy matmuls only", "floor: torch matmuls only",
                  "floor: NumPy matmuls + calls", "floor: torch matmuls + calls", "floor: NumPy matmuls + passes",
                  "floor: torch matmuls + passes",
                  "fixed cost per time step",
                  "its matrix products alone take", "with its calls' fixed cost"):
        assert words in proc.stdout
    assert proc.stdout.count("PASS ") + proc.stdout.count("MISS ") == 4  # one line per speed target and dtype


def test_benchmark_dispatch_floor_adds_t_times_the_fixed_cost_of_the_other_calls():
    spec = importlib.util.spec_from_file_location("bench_rnn", ROOT / "benchmarks" / "bench_rnn.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    med = {bench.NUMPY_FLOOR: 0.010}
    fixed = {bench.NUMPY: 30.0, bench.NUMPY_FLOOR: 5.0}  # microseconds per step at B = D = H = 1
    # 10 ms of matrix products + 200 steps x 25 us of the other calls
    assert bench.dispatch_floor(bench.NUMPY, (200, 16, 1, 32), med, fixed) == pytest.approx(0.015)
    fixed[bench.NUMPY_FLOOR] = 40.0  # noise can make the difference negative: then nothing is added
    assert bench.dispatch_floor(bench.NUMPY, (200, 16, 1, 32), med, fixed) == pytest.approx(0.010)


def test_benchmark_numpy_floors_compute_on_finite_normal_numbers():
    """The floors time passes on stand-in values: those must stay finite (no overflow, no NaN), or
    the floor would time arithmetic that no LSTM does. Run twice: the buffers persist between runs."""
    spec = importlib.util.spec_from_file_location("bench_rnn", ROOT / "benchmarks" / "bench_rnn.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for dtype in ("float32", "float64"):
        cases, _ = bench.build_cases(200, 4, 3, 8, dtype, 0)
        for name in (bench.NUMPY_FLOOR, *bench.NUMPY_PASSES_ROUTES.values()):
            with np.errstate(all="raise"):  # overflow, invalid (NaN) and underflow all raise
                cases[name].run()
                cases[name].run()
