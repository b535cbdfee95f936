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

Both functions work on one time step of a batch: ``(B, 4H)`` gates, ``(B, H)`` states, and
write into caller-supplied arrays when given (the sequence functions preallocate them).

One ``tanh`` activates all four gates: since ``σ(a) = (1 + tanh(a/2)) / 2``, scaling the
sigmoid blocks by ``s = 1/2`` (and the g block by 1), applying ``tanh``, scaling again by
``s`` and adding ``s`` on the sigmoid blocks gives ``[σ(aⁱ), σ(aᶠ), tanh(aᵍ), σ(aᵒ)]``.
:func:`lstm_course.numpy.lstm.lstm_forward` does the first scaling once, in the weights and
biases, instead of at every step (``halved=True``); halving is exact in binary floating point.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=64)
def gate_affine(H: int, dtype: np.dtype):
    """``(scale, shift)``, read-only rows of length 4H: 1/2 on the sigmoid blocks i, f, o; 1 and 0 on g."""
    scale = np.full(4 * H, 0.5, dtype=dtype)
    scale[2 * H : 3 * H] = 1.0
    shift = np.full(4 * H, 0.5, dtype=dtype)
    shift[2 * H : 3 * H] = 0.0
    scale.flags.writeable = shift.flags.writeable = False
    return scale, shift


def gates_forward(a, c_prev, c=None, tanh_c=None, h=None, halved=False):
    """Activate the pre-activations ``a`` in place and update the cell.

    Args:
        a: ``(B, 4H)`` pre-activations in gate order i, f, g, o; overwritten with
            the activated gates ``[i, f, g, o]``.
        c_prev: ``(B, H)`` previous cell state ``c_{t-1}``.
        c, tanh_c, h: optional ``(B, H)`` arrays to write the results into.
        halved: True if the sigmoid blocks of ``a`` arrive already halved, ``[aⁱ/2, aᶠ/2, aᵍ, aᵒ/2]``.

    Returns:
        ``(gates, c, tanh_c, h)``: ``gates`` is ``a`` itself, now the ``(B, 4H)`` activations;
        ``c``, ``tanh_c`` and ``h`` are ``(B, H)``.
    """
    H = c_prev.shape[1]
    scale, shift = gate_affine(H, a.dtype)
    if not halved:
        a *= scale  # a/2 on the sigmoid blocks
    np.tanh(a, out=a)
    a *= scale
    a += shift  # a = [i, f, g, o]
    i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
    c = np.multiply(f, c_prev, out=c)  # c_t = f ⊙ c_{t-1} + i ⊙ g
    h = np.multiply(i, g, out=h)  # (h holds i ⊙ g for a moment)
    c += h
    tanh_c = np.tanh(c, out=tanh_c)
    np.multiply(o, tanh_c, out=h)  # h_t = o ⊙ tanh(c_t)
    return a, c, tanh_c, h


def gates_backward(dh, dc, gates, c_prev, tanh_c, da=None):
    r"""Backward through the element-wise core of one step.

    With :math:`\delta\mathbf{h}_t` and :math:`\delta\mathbf{c}_t` the gradients arriving at
    :math:`\mathbf{h}_t` and :math:`\mathbf{c}_t` from above (``dh``, ``dc``):

    .. math::

        \delta\mathbf{o}_t &= \delta\mathbf{h}_t \odot \tanh(\mathbf{c}_t) \\
        \overline{\delta\mathbf{c}}_t &= \delta\mathbf{c}_t + \delta\mathbf{h}_t \odot \mathbf{o}_t
            \odot (1 - \tanh^2(\mathbf{c}_t)) \\
        \delta\mathbf{i}_t = \overline{\delta\mathbf{c}}_t \odot \mathbf{g}_t,\quad
        \delta\mathbf{f}_t &= \overline{\delta\mathbf{c}}_t \odot \mathbf{c}_{t-1},\quad
        \delta\mathbf{g}_t = \overline{\delta\mathbf{c}}_t \odot \mathbf{i}_t,\quad
        \delta\mathbf{c}_{t-1} = \overline{\delta\mathbf{c}}_t \odot \mathbf{f}_t \\
        \delta\mathbf{a}^{i,f,o}_t &= \delta(\cdot) \odot s(1-s) \text{ with } s \text{ the gate},\qquad
        \delta\mathbf{a}^g_t = \delta\mathbf{g}_t \odot (1 - \mathbf{g}_t^2)

    Args:
        dh, dc: ``(B, H)`` gradients reaching ``h_t`` and ``c_t``.
        gates: ``(B, 4H)`` activated gates i, f, g, o of the step.
        c_prev, tanh_c: ``(B, H)`` ``c_{t-1}`` and ``tanh(c_t)`` of the step.
        da: optional ``(B, 4H)`` array to write ``δa_t`` into.

    Returns:
        ``(da, dc_prev)``: ``(B, 4H)`` gradient of the pre-activations, ``(B, H)`` gradient
        of ``c_{t-1}`` through the direct (forget-gate) path.
    """
    H = c_prev.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    if da is None:
        da = np.empty_like(gates)
    dc_total = np.multiply(tanh_c, tanh_c)
    np.subtract(1.0, dc_total, out=dc_total)
    dc_total *= o
    dc_total *= dh
    dc_total += dc  # (B, H) all gradient reaching c_t
    np.multiply(dc_total, g, out=da[:, :H])  # δi
    np.multiply(dc_total, c_prev, out=da[:, H : 2 * H])  # δf
    np.multiply(dc_total, i, out=da[:, 2 * H : 3 * H])  # δg
    np.multiply(dh, tanh_c, out=da[:, 3 * H :])  # δo
    deriv = np.subtract(1.0, gates)  # 1 − s on the sigmoid blocks
    deriv *= gates  # s (1 − s)
    np.multiply(g, g, out=deriv[:, 2 * H : 3 * H])
    np.subtract(1.0, deriv[:, 2 * H : 3 * H], out=deriv[:, 2 * H : 3 * H])  # 1 − g² on the g block
    da *= deriv
    dc_total *= f  # δc_{t-1} through the direct path
    return da, dc_total
