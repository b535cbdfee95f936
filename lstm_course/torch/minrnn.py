r"""minLSTM and minGRU (Feng et al. 2024): gates that read only :math:`x_t`, so a scan computes them.

minLSTM, one layer:

.. math::
    \begin{aligned}
    \vf_t &= \sigma(W_f \vx_t + \vb_f), \quad \vi_t = \sigma(W_i \vx_t + \vb_i), \quad
    \tilde\vh_t = W_h \vx_t + \vb_h \\
    \vf'_t &= \frac{\vf_t}{\vf_t + \vi_t}, \quad \vi'_t = \frac{\vi_t}{\vf_t + \vi_t} \\
    \vh_t &= \vf'_t \odot \vh_{t-1} + \vi'_t \odot \tilde\vh_t
    \end{aligned}

minGRU: :math:`\vz_t = \sigma(W_z \vx_t + \vb_z)`, :math:`\tilde\vh_t = W_h \vx_t + \vb_h`,
:math:`\vh_t = (1 - \vz_t) \odot \vh_{t-1} + \vz_t \odot \tilde\vh_t`.

Neither gate sees :math:`\vh_{t-1}`: the recurrence is :math:`\vh_t = \va_t \odot \vh_{t-1} +
\vb_t` with :math:`\va, \vb` computed for all :math:`t` at once, and
:func:`lstm_course.scan.parallel_scan` gives every :math:`\vh_t` in :math:`O(\log T)` steps
(``mode="parallel"``); ``mode="sequential"`` runs the loop, the same numbers up to rounding.

Both follow ``torch.nn.GRU``'s contract for one time-major layer (``forward(x (T, B, D),
hx=None) -> (output (T, B, H), h_n (1, B, H))``), so
:meth:`lstm_course.models.SequenceModel.from_layer` trains them. Weights: one ``nn.Linear``,
``proj (G·H, D)`` with rows in the order of the equations (minLSTM: f, i, h̃; minGRU: z, h̃).
"""
from __future__ import annotations

import torch
from torch import nn

from ..scan import METHODS, parallel_scan
from ._checks import check_choice, check_size

MODES = ("parallel", "sequential")


class _MinRNN(nn.Module):
    GATES = 0  # rows of proj, in units of H

    def __init__(self, input_size: int, hidden_size: int, mode: str = "parallel",
                 method: str = "hillis_steele", forget_bias: float = 0.0):
        super().__init__()
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = H = check_size("hidden_size", hidden_size)
        self.mode = check_choice("mode", mode, MODES)
        self.method = check_choice("method", method, METHODS)
        if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float)):
            raise TypeError(f"forget_bias must be a number; got {type(forget_bias).__name__} {forget_bias!r}")
        self.batch_first, self.num_layers, self.bidirectional = False, 1, False
        self.proj = nn.Linear(self.input_size, self.GATES * H)
        with torch.no_grad():
            self._set_forget_bias(float(forget_bias))

    def _set_forget_bias(self, value: float) -> None:
        raise NotImplementedError

    def coefficients(self, x: torch.Tensor):
        """``(a, b)``, each ``(T, B, H)``: the recurrence is ``h_t = a_t * h_{t-1} + b_t``."""
        raise NotImplementedError

    def _check(self, x, hx):
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[2] != self.input_size:
            got = f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must be a tensor of shape (T, B, {self.input_size}); got {got}")
        if x.dtype != self.proj.weight.dtype:
            raise TypeError(f"x must have the parameters' dtype {self.proj.weight.dtype}; got {x.dtype}")
        if hx is None:
            return None
        want = (1, x.shape[1], self.hidden_size)
        if not isinstance(hx, torch.Tensor) or tuple(hx.shape) != want:
            got = tuple(hx.shape) if isinstance(hx, torch.Tensor) else type(hx).__name__
            raise ValueError(f"hx must be None or a tensor of shape {want}; got {got}")
        return hx[0]

    def forward(self, x: torch.Tensor, hx: torch.Tensor | None = None):
        """``x (T, B, D)``, ``hx (1, B, H)`` or None -> ``(output (T, B, H), h_n (1, B, H))``."""
        h0 = self._check(x, hx)
        a, b = self.coefficients(x)  # (T, B, H) each
        method = "sequential" if self.mode == "sequential" else self.method
        hs = parallel_scan(a, b, h0, method=method)  # (T, B, H)
        return hs, hs[-1:]

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, mode={self.mode!r}, method={self.method!r}"


class MinLSTM(_MinRNN):
    r"""minLSTM layer: :math:`\vh_t = \vf'_t \odot \vh_{t-1} + \vi'_t \odot \tilde\vh_t` with
    normalised gates :math:`\vf' + \vi' = 1` that read only :math:`\vx_t` (module docstring).

    Args:
        input_size: ``D``. hidden_size: ``H``.
        mode: ``"parallel"`` (a scan over time) or ``"sequential"`` (the loop).
        method: the scan of the parallel mode, one of :data:`lstm_course.scan.METHODS`.
        forget_bias: added to the forget gate's bias (the input gate's is unchanged); a
            positive value starts the layer remembering.
    """

    GATES = 3

    def _set_forget_bias(self, value):
        self.proj.bias[: self.hidden_size] += value

    def coefficients(self, x):
        f_pre, i_pre, h_tilde = self.proj(x).chunk(3, dim=-1)  # (T, B, H) each
        f, i = torch.sigmoid(f_pre), torch.sigmoid(i_pre)
        return f / (f + i), i / (f + i) * h_tilde


class MinGRU(_MinRNN):
    r"""minGRU layer: :math:`\vh_t = (1 - \vz_t) \odot \vh_{t-1} + \vz_t \odot \tilde\vh_t`,
    :math:`\vz_t = \sigma(W_z \vx_t + \vb_z)` (module docstring).

    Args: as :class:`MinLSTM`; ``forget_bias`` is subtracted from the update gate's bias
    (so that, as for minLSTM, a positive value starts the layer remembering).
    """

    GATES = 2

    def _set_forget_bias(self, value):
        self.proj.bias[: self.hidden_size] -= value

    def coefficients(self, x):
        z_pre, h_tilde = self.proj(x).chunk(2, dim=-1)  # (T, B, H) each
        z = torch.sigmoid(z_pre)
        return 1.0 - z, z * h_tilde
