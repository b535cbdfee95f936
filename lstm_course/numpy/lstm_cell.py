r"""The LSTM cell's element-wise core, shared by the step and the sequence functions.

Given the pre-activations of the four gates stacked in PyTorch's order i, f, g, o,

.. math::

    \mathbf{a}_t = W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + W_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh}
    = [\mathbf{a}^i_t; \mathbf{a}^f_t; \mathbf{a}^g_t; \mathbf{a}^o_t],

the cell computes

.. math::

    \mathbf{i}_t = \sigma(\mathbf{a}^i_t),\quad \mathbf{f}_t = \sigma(\mathbf{a}^f_t),\quad
    \mathbf{g}_t = \tanh(\mathbf{a}^g_t),\quad \mathbf{o}_t = \sigma(\mathbf{a}^o_t),

    \mathbf{c}_t = \mathbf{f}_t \odot \mathbf{c}_{t-1} + \mathbf{i}_t \odot \mathbf{g}_t,\qquad
    \mathbf{h}_t = \mathbf{o}_t \odot \tanh(\mathbf{c}_t).

Both functions here work on one time step of a batch: ``(B, 4H)`` gates, ``(B, H)`` states.
"""
from __future__ import annotations

import numpy as np

from .activations import sigmoid, tanh


def gates_forward(a: np.ndarray, c_prev: np.ndarray):
    """Activate the pre-activations ``a`` in place and update the cell.

    Args:
        a: ``(B, 4H)`` pre-activations in gate order i, f, g, o; overwritten with
            the activated gates ``[i, f, g, o]``.
        c_prev: ``(B, H)`` previous cell state ``c_{t-1}``.

    Returns:
        ``(gates, c, tanh_c, h)``: ``gates`` is ``a`` itself, now ``(B, 4H)`` activations;
        ``c``, ``tanh_c`` and ``h`` are ``(B, H)``.
    """
    H = c_prev.shape[1]
    sigmoid(a[:, : 2 * H], out=a[:, : 2 * H])  # i, f
    tanh(a[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])  # g
    sigmoid(a[:, 3 * H :], out=a[:, 3 * H :])  # o
    i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
    c = f * c_prev  # (B, H)  eq. c_t = f ⊙ c_{t-1} + i ⊙ g
    c += i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c  # (B, H)  eq. h_t = o ⊙ tanh(c_t)
    return a, c, tanh_c, h


def gates_backward(dh: np.ndarray, dc: np.ndarray, gates: np.ndarray, c_prev: np.ndarray, tanh_c: np.ndarray):
    r"""Backward through the element-wise core of one step.

    With :math:`\delta\mathbf{h}_t` and :math:`\delta\mathbf{c}_t` the gradients arriving at
    :math:`\mathbf{h}_t` and :math:`\mathbf{c}_t` from above (``dh``, ``dc``):

    .. math::

        \delta\mathbf{o} &= \delta\mathbf{h}_t \odot \tanh(\mathbf{c}_t) \\
        \overline{\delta\mathbf{c}}_t &= \delta\mathbf{c}_t + \delta\mathbf{h}_t \odot \mathbf{o}_t
            \odot (1 - \tanh^2(\mathbf{c}_t)) \\
        \delta\mathbf{f} = \overline{\delta\mathbf{c}}_t \odot \mathbf{c}_{t-1},\quad
        \delta\mathbf{i} &= \overline{\delta\mathbf{c}}_t \odot \mathbf{g}_t,\quad
        \delta\mathbf{g} = \overline{\delta\mathbf{c}}_t \odot \mathbf{i}_t,\quad
        \delta\mathbf{c}_{t-1} = \overline{\delta\mathbf{c}}_t \odot \mathbf{f}_t \\
        \delta\mathbf{a}^{i,f,o} &= \delta(\cdot) \odot s(1-s),\qquad
        \delta\mathbf{a}^g = \delta\mathbf{g} \odot (1 - \mathbf{g}^2)

    Returns:
        ``(da, dc_prev)``: ``(B, 4H)`` gradient of the pre-activations, ``(B, H)`` gradient
        of ``c_{t-1}`` through the direct (forget-gate) path.
    """
    H = c_prev.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    dc_total = dh * o
    dc_total *= 1.0 - tanh_c * tanh_c
    dc_total += dc  # (B, H) all gradient reaching c_t
    da = np.empty_like(gates)  # (B, 4H)
    np.multiply(dc_total, g, out=da[:, :H])  # δi
    np.multiply(dc_total, c_prev, out=da[:, H : 2 * H])  # δf
    np.multiply(dc_total, i, out=da[:, 2 * H : 3 * H])  # δg
    np.multiply(dh, tanh_c, out=da[:, 3 * H :])  # δo
    s = gates[:, : 2 * H]
    da[:, : 2 * H] *= s * (1.0 - s)  # through σ of i and f
    da[:, 2 * H : 3 * H] *= 1.0 - g * g  # through tanh of g
    da[:, 3 * H :] *= o * (1.0 - o)  # through σ of o
    dc_prev = dc_total * f
    return da, dc_prev
