r"""Jacobians of the LSTM's state update: the direct path diag(f_t), and the full derivatives.

One LSTM step maps the state :math:`(\mathbf{h}_{t-1}, \mathbf{c}_{t-1})` to
:math:`(\mathbf{h}_t, \mathbf{c}_t)` (the input :math:`\mathbf{x}_t` held fixed). With
:math:`\mathbf{a}_t = W_{ih}\mathbf{x}_t + W_{hh}\mathbf{h}_{t-1} + \mathbf{b}`, gates
:math:`\mathbf{i}, \mathbf{f}, \mathbf{o} = \sigma(\cdot)`, :math:`\mathbf{g} = \tanh(\cdot)`,
:math:`\mathbf{c}_t = \mathbf{f}\odot\mathbf{c}_{t-1} + \mathbf{i}\odot\mathbf{g}` and
:math:`\mathbf{h}_t = \mathbf{o}\odot\tanh(\mathbf{c}_t)`, its four blocks are

.. math::

    \frac{\partial \mathbf{c}_t}{\partial \mathbf{c}_{t-1}} &= \operatorname{diag}(\mathbf{f}_t)
        \qquad\text{(the direct path, the only one inside a step)} \\
    \frac{\partial \mathbf{c}_t}{\partial \mathbf{h}_{t-1}} &=
        \operatorname{diag}(\mathbf{c}_{t-1}\odot\mathbf{f}_t\odot(1-\mathbf{f}_t))\,W_{hf}
      + \operatorname{diag}(\mathbf{g}_t\odot\mathbf{i}_t\odot(1-\mathbf{i}_t))\,W_{hi}
      + \operatorname{diag}(\mathbf{i}_t\odot(1-\mathbf{g}_t^2))\,W_{hg} \\
    \frac{\partial \mathbf{h}_t}{\partial \mathbf{c}_{t-1}} &= \operatorname{diag}(\mathbf{k}_t)\,
        \operatorname{diag}(\mathbf{f}_t),\qquad \mathbf{k}_t = \mathbf{o}_t\odot(1-\tanh^2\mathbf{c}_t) \\
    \frac{\partial \mathbf{h}_t}{\partial \mathbf{h}_{t-1}} &=
        \operatorname{diag}(\tanh\mathbf{c}_t\odot\mathbf{o}_t\odot(1-\mathbf{o}_t))\,W_{ho}
      + \operatorname{diag}(\mathbf{k}_t)\,\frac{\partial \mathbf{c}_t}{\partial \mathbf{h}_{t-1}}

where :math:`W_{hi}, W_{hf}, W_{hg}, W_{ho}` are the four ``(H, H)`` row blocks of ``W_hh``.

Across the recurrence :math:`\mathbf{h}_{t-1} = \mathbf{o}_{t-1}\odot\tanh(\mathbf{c}_{t-1})` is
itself a function of :math:`\mathbf{c}_{t-1}` (:math:`\mathbf{o}_{t-1}` is not: it depends on
:math:`\mathbf{h}_{t-2}` and :math:`\mathbf{x}_{t-1}`). A change injected into
:math:`\mathbf{c}_{t-1}` therefore reaches :math:`\mathbf{c}_t` along two routes, and the full
derivative is

.. math::

    \frac{d\mathbf{c}_t}{d\mathbf{c}_{t-1}} = \operatorname{diag}(\mathbf{f}_t)
      + \frac{\partial \mathbf{c}_t}{\partial \mathbf{h}_{t-1}}\,
        \operatorname{diag}\big(\mathbf{o}_{t-1}\odot(1-\tanh^2\mathbf{c}_{t-1})\big).

Over many steps the routes multiply through *both* states, so the exact sensitivity of
:math:`\mathbf{c}_T` to :math:`\mathbf{c}_t` is a product of ``(2H, 2H)`` state Jacobians
(:func:`cell_sensitivities`), not a product of the one-step :math:`d\mathbf{c}/d\mathbf{c}`.

Convention: a Jacobian ``J`` of ``y`` with respect to ``x`` has ``J[b, j, k] = ∂y_j/∂x_k`` for
batch element ``b``; shapes ``(B, H, H)`` (``(B, 2H, 2H)`` for the state, ordered ``(h, c)``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validate as V
from .numpy.lstm import lstm_forward, lstm_step_forward


class StepJacobians(NamedTuple):
    """The four ``(B, H, H)`` blocks of one step's state Jacobian, ``dY_dX[b, j, k] = ∂Y_j/∂X_k``."""

    dh_dh: np.ndarray  # ∂h_t/∂h_{t-1}
    dh_dc: np.ndarray  # ∂h_t/∂c_{t-1}
    dc_dh: np.ndarray  # ∂c_t/∂h_{t-1}
    dc_dc: np.ndarray  # ∂c_t/∂c_{t-1} = diag(f_t)


def _blocks(gates, c_prev, tanh_c, W_hh) -> StepJacobians:
    """The blocks from one step's activated gates ``(B, 4H)``, ``c_{t-1}`` and ``tanh(c_t)``."""
    H = c_prev.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    W_hi, W_hf, W_hg, W_ho = W_hh[:H], W_hh[H:2 * H], W_hh[2 * H:3 * H], W_hh[3 * H:]  # (H, H) each
    dc_dh = ((c_prev * f * (1.0 - f))[:, :, None] * W_hf  # through the forget gate
             + (g * i * (1.0 - i))[:, :, None] * W_hi  # through the input gate
             + (i * (1.0 - g * g))[:, :, None] * W_hg)  # through the candidate; (B, H, H)
    dc_dc = f[:, :, None] * np.eye(H, dtype=gates.dtype)  # (B, H, H) diag(f_t)
    k = o * (1.0 - tanh_c * tanh_c)  # (B, H) ∂h_t/∂c_t, diagonal
    dh_dh = (tanh_c * o * (1.0 - o))[:, :, None] * W_ho + k[:, :, None] * dc_dh
    dh_dc = k[:, :, None] * dc_dc
    return StepJacobians(dh_dh, dh_dc, dc_dh, dc_dc)


def lstm_step_jacobians(x, h_prev, c_prev, params) -> StepJacobians:
    """The four blocks of the Jacobian of one LSTM step, ``(h_{t-1}, c_{t-1}) → (h_t, c_t)``.

    Args:
        x: ``(B, D)`` input ``x_t`` (held fixed).
        h_prev, c_prev: ``(B, H)`` states at which to differentiate.
        params: dict ``W_ih (4H, D)``, ``W_hh (4H, H)``, ``b_ih (4H,)``, ``b_hh (4H,)``.

    Returns:
        a :class:`StepJacobians` of four ``(B, H, H)`` arrays.
    """
    _, _, cache = lstm_step_forward(x, h_prev, c_prev, params)  # validates every argument
    return _blocks(cache.gates, cache.c_prev, cache.tanh_c, params["W_hh"])


def state_jacobian(x, h_prev, c_prev, params) -> np.ndarray:
    """The whole ``(B, 2H, 2H)`` Jacobian of one step, state ordered ``(h, c)``.

    ``[[∂h_t/∂h_{t-1}, ∂h_t/∂c_{t-1}], [∂c_t/∂h_{t-1}, ∂c_t/∂c_{t-1}]]``; arguments as
    :func:`lstm_step_jacobians`.
    """
    J = lstm_step_jacobians(x, h_prev, c_prev, params)
    return np.block([[J.dh_dh, J.dh_dc], [J.dc_dh, J.dc_dc]])


def full_cell_jacobian(x, c_prev, o_prev, params) -> np.ndarray:
    r"""The full derivative :math:`d\mathbf{c}_t/d\mathbf{c}_{t-1}` when :math:`\mathbf{h}_{t-1} = \mathbf{o}_{t-1}\odot\tanh(\mathbf{c}_{t-1})`.

    .. math::

        \frac{d\mathbf{c}_t}{d\mathbf{c}_{t-1}} = \operatorname{diag}(\mathbf{f}_t)
          + \frac{\partial \mathbf{c}_t}{\partial \mathbf{h}_{t-1}}\,
            \operatorname{diag}\big(\mathbf{o}_{t-1}\odot(1-\tanh^2\mathbf{c}_{t-1})\big)

    Args:
        x: ``(B, D)`` input ``x_t``.
        c_prev: ``(B, H)`` cell state ``c_{t-1}``.
        o_prev: ``(B, H)`` output gate ``o_{t-1}`` of the previous step, entries in [0, 1];
            the previous hidden state is ``h_{t-1} = o_{t-1} ⊙ tanh(c_{t-1})``.
        params: dict ``W_ih (4H, D)``, ``W_hh (4H, H)``, ``b_ih (4H,)``, ``b_hh (4H,)``.

    Returns:
        ``(B, H, H)`` array; subtracting ``diag(f_t)`` leaves the paths through ``h_{t-1}``.
    """
    c_prev = V.as_float_array("c_prev", c_prev, "(B, H)", 2)
    o_prev = V.as_float_array("o_prev", o_prev, "(B, H)", 2)
    V.check_shape("o_prev", o_prev, c_prev.shape, "(B, H), the shape of c_prev")
    V.check_dtype("o_prev", o_prev, c_prev.dtype, "c_prev")
    if o_prev.min() < 0.0 or o_prev.max() > 1.0:
        raise ValueError(f"o_prev must be an output gate, entries in [0, 1]; got entries in "
                         f"[{o_prev.min():.3g}, {o_prev.max():.3g}]")
    tanh_c_prev = np.tanh(c_prev)
    J = lstm_step_jacobians(x, o_prev * tanh_c_prev, c_prev, params)
    return J.dc_dc + J.dc_dh * (o_prev * (1.0 - tanh_c_prev ** 2))[:, None, :]


def cell_jacobians_along(xs, params, h0=None, c0=None):
    """The direct and the full one-step ``dc_t/dc_{t-1}`` at every step ``t = 2, …, T`` of a sequence.

    Runs :func:`~lstm_course.numpy.lstm_forward` and evaluates :func:`full_cell_jacobian`
    at each step whose ``h_{t-1}`` is a read-out of ``c_{t-1}`` (``t ≥ 2``; ``h_0`` is an
    independent input, so step 1 has no path through it).

    Args:
        xs: ``(T, B, D)`` inputs, ``T ≥ 2``. params: LSTM parameters. h0, c0: ``(B, H)`` or None.

    Returns:
        ``(direct, full)``, each ``(T-1, B, H, H)``; index ``s`` holds step ``t = s + 2``.
    """
    hs, _, cache = lstm_forward(xs, params, h0, c0)
    T, B, H = hs.shape
    if T < 2:
        raise ValueError(f"cell_jacobians_along needs T >= 2 steps; got xs of shape {cache.xs.shape}")
    direct = np.empty((T - 1, B, H, H), dtype=hs.dtype)
    full = np.empty_like(direct)
    for t in range(1, T):  # 0-based: step t+1 of the text, with c_{t-1} = cs[t-1]
        J = _blocks(cache.gates[t], cache.cs[t - 1], cache.tanh_cs[t], params["W_hh"])
        o_prev = cache.gates[t - 1][:, 3 * H:]
        direct[t - 1] = J.dc_dc
        full[t - 1] = J.dc_dc + J.dc_dh * (o_prev * (1.0 - cache.tanh_cs[t - 1] ** 2))[:, None, :]
    return direct, full


def cell_sensitivities(xs, params, h0=None, c0=None):
    r"""How the last cell state responds to a change injected into each earlier cell state.

    For a perturbation added to :math:`\mathbf{c}_t` (which then also changes
    :math:`\mathbf{h}_t = \mathbf{o}_t\odot\tanh\mathbf{c}_t`), the exact derivative is

    .. math::

        \frac{d\mathbf{c}_T}{d\mathbf{c}_t} = P_c\, J_T J_{T-1}\cdots J_{t+1}
          \begin{bmatrix}\operatorname{diag}(\mathbf{o}_t\odot(1-\tanh^2\mathbf{c}_t))\\ I\end{bmatrix},
        \qquad P_c = [0\ \ I],

    with :math:`J_s` the ``(2H, 2H)`` state Jacobian of step ``s``. The direct path alone gives
    :math:`\prod_{s=t+1}^{T}\operatorname{diag}(\mathbf{f}_s)`.

    Args:
        xs: ``(T, B, D)`` inputs. params: LSTM parameters. h0, c0: ``(B, H)`` or None.

    Returns:
        ``(direct, total)``, each ``(T, B, H, H)``; index ``t - 1`` holds ``dc_T/dc_t`` for
        ``t = 1, …, T`` (the last entry is the identity).
    """
    hs, _, cache = lstm_forward(xs, params, h0, c0)
    T, B, H = hs.shape
    dt = hs.dtype
    eye = np.eye(H, dtype=dt)
    M = np.zeros((B, H, 2 * H), dtype=dt)  # dc_T / d(h_t, c_t), starting at t = T
    M[:, :, H:] = eye
    f_prod = np.ones((B, H), dtype=dt)  # ∏ f_s over s > t
    direct = np.empty((T, B, H, H), dtype=dt)
    total = np.empty_like(direct)
    for t in reversed(range(T)):  # 0-based index of c_{t+1} in the text's numbering
        k = cache.gates[t][:, 3 * H:] * (1.0 - cache.tanh_cs[t] ** 2)  # (B, H) dh_t/dc_t, diagonal
        total[t] = M[:, :, :H] * k[:, None, :] + M[:, :, H:]
        direct[t] = f_prod[:, :, None] * eye
        if t > 0:
            c_prev = cache.cs[t - 1]
            J = _blocks(cache.gates[t], c_prev, cache.tanh_cs[t], params["W_hh"])
            Js = np.block([[J.dh_dh, J.dh_dc], [J.dc_dh, J.dc_dc]])  # (B, 2H, 2H)
            M = M @ Js
            f_prod = f_prod * cache.gates[t][:, H:2 * H]
    return direct, total
