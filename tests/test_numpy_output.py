"""The per-step output layer: softmax, cross-entropy, its gradient ŷ − y, and masking of padded steps."""
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lstm_course.numpy import (cross_entropy, cross_entropy_backward, gradcheck,
                               init_output_params, init_rnn_params, output_backward, output_forward,
                               relative_error, rnn_backward, rnn_forward, sequence_mask, softmax)

T, B, H, K = 5, 3, 4, 6


def _batch(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((T, B, K)).astype(dtype) * 3
    targets = rng.integers(0, K, size=(T, B))
    return logits, targets


def test_softmax_is_a_distribution_equal_to_torch_and_stable():
    logits, _ = _batch()
    p = softmax(logits)
    assert np.allclose(p.sum(axis=-1), 1.0, atol=1e-15, rtol=0) and (p > 0).all()
    assert relative_error(p, torch.softmax(torch.from_numpy(logits), dim=-1).numpy()) < 1e-14
    assert relative_error(softmax(logits + 1000.0), p) < 1e-12  # a shift changes nothing
    big = softmax(np.array([1000.0, 0.0]))
    assert np.isfinite(big).all() and big[0] == 1.0


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_and_its_gradient_equal_torch(reduction):
    logits, targets = _batch()
    loss, cache = cross_entropy(logits, targets, reduction=reduction)
    dlogits = cross_entropy_backward(cache)
    z = torch.from_numpy(logits).requires_grad_()
    expected = F.cross_entropy(z.reshape(-1, K), torch.from_numpy(targets).reshape(-1), reduction=reduction)
    expected.backward()
    assert abs(loss - expected.item()) < 1e-12 * abs(expected.item())
    assert relative_error(dlogits, z.grad.numpy()) < 1e-12


def test_gradient_is_y_hat_minus_y_over_n():
    logits, targets = _batch(1)
    _, cache = cross_entropy(logits, targets)
    one_hot = np.eye(K)[targets]
    assert relative_error(cross_entropy_backward(cache), (softmax(logits) - one_hot) / (T * B)) < 1e-14
    assert relative_error(cross_entropy_backward(cache, 2.5), 2.5 * (softmax(logits) - one_hot) / (T * B)) < 1e-14


def test_masked_cross_entropy_equals_torch_ignore_index():
    logits, targets = _batch(2)
    mask = sequence_mask([5, 2, 3], T)
    padded = np.where(mask, targets, -100)  # torch's ignore_index marks the padded steps
    loss, cache = cross_entropy(logits, padded, mask)
    z = torch.from_numpy(logits).requires_grad_()
    expected = F.cross_entropy(z.reshape(-1, K), torch.from_numpy(padded).reshape(-1), ignore_index=-100)
    expected.backward()
    assert abs(loss - expected.item()) < 1e-12 * abs(expected.item())
    assert relative_error(cross_entropy_backward(cache), z.grad.numpy()) < 1e-12


def test_padded_steps_change_nothing_and_get_zero_gradient():
    logits, targets = _batch(3)
    mask = sequence_mask([5, 1, 3], T)
    loss, cache = cross_entropy(logits, targets, mask)
    dlogits = cross_entropy_backward(cache)
    assert np.all(dlogits[~mask] == 0.0) and np.all(np.abs(dlogits[mask]).sum(axis=-1) > 0)
    other_logits = np.where(mask[..., None], logits, 50.0 * np.random.default_rng(9).standard_normal(logits.shape))
    other_targets = np.where(mask, targets, (targets + 1) % K)
    assert cross_entropy(other_logits, other_targets, mask)[0] == loss
    # the mean over real steps is the sum of each sequence's own loss over the number of real steps
    lengths = mask.sum(axis=0)
    per_sequence = [cross_entropy(logits[:n, b], targets[:n, b], reduction="sum")[0] for b, n in enumerate(lengths)]
    assert abs(loss - sum(per_sequence) / lengths.sum()) < 1e-14


def test_finite_differences_through_output_layer_and_rnn_with_mask():
    rng = np.random.default_rng(4)
    D = 2
    xs = rng.standard_normal((T, B, D))
    rnn = init_rnn_params(D, H, rng=rng)
    out = init_output_params(H, K, rng=rng)
    _, targets = _batch(4)
    mask = sequence_mask([4, 5, 2], T)

    def loss():
        hs, _, _ = rnn_forward(xs, rnn)
        return cross_entropy(output_forward(hs, out)[0], targets, mask)[0]

    hs, _, cache = rnn_forward(xs, rnn)
    logits, out_cache = output_forward(hs, out)
    _, ce_cache = cross_entropy(logits, targets, mask)
    dhs, out_grads = output_backward(cross_entropy_backward(ce_cache), out_cache)
    dxs, _, grads = rnn_backward(dhs, cache)
    errors = gradcheck(loss, {**out, "W_ih": rnn["W_ih"], "W_hh": rnn["W_hh"], "xs": xs},
                       {**out_grads, "W_ih": grads["W_ih"], "W_hh": grads["W_hh"], "xs": dxs})
    assert max(errors.values()) < 1e-7, errors
    # the steps after each sequence's end get no gradient at all: nothing later reads them
    assert np.all(dhs[~mask] == 0.0) and np.all(dxs[~mask] == 0.0)


def test_output_layer_equals_torch_linear():
    rng = np.random.default_rng(5)
    hs = rng.standard_normal((T, B, H))
    out = init_output_params(H, K, rng=rng)
    logits, cache = output_forward(hs, out)
    dlogits = rng.standard_normal(logits.shape)
    dhs, grads = output_backward(dlogits, cache)
    h = torch.from_numpy(hs).requires_grad_()
    W, b = (torch.from_numpy(out[k]).requires_grad_() for k in ("W_out", "b_out"))
    z = F.linear(h, W, b)
    z.backward(torch.from_numpy(dlogits))
    assert relative_error(logits, z.detach().numpy()) < 1e-14
    for ours, theirs in ((dhs, h.grad), (grads["W_out"], W.grad), (grads["b_out"], b.grad)):
        assert relative_error(ours, theirs.numpy()) < 1e-12
    last, _ = output_forward(hs[-1], out)  # (B, H): one read-out, many-to-one
    assert relative_error(last, logits[-1]) < 1e-14


def test_float32_keeps_its_dtype():
    logits, targets = _batch(6, np.float32)
    loss, cache = cross_entropy(logits, targets)
    assert cross_entropy_backward(cache).dtype == np.float32 and softmax(logits).dtype == np.float32
    out = init_output_params(H, K, rng=0, dtype=np.float32)
    z, _ = output_forward(np.ones((B, H), np.float32), out)
    assert z.dtype == np.float32


def test_sequence_mask():
    assert sequence_mask([3, 1], 4).tolist() == [[True, True], [True, False], [True, False], [False, False]]


logits_ok, targets_ok = _batch()


@pytest.mark.parametrize("call,error,message", [
    (lambda: cross_entropy(logits_ok, targets_ok.astype(float)), TypeError,
     "targets must be an integer array of class indices; got dtype float64"),
    (lambda: cross_entropy(logits_ok, targets_ok[:, :2]), ValueError, "targets must have shape"),
    (lambda: cross_entropy(logits_ok, np.full((T, B), K)), ValueError,
     "targets must lie in [0, K) = [0, 6) at every unmasked step; got [6"),
    (lambda: cross_entropy(logits_ok, -np.ones((T, B), int)), ValueError, "targets must lie in [0, K)"),
    (lambda: cross_entropy(logits_ok, targets_ok, np.ones((T, 2))), ValueError, "mask must have shape"),
    (lambda: cross_entropy(logits_ok, targets_ok, np.full((T, B), 0.5)), ValueError,
     "mask must hold only 0 and 1"),
    (lambda: cross_entropy(logits_ok, targets_ok, np.zeros((T, B), bool)), ValueError,
     "mask must keep at least one step"),
    (lambda: cross_entropy(logits_ok, targets_ok, np.full((T, B), "a")), TypeError, "mask must hold booleans"),
    (lambda: cross_entropy(logits_ok, targets_ok, reduction="none"), ValueError,
     "reduction must be 'mean' or 'sum'; got 'none'"),
    (lambda: cross_entropy(logits_ok.astype(int), targets_ok), TypeError, "logits must have dtype float32"),
    (lambda: cross_entropy(np.float64(1.0), 0), ValueError, "logits must have at least one dimension"),
    (lambda: softmax(np.array([1.0, np.nan])), ValueError, "logits must be finite"),
    (lambda: cross_entropy_backward((1, 2, 3)), TypeError, "needs the CrossEntropyCache"),
    (lambda: cross_entropy_backward(cross_entropy(logits_ok, targets_ok)[1], "1"), TypeError,
     "dloss must be a number; got str"),
    (lambda: output_forward(np.ones((B, H)), {"W_out": np.ones((K, H))}), ValueError,
     "params must be a dict with keys W_out, b_out"),
    (lambda: output_forward(np.ones((B, H)), {"W_out": np.ones((K, H + 1)), "b_out": np.ones(K)}), ValueError,
     "params['W_out'] must have shape (K, H) with H = 4"),
    (lambda: output_forward(np.ones((B, H)), {"W_out": np.ones((K, H)), "b_out": np.ones(K + 1)}), ValueError,
     "params['b_out'] must have shape (K,) with K = 6"),
    (lambda: output_forward(np.ones(H), init_output_params(H, K, rng=0)), ValueError,
     "hs must have shape (T, B, H) or (B, H); got shape (4,)"),
    (lambda: output_forward(np.ones((B, H), np.float32), init_output_params(H, K, rng=0)), TypeError,
     "params['W_out'] has dtype float64 but hs has dtype float32"),
    (lambda: output_backward(np.ones((B, K)), (1, 2)), TypeError, "needs the OutputCache"),
    (lambda: output_backward(np.ones((B, K + 1)), output_forward(np.ones((B, H)), init_output_params(H, K, 0))[1]),
     ValueError, "dlogits must have shape"),
    (lambda: sequence_mask([0, 2], 3), ValueError, "lengths must lie in [1, T] = [1, 3]; got [0, 2]"),
    (lambda: sequence_mask([1.5], 3), TypeError, "lengths must be a non-empty 1-D integer array"),
    (lambda: sequence_mask([1], 0), ValueError, "T must be at least 1"),
    (lambda: init_output_params(H, 0), ValueError, "output_size must be at least 1; got 0"),
])
def test_bad_input_is_refused_with_a_clear_message(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()

