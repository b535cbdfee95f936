r"""The LSTM in plain NumPy: one step forward and backward, and loops over them for a sequence.

This is the reference the book teaches from: one line per equation, in PyTorch's layout.
Gate order i, f, g, o, as ``torch.nn.LSTM``:

.. math::

    \mathbf{a}_t &= W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + W_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh}
                  = [\mathbf{a}^i_t; \mathbf{a}^f_t; \mathbf{a}^g_t; \mathbf{a}^o_t] \\
    \mathbf{i}_t &= \sigma(\mathbf{a}^i_t),\quad \mathbf{f}_t = \sigma(\mathbf{a}^f_t),\quad
    \mathbf{g}_t = \tanh(\mathbf{a}^g_t),\quad \mathbf{o}_t = \sigma(\mathbf{a}^o_t) \\
    \mathbf{c}_t &= \mathbf{f}_t \odot \mathbf{c}_{t-1} + \mathbf{i}_t \odot \mathbf{g}_t \\
    \mathbf{h}_t &= \mathbf{o}_t \odot \tanh(\mathbf{c}_t)

Shapes: ``T`` time steps, ``B`` batch, ``D`` input size, ``H`` hidden size.
``params``: ``W_ih (4H, D) = [W_ii; W_if; W_ig; W_io]``, ``W_hh (4H, H)``, ``b_ih (4H,)``,
``b_hh (4H,)``, the same arrays as ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0`` and
``bias_hh_l0`` of ``torch.nn.LSTM``.

:mod:`lstm_course.numpy.fast` computes the same functions faster, with the same signatures;
the cost chapter derives it from this file.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _validate as V
from .activations import sigmoid


class LSTMStepCache(NamedTuple):
    """What :func:`lstm_step_backward` needs from :func:`lstm_step_forward`."""

    x: np.ndarray  # (B, D)
    h_prev: np.ndarray  # (B, H)
    c_prev: np.ndarray  # (B, H)
    gates: np.ndarray  # (B, 4H) the activated gates [i, f, g, o]
    tanh_c: np.ndarray  # (B, H)
    params: dict


class LSTMCache(NamedTuple):
    """What :func:`lstm_backward` needs from :func:`lstm_forward`: every step's cache, stacked over time."""

    xs: np.ndarray  # (T, B, D)
    hs: np.ndarray  # (T, B, H) h_1 … h_T
    h0: np.ndarray  # (B, H)
    cs: np.ndarray  # (T, B, H) c_1 … c_T
    c0: np.ndarray  # (B, H)
    gates: np.ndarray  # (T, B, 4H) activated i, f, g, o
    tanh_cs: np.ndarray  # (T, B, H)
    params: dict

    def step(self, t: int) -> LSTMStepCache:
        """The :class:`LSTMStepCache` of step ``t`` (0-based: the step that computed ``hs[t]``)."""
        h_prev = self.hs[t - 1] if t > 0 else self.h0
        c_prev = self.cs[t - 1] if t > 0 else self.c0
        gates, tanh_c = self.gates[t], self.tanh_cs[t]
        return LSTMStepCache(self.xs[t], h_prev, c_prev, gates, tanh_c, self.params)


def lstm_step_forward(x, h_prev, c_prev, params):
    """One LSTM step for a batch.

    Args:
        x: ``(B, D)`` input ``x_t``.
        h_prev: ``(B, H)`` hidden state ``h_{t-1}``.
        c_prev: ``(B, H)`` cell state ``c_{t-1}``.
        params: dict ``W_ih (4H, D)``, ``W_hh (4H, H)``, ``b_ih (4H,)``, ``b_hh (4H,)``.

    Returns:
        ``(h, c, cache)``: ``h`` and ``c`` are ``(B, H)``; ``cache`` is an :class:`LSTMStepCache`.
    """
    x = V.as_float_array("x", x, "(B, D)", 2)
    B, D = x.shape
    H = V.check_params(params, 4, D, x.dtype, "LSTM")
    h_prev = V.check_state("h_prev", h_prev, B, H, x.dtype)
    c_prev = V.check_state("c_prev", c_prev, B, H, x.dtype)
    W_ih, W_hh = params["W_ih"], params["W_hh"]
    b = params["b_ih"] + params["b_hh"]  # the two biases only ever appear as their sum
    a = x @ W_ih.T + h_prev @ W_hh.T + b  # (B, 4H) all four pre-activations
    i = sigmoid(a[:, :H])  # input gate
    f = sigmoid(a[:, H : 2 * H])  # forget gate
    g = np.tanh(a[:, 2 * H : 3 * H])  # candidate
    o = sigmoid(a[:, 3 * H :])  # output gate
    c = f * c_prev + i * g  # (B, H)
    tanh_c = np.tanh(c)
    h = o * tanh_c  # (B, H)
    gates = np.concatenate([i, f, g, o], axis=1)  # (B, 4H)
    return h, c, LSTMStepCache(x, h_prev, c_prev, gates, tanh_c, params)


def lstm_step_backward(dh, dc, cache):
    r"""Backward pass of :func:`lstm_step_forward`.

    With :math:`\delta\mathbf{h}_t` and :math:`\delta\mathbf{c}_t` the gradients arriving at
    :math:`\mathbf{h}_t` and :math:`\mathbf{c}_t` from above (``dh``, ``dc``), and
    :math:`\overline{\delta\mathbf{c}}_t` all the gradient reaching :math:`\mathbf{c}_t`
    (``dc_total``):

    .. math::

        \delta\mathbf{o}_t &= \delta\mathbf{h}_t \odot \tanh(\mathbf{c}_t),\qquad
        \overline{\delta\mathbf{c}}_t = \delta\mathbf{c}_t + \delta\mathbf{h}_t \odot \mathbf{o}_t
            \odot (1 - \tanh^2(\mathbf{c}_t)) \\
        \delta\mathbf{i}_t &= \overline{\delta\mathbf{c}}_t \odot \mathbf{g}_t,\quad
        \delta\mathbf{f}_t = \overline{\delta\mathbf{c}}_t \odot \mathbf{c}_{t-1},\quad
        \delta\mathbf{g}_t = \overline{\delta\mathbf{c}}_t \odot \mathbf{i}_t,\quad
        \delta\mathbf{c}_{t-1} = \overline{\delta\mathbf{c}}_t \odot \mathbf{f}_t \\
        \delta\mathbf{a}_t &= [\delta\mathbf{i}_t \odot \mathbf{i}_t(1-\mathbf{i}_t);\;
            \delta\mathbf{f}_t \odot \mathbf{f}_t(1-\mathbf{f}_t);\;
            \delta\mathbf{g}_t \odot (1-\mathbf{g}_t^2);\;
            \delta\mathbf{o}_t \odot \mathbf{o}_t(1-\mathbf{o}_t)] \\
        \delta\mathbf{x}_t &= W_{ih}^\top\delta\mathbf{a}_t,\quad
        \delta\mathbf{h}_{t-1} = W_{hh}^\top\delta\mathbf{a}_t,\quad
        \frac{\partial L_t}{\partial W_{ih}} = \delta\mathbf{a}_t\mathbf{x}_t^\top,\quad
        \frac{\partial L_t}{\partial W_{hh}} = \delta\mathbf{a}_t\mathbf{h}_{t-1}^\top

    Args:
        dh: ``(B, H)`` gradient of the loss with respect to ``h_t``.
        dc: ``(B, H)`` gradient with respect to ``c_t`` from later steps (zeros at the end).
        cache: the :class:`LSTMStepCache` of the forward step.

    Returns:
        ``(dx, dh_prev, dc_prev, grads)``: ``dx (B, D)``, ``dh_prev (B, H)``, ``dc_prev (B, H)``
        and ``grads``, a dict with the keys of ``params``.
    """
    V.check_cache(cache, LSTMStepCache, "lstm_step_backward")
    B, H = cache.h_prev.shape
    dh = V.check_upstream("dh", dh, (B, H), "(B, H)", cache.x.dtype)
    dc = V.check_upstream("dc", dc, (B, H), "(B, H)", cache.x.dtype)
    i, f, g, o = np.split(cache.gates, 4, axis=1)  # (B, H) each
    tanh_c = cache.tanh_c
    do = dh * tanh_c  # δo
    dc_total = dc + dh * o * (1 - tanh_c**2)  # all gradient reaching c_t
    di = dc_total * g  # δi
    df = dc_total * cache.c_prev  # δf
    dg = dc_total * i  # δg
    dc_prev = dc_total * f  # δc_{t-1}, the direct path
    da_i = di * i * (1 - i)  # through the sigmoids and the tanh
    da_f = df * f * (1 - f)
    da_g = dg * (1 - g**2)
    da_o = do * o * (1 - o)
    da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)  # (B, 4H)
    W_ih, W_hh = cache.params["W_ih"], cache.params["W_hh"]
    dx = da @ W_ih  # (B, D)
    dh_prev = da @ W_hh  # (B, H)
    db = da.sum(axis=0)  # (4H,)
    dW_ih, dW_hh = da.T @ cache.x, da.T @ cache.h_prev  # (4H, D), (4H, H)
    grads = {"W_ih": dW_ih, "W_hh": dW_hh, "b_ih": db, "b_hh": db.copy()}
    return dx, dh_prev, dc_prev, grads


def lstm_forward(xs, params, h0=None, c0=None):
    """Run an LSTM over a sequence (time-major): :func:`lstm_step_forward` at every step.

    Args:
        xs: ``(T, B, D)`` inputs.
        params: dict ``W_ih (4H, D)``, ``W_hh (4H, H)``, ``b_ih (4H,)``, ``b_hh (4H,)``.
        h0, c0: ``(B, H)`` initial states; zeros when None.

    Returns:
        ``(hs, (h_n, c_n), cache)``: ``hs (T, B, H)`` all hidden states, ``h_n`` and ``c_n``
        ``(B, H)`` the final states (as ``torch.nn.LSTM`` returns them), ``cache`` an
        :class:`LSTMCache`.
    """
    xs = V.as_float_array("xs", xs, "(T, B, D)", 3)
    T, B, D = xs.shape
    H = V.check_params(params, 4, D, xs.dtype, "LSTM")
    h0 = V.check_state("h0", h0, B, H, xs.dtype)
    c0 = V.check_state("c0", c0, B, H, xs.dtype)
    hs, cs, tanh_cs = (np.empty((T, B, H), dtype=xs.dtype) for _ in range(3))
    gates = np.empty((T, B, 4 * H), dtype=xs.dtype)
    h, c = h0, c0
    for t in range(T):
        h, c, step = lstm_step_forward(xs[t], h, c, params)
        hs[t], cs[t], gates[t], tanh_cs[t] = h, c, step.gates, step.tanh_c
    cache = LSTMCache(xs, hs, h0, cs, c0, gates, tanh_cs, params)
    return hs, (hs[-1].copy(), cs[-1].copy()), cache


def lstm_backward(dhs, cache, dh_n=None, dc_n=None):
    """Backpropagation through time for :func:`lstm_forward`: :func:`lstm_step_backward` from ``t = T`` down to 1.

    Each step receives the gradient of its output ``dhs[t]`` plus what step ``t+1`` sent back
    to ``h_t``, and what step ``t+1`` sent back to ``c_t``. The weights are shared by every
    step, so their gradients are the sums of the steps' gradients.

    Args:
        dhs: ``(T, B, H)`` gradient of the loss with respect to every ``h_t`` through the outputs.
        cache: the :class:`LSTMCache` of the forward pass.
        dh_n, dc_n: ``(B, H)`` gradients with respect to the final states; zeros when None.

    Returns:
        ``(dxs, dh0, dc0, grads)``: ``dxs (T, B, D)``, ``dh0`` and ``dc0`` ``(B, H)``,
        and ``grads`` with the keys of ``params``.
    """
    V.check_cache(cache, LSTMCache, "lstm_backward")
    T, B, H = cache.hs.shape
    dt = cache.xs.dtype
    dhs = V.check_upstream("dhs", dhs, (T, B, H), "(T, B, H)", dt)
    zeros = np.zeros((B, H), dt)
    dh = V.check_upstream("dh_n", zeros if dh_n is None else dh_n, (B, H), "(B, H)", dt)
    dc = V.check_upstream("dc_n", zeros if dc_n is None else dc_n, (B, H), "(B, H)", dt)
    dxs = np.empty_like(cache.xs)  # (T, B, D)
    grads = {k: np.zeros_like(cache.params[k]) for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    for t in reversed(range(T)):
        dxs[t], dh, dc, step_grads = lstm_step_backward(dhs[t] + dh, dc, cache.step(t))
        for k in grads:
            grads[k] += step_grads[k]  # shared weights: the sum over steps
    return dxs, dh, dc, grads
