r"""Probing a trained character LSTM's units: clamp one cell-state unit, and read each unit's time scale.

Clamping is an intervention, the causal counterpart of a correlation: at every step the chosen
unit's cell state is overwritten *before* the hidden state is read out from it,

.. math::

    \mathbf{c}_t = \mathbf{f}_t \odot \mathbf{c}_{t-1} + \mathbf{i}_t \odot \mathbf{g}_t, \qquad
    c_{t,j} \leftarrow v, \qquad
    \mathbf{h}_t = \mathbf{o}_t \odot \tanh(\mathbf{c}_t)

so the unit's value ``v`` reaches the read-out, the gates of the next step and the next cell
state, exactly as if the network had computed it. The gates are computed with
:func:`lstm_course.torch.lstm_cell_step`'s equations from ``torch.nn.LSTM``'s weights (PyTorch's
gate order i, f, g, o); with no clamp the probabilities equal the model's own.

A unit's time scale: along the cell path a stored value is multiplied by :math:`f_{t,j}` at every
step, so over :math:`k` steps by :math:`\prod f \approx \exp(k\,\overline{\log f_j})`, where
:math:`\overline{\log f_j}` is the mean of :math:`\log f_{t,j}` over a text. The characteristic
time :math:`\tau_j = -1/\overline{\log f_j}` is the number of steps over which a value decays by
a factor :math:`e`: about 1.4 steps for :math:`f = 0.5`, 100 steps for :math:`f = 0.99`.
"""
from __future__ import annotations

import numbers

import numpy as np
import torch

from .charlm import CharLM, _check_model
from .text import _check_ids


@torch.no_grad()
def clamped_next_char_probs(model: CharLM, ids: torch.Tensor, unit: int | None = None,
                            value: float = 0.0) -> torch.Tensor:
    """Next-character probabilities after each character of ``ids``, one cell unit clamped.

    Args:
        model: a :class:`~lstm_course.charlm.CharLM` with ``cell="lstm"``.
        ids: ``(N,)`` character ids, read from a zero state.
        unit: the cell-state unit ``j`` to clamp, in ``[0, H)``; None clamps nothing.
        value: the value ``v`` that ``c_{t,j}`` is set to at every step.

    Returns:
        ``(N, V)``: row ``t`` is :math:`p(u_{t+1} \\mid u_{\\le t})` under the intervention.
    """
    if _check_model(model).cell != "lstm":
        raise ValueError(f"clamping needs an LSTM model; got cell={model.cell!r}")
    _check_ids("ids", ids, 1, "(N,)")
    r = model.rnn
    H = r.hidden_size
    if unit is not None and (isinstance(unit, bool) or not isinstance(unit, numbers.Integral)
                             or not 0 <= unit < H):
        raise ValueError(f"unit must be None or an integer in [0, {H - 1}]; got {unit!r}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise TypeError(f"value must be a finite number; got {value!r}")
    ax = model.embedding(ids) @ r.weight_ih_l0.T + r.bias_ih_l0 + r.bias_hh_l0  # (N, 4H)
    h, c = torch.zeros(1, H), torch.zeros(1, H)
    hs = []
    for ax_t in ax:
        a = ax_t[None] + h @ r.weight_hh_l0.T  # (1, 4H)
        a_i, a_f, a_g, a_o = a.chunk(4, dim=1)
        c = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)
        if unit is not None:
            c[:, unit] = value  # the intervention, before the read-out
        h = torch.sigmoid(a_o) * torch.tanh(c)
        hs.append(h)
    return torch.softmax(model.readout(torch.cat(hs)), dim=-1)  # (N, V)


def forget_time_scales(gates: torch.Tensor) -> np.ndarray:
    """Each unit's characteristic time :math:`\\tau_j = -1/\\overline{\\log f_j}` in steps.

    Args:
        gates: ``(N, 4H)`` gate values in the order i, f, g, o, as
            :func:`lstm_course.charlm.lstm_trace` returns them.

    Returns:
        ``(H,)`` time scales (inf for a unit whose forget gate is exactly 1 throughout).
    """
    if not isinstance(gates, torch.Tensor) or gates.ndim != 2 or gates.shape[1] % 4:
        raise ValueError(f"gates must be a (N, 4H) tensor; got {getattr(gates, 'shape', type(gates).__name__)}")
    H = gates.shape[1] // 4
    log_f = torch.log(gates[:, H:2 * H].double()).mean(0).numpy()  # (H,) mean log f_j
    with np.errstate(divide="ignore"):
        return 1.0 / (0.0 - log_f)  # 0.0 - 0.0 is +0.0, so f = 1 gives +inf
