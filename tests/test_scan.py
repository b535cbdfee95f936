"""Tests for lstm_course.scan: every scan equals the loop in float64, gradients too, bad input fails."""
import math

import pytest
import torch

from lstm_course import scan as S

PARALLEL = [S.scan_hillis_steele, S.scan_blelloch, S.scan_closed_form]


def _inputs(T, shape=(3, 4), seed=0, positive_b=False):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(T, *shape, generator=g, dtype=torch.float64) * 0.5 + 0.5  # in [0.5, 1)
    b = torch.randn(T, *shape, generator=g, dtype=torch.float64)
    h0 = torch.randn(*shape, generator=g, dtype=torch.float64)
    return (a, b.abs() + 0.01, h0.abs() + 0.01) if positive_b else (a, b, h0)


@pytest.mark.parametrize("T", [1, 2, 3, 7, 8, 9, 64, 100, 1000])
@pytest.mark.parametrize("scan", PARALLEL, ids=lambda f: f.__name__)
def test_scans_equal_the_loop(scan, T):
    a, b, h0 = _inputs(T)
    for start in (None, h0):
        ref = S.scan_sequential(a, b, start)
        assert torch.allclose(scan(a, b, start), ref, rtol=0, atol=1e-12 * (1 + ref.abs().max().item()))


def test_the_loop_is_the_recurrence():
    a, b, h0 = _inputs(5)
    h = S.scan_sequential(a, b, h0)
    assert torch.equal(h[0], a[0] * h0 + b[0])
    for t in range(1, 5):
        assert torch.equal(h[t], a[t] * h[t - 1] + b[t])


@pytest.mark.parametrize("T", [1, 5, 100, 1000])
def test_log_scan_equals_the_loop(T):
    a, b, h0 = _inputs(T, positive_b=True)
    for start in (None, h0):
        ref = S.scan_sequential(a, b, start)
        log_h = S.scan_log(a.log(), b.log(), None if start is None else start.log())
        assert torch.allclose(log_h.exp(), ref, rtol=1e-12, atol=0)


def test_log_scan_survives_where_the_closed_form_fails():
    # gates of 0.1 for 1000 steps: the product 1e-1000 underflows in float64
    T = 1000
    a = torch.full((T, 2), 0.1, dtype=torch.float64)
    b = torch.ones(T, 2, dtype=torch.float64)
    ref = S.scan_sequential(a, b)
    assert not torch.isfinite(S.scan_closed_form(a, b)).all()
    assert torch.allclose(S.scan_log(a.log(), b.log()).exp(), ref, rtol=1e-12, atol=0)
    assert math.isclose(ref[-1, 0].item(), 1 / 0.9, rel_tol=1e-12)  # the fixed point h = 1/(1 - a)


@pytest.mark.parametrize("scan", [S.scan_hillis_steele, S.scan_blelloch], ids=lambda f: f.__name__)
def test_gradients_equal_the_loops(scan):
    a, b, h0 = (t.requires_grad_(True) for t in _inputs(37))
    w = torch.randn(37, 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ref = torch.autograd.grad((S.scan_sequential(a, b, h0) * w).sum(), (a, b, h0))
    got = torch.autograd.grad((scan(a, b, h0) * w).sum(), (a, b, h0))
    for r, g in zip(ref, got):
        assert torch.allclose(g, r, rtol=1e-12, atol=1e-12)


def test_parallel_scan_dispatches_and_depths():
    a, b, h0 = _inputs(20)
    ref = S.scan_sequential(a, b, h0)
    for method in S.METHODS:
        assert torch.allclose(S.parallel_scan(a, b, h0, method=method), ref, rtol=0, atol=1e-12)
    assert [S.scan_depth(1000, m) for m in ("sequential", "hillis_steele", "blelloch")] == [1000, 10, 20]
    assert S.scan_depth(1, "blelloch") == 0


def test_bad_input():
    a, b, h0 = _inputs(4)
    with pytest.raises(TypeError, match="a must be a torch.Tensor"):
        S.scan_hillis_steele(a.numpy(), b)
    with pytest.raises(ValueError, match=r"same shape .* got \(4, 3, 4\) and \(3, 3, 4\)"):
        S.scan_blelloch(a, b[:3])
    with pytest.raises(ValueError, match=r"h0 must have shape \(3, 4\)"):
        S.scan_sequential(a, b, h0[0])
    with pytest.raises(TypeError, match="same dtype"):
        S.scan_closed_form(a, b.float())
    with pytest.raises(TypeError, match="floating"):
        S.scan_hillis_steele(a.long(), b.long())
    with pytest.raises(ValueError, match="T >= 1"):
        S.scan_hillis_steele(a[:0], b[:0])
    with pytest.raises(ValueError, match="nan"):
        S.scan_log(torch.log(-a), b)
    with pytest.raises(ValueError, match="method must be one of"):
        S.parallel_scan(a, b, method="magic")
    with pytest.raises(ValueError, match="T must be an int"):
        S.scan_depth(0, "blelloch")
