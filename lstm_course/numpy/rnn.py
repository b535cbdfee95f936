r"""Vanilla (Elman) RNN forward and backward in NumPy, with ``torch.nn.RNN``'s layout and tanh.

.. math::

    \mathbf{h}_t = \tanh(W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + W_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh})

Shapes: ``x_t (B, D)``, ``h_t (B, H)``; ``params``: ``W_ih (H, D)``, ``W_hh (H, H)``,
``b_ih (H,)``, ``b_hh (H,)``. Rows of a batch are independent, so in code the products are
written ``x @ W_ih.T`` on ``(B, D)`` arrays.

Backward (``δh_t`` is the total gradient reaching ``h_t``; ``a_t`` the pre-activation):

.. math::

    \delta\mathbf{a}_t = \delta\mathbf{h}_t \odot (1 - \mathbf{h}_t^2),\qquad
    \delta\mathbf{h}_{t-1} \mathrel{+}= W_{hh}^\top \delta\mathbf{a}_t,\qquad
    \delta\mathbf{x}_t = W_{ih}^\top \delta\mathbf{a}_t,

    \frac{\partial L}{\partial W_{hh}} = \sum_t \delta\mathbf{a}_t \mathbf{h}_{t-1}^\top,\quad
    \frac{\partial L}{\partial W_{ih}} = \sum_t \delta\mathbf{a}_t \mathbf{x}_t^\top,\quad
    \frac{\partial L}{\partial \mathbf{b}_{ih}} = \frac{\partial L}{\partial \mathbf{b}_{hh}} = \sum_t \delta\mathbf{a}_t.

The sequence functions are loops over the step functions and follow ``torch.nn.RNN``'s
contract: :func:`rnn_forward` returns ``(hs, h_n, cache)``, and :func:`rnn_backward` takes the
gradient of the final state ``dh_n`` separately.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _validate as V


class RNNStepCache(NamedTuple):
    """What :func:`rnn_step_backward` needs from :func:`rnn_step_forward`."""

    x: np.ndarray  # (B, D)
    h_prev: np.ndarray  # (B, H)
    h: np.ndarray  # (B, H)
    params: dict


class RNNCache(NamedTuple):
    """What :func:`rnn_backward` needs from :func:`rnn_forward`: every step's inputs and output."""

    xs: np.ndarray  # (T, B, D)
    hs: np.ndarray  # (T, B, H) h_1 … h_T
    h0: np.ndarray  # (B, H)
    params: dict

    def step(self, t: int) -> RNNStepCache:
        """The :class:`RNNStepCache` of step ``t`` (0-based: the step that computed ``hs[t]``)."""
        h_prev = self.hs[t - 1] if t > 0 else self.h0
        return RNNStepCache(self.xs[t], h_prev, self.hs[t], self.params)


def rnn_step_forward(x, h_prev, params):
    """One tanh-RNN step: ``h = tanh(x W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh)``.

    Args:
        x: ``(B, D)`` input.
        h_prev: ``(B, H)`` previous hidden state.
        params: dict ``W_ih (H, D)``, ``W_hh (H, H)``, ``b_ih (H,)``, ``b_hh (H,)``.

    Returns:
        ``(h, cache)``: ``h (B, H)`` and an :class:`RNNStepCache`.
    """
    x = V.as_float_array("x", x, "(B, D)", 2)
    B, D = x.shape
    H = V.check_params(params, 1, D, x.dtype, "RNN")
    h_prev = V.check_state("h_prev", h_prev, B, H, x.dtype)
    W_ih, W_hh = params["W_ih"], params["W_hh"]
    b = params["b_ih"] + params["b_hh"]  # the two biases only ever appear as their sum
    h = np.tanh(x @ W_ih.T + h_prev @ W_hh.T + b)  # (B, H)
    return h, RNNStepCache(x, h_prev, h, params)


def rnn_step_backward(dh, cache):
    """Backward pass of :func:`rnn_step_forward`.

    Args:
        dh: ``(B, H)`` total gradient of the loss with respect to ``h``.
        cache: the :class:`RNNStepCache` of the forward step.

    Returns:
        ``(dx, dh_prev, grads)``: ``dx (B, D)``, ``dh_prev (B, H)``, ``grads`` with the keys of ``params``.
    """
    V.check_cache(cache, RNNStepCache, "rnn_step_backward")
    dh = V.check_upstream("dh", dh, cache.h.shape, "(B, H)", cache.x.dtype)
    da = dh * (1.0 - cache.h * cache.h)  # (B, H)  δa = δh ⊙ (1 − h²)
    dx = da @ cache.params["W_ih"]  # (B, D)   W_ihᵀ δa, one row per sample
    dh_prev = da @ cache.params["W_hh"]  # (B, H)   W_hhᵀ δa
    db = da.sum(axis=0)  # (H,)
    dW_ih, dW_hh = da.T @ cache.x, da.T @ cache.h_prev  # (H, D), (H, H)
    grads = {"W_ih": dW_ih, "W_hh": dW_hh, "b_ih": db, "b_hh": db.copy()}
    return dx, dh_prev, grads


def rnn_forward(xs, params, h0=None):
    """Run a tanh RNN over a sequence (time-major): :func:`rnn_step_forward` at every step.

    Args:
        xs: ``(T, B, D)`` inputs.
        params: dict ``W_ih (H, D)``, ``W_hh (H, H)``, ``b_ih (H,)``, ``b_hh (H,)``.
        h0: ``(B, H)`` initial hidden state; zeros when None.

    Returns:
        ``(hs, h_n, cache)``: ``hs (T, B, H)`` the hidden states ``h_1 … h_T``, ``h_n (B, H)``
        the final one (as ``torch.nn.RNN`` returns it) and an :class:`RNNCache`.
    """
    xs = V.as_float_array("xs", xs, "(T, B, D)", 3)
    T, B, D = xs.shape
    H = V.check_params(params, 1, D, xs.dtype, "RNN")
    h0 = V.check_state("h0", h0, B, H, xs.dtype)
    hs = np.empty((T, B, H), dtype=xs.dtype)
    h = h0
    for t in range(T):
        h, _ = rnn_step_forward(xs[t], h, params)
        hs[t] = h
    return hs, hs[-1].copy(), RNNCache(xs, hs, h0, params)


def rnn_backward(dhs, cache, dh_n=None):
    """Backpropagation through time for :func:`rnn_forward`: :func:`rnn_step_backward` from ``t = T`` down to 1.

    Args:
        dhs: ``(T, B, H)`` gradient of the loss with respect to every ``h_t`` through the outputs.
        cache: the :class:`RNNCache` of the forward pass.
        dh_n: ``(B, H)`` gradient with respect to the final state ``h_n``; zeros when None.

    Returns:
        ``(dxs, dh0, grads)``: ``dxs (T, B, D)``, ``dh0 (B, H)`` and ``grads`` with the keys of ``params``.
    """
    V.check_cache(cache, RNNCache, "rnn_backward")
    T, B, H = cache.hs.shape
    dhs = V.check_upstream("dhs", dhs, (T, B, H), "(T, B, H)", cache.xs.dtype)
    dh = np.zeros((B, H), cache.xs.dtype) if dh_n is None else dh_n
    dh = V.check_upstream("dh_n", dh, (B, H), "(B, H)", cache.xs.dtype)
    dxs = np.empty_like(cache.xs)  # (T, B, D)
    grads = {k: np.zeros_like(cache.params[k]) for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    for t in reversed(range(T)):
        # dh: what step t sends on to h_{t-1}
        dxs[t], dh, step_grads = rnn_step_backward(dhs[t] + dh, cache.step(t))
        for k in grads:
            grads[k] += step_grads[k]  # shared weights: the sum over steps
    return dxs, dh, grads
