r"""xLSTM's two cells (Beck et al. 2024): sLSTM (exponential gating, stabilised) and mLSTM (matrix memory).

sLSTM, one head, gate order i, f, z, o (``z`` is the LSTM's candidate ``g``):

.. math::
    \begin{aligned}
    \tilde\vi_t, \tilde\vf_t, \tilde\vz_t, \tilde\vo_t &= W \vx_t + R \vh_{t-1} + \vb \\
    \vc_t = \vf_t \odot \vc_{t-1} + \vi_t \odot \tanh(\tilde\vz_t), \quad
    \vn_t &= \vf_t \odot \vn_{t-1} + \vi_t, \quad
    \vh_t = \sigma(\tilde\vo_t) \odot \vc_t / \vn_t
    \end{aligned}

with :math:`\vi_t = \exp(\tilde\vi_t)` and :math:`\vf_t = \sigma(\tilde\vf_t)` (or
:math:`\exp(\tilde\vf_t)`). The exponential overflows, so the cell carries a stabiliser
:math:`\vm_t = \max(\log\vf_t + \vm_{t-1}, \tilde\vi_t)` and uses
:math:`\vi'_t = \exp(\tilde\vi_t - \vm_t)`, :math:`\vf'_t = \exp(\log\vf_t + \vm_{t-1} - \vm_t)`
in place of :math:`\vi_t, \vf_t`: then :math:`\vc'_t = e^{-\vm_t}\vc_t` and
:math:`\vn'_t = e^{-\vm_t}\vn_t`, and :math:`\vh_t` (a ratio) is unchanged.

mLSTM, one head of size ``H``; the gates read only :math:`\vx_t`, and :math:`i_t, f_t` are scalars:

.. math::
    \begin{aligned}
    \vq_t &= W_q \vx_t + \vb_q, \quad \vk_t = (W_k \vx_t + \vb_k)/\sqrt{H}, \quad
    \vv_t = W_v \vx_t + \vb_v \\
    C_t &= f_t C_{t-1} + i_t\, \vv_t \vk_t^\top, \qquad \vn_t = f_t \vn_{t-1} + i_t \vk_t \\
    \vh_t &= \sigma(W_o \vx_t + \vb_o) \odot \frac{C_t \vq_t}{\max(|\vn_t^\top \vq_t|, 1)}
    \end{aligned}

(:math:`C_t` is ``(H, H)``, the covariance update of a key-value memory), stabilised the same way;
the bound 1 becomes :math:`e^{-m_t}` for the scaled :math:`C'_t, \vn'_t`. Unrolled, :math:`C_t \vq_t =
\sum_{s \le t} D_{ts}\, (\vk_s^\top \vq_t)\, \vv_s` with :math:`D_{ts} = i_s \prod_{r=s+1}^t f_r`:
gated causal linear attention, computed for all :math:`t` at once by ``mode="parallel"``
(:math:`O(T^2)` memory, as attention).

Both layers follow ``torch.nn.LSTM``'s contract for one time-major layer (``forward(x (T, B, D),
hx=None) -> (output (T, B, H), state)``); their states are their own (sLSTM: ``(h, c, n, m)``,
mLSTM: ``(C, n, m)``), and ``hx`` must be None (zero state).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ._checks import check_choice, check_size

FORGET_GATES = ("sigmoid", "exp")
MLSTM_MODES = ("parallel", "sequential")


def _log_forget(f_pre: torch.Tensor, kind: str) -> torch.Tensor:
    """:math:`\\log f`: ``logsigmoid`` for a sigmoid forget gate, the pre-activation itself for exp."""
    return F.logsigmoid(f_pre) if kind == "sigmoid" else f_pre


class _Layer(nn.Module):
    def _check(self, x, hx):
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[2] != self.input_size:
            got = f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must be a tensor of shape (T, B, {self.input_size}); got {got}")
        if x.dtype != self.W.weight.dtype:
            raise TypeError(f"x must have the parameters' dtype {self.W.weight.dtype}; got {x.dtype}")
        if hx is not None:
            raise ValueError(f"{type(self).__name__} starts from the zero state: hx must be None; "
                             f"got {type(hx).__name__}")


class SLSTM(_Layer):
    r"""sLSTM layer (one head): exponential input gate, normaliser :math:`\vn_t`, stabiliser :math:`\vm_t`.

    Args:
        input_size: ``D``. hidden_size: ``H``.
        forget_gate: ``"sigmoid"`` (default) or ``"exp"``.
        forget_bias: the forget gate's initial bias (all other biases start at 0).

    Attributes:
        W: ``nn.Linear(D, 4H)``, input weights and the bias, rows i, f, z, o.
        R: ``nn.Linear(H, 4H, bias=False)``, recurrent weights.
    """

    def __init__(self, input_size: int, hidden_size: int, forget_gate: str = "sigmoid",
                 forget_bias: float = 3.0):
        super().__init__()
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = H = check_size("hidden_size", hidden_size)
        self.forget_gate = check_choice("forget_gate", forget_gate, FORGET_GATES)
        self.batch_first, self.num_layers, self.bidirectional = False, 1, False
        self.W = nn.Linear(self.input_size, 4 * H)
        self.R = nn.Linear(H, 4 * H, bias=False)
        with torch.no_grad():
            self.W.bias.zero_()
            self.W.bias[H : 2 * H] = float(forget_bias)

    def forward(self, x: torch.Tensor, hx=None):
        """``x (T, B, D)`` -> ``(output (T, B, H), (h, c, n, m))``, each state ``(1, B, H)``."""
        self._check(x, hx)
        B, H = x.shape[1], self.hidden_size
        pre_x = self.W(x)  # (T, B, 4H): the input's part of every gate, for all t at once
        h = c = n = m = x.new_zeros(B, H)
        hs = []
        for t in range(x.shape[0]):
            i_pre, f_pre, z_pre, o_pre = (pre_x[t] + self.R(h)).chunk(4, dim=-1)  # (B, H) each
            log_f = _log_forget(f_pre, self.forget_gate)
            m_new = torch.maximum(log_f + m, i_pre)  # the stabiliser
            i_s, f_s = torch.exp(i_pre - m_new), torch.exp(log_f + m - m_new)  # i', f' <= 1
            c = f_s * c + i_s * torch.tanh(z_pre)
            n = f_s * n + i_s
            h = torch.sigmoid(o_pre) * c / n
            m = m_new
            hs.append(h)
        return torch.stack(hs), tuple(s[None] for s in (h, c, n, m))


class MLSTM(_Layer):
    r"""mLSTM layer (one head): matrix memory :math:`C_t = f_t C_{t-1} + i_t \vv_t\vk_t^\top`.

    Args:
        input_size: ``D``. hidden_size: ``H`` (the head size: keys, values, queries, output).
        mode: ``"parallel"`` (the :math:`T \times T` gated-attention form) or ``"sequential"``
            (the recurrence, :math:`O(H^2)` state per sequence).
        forget_gate: ``"sigmoid"`` (default) or ``"exp"``.
        forget_bias: the forget gate's initial bias (the input gate's starts at 0).

    Attributes:
        W: ``nn.Linear(D, 4H + 2)``, rows q (H), k (H), v (H), o (H), then the scalar
            pre-activations of i and f.
    """

    def __init__(self, input_size: int, hidden_size: int, mode: str = "parallel",
                 forget_gate: str = "sigmoid", forget_bias: float = 3.0):
        super().__init__()
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = H = check_size("hidden_size", hidden_size)
        self.mode = check_choice("mode", mode, MLSTM_MODES)
        self.forget_gate = check_choice("forget_gate", forget_gate, FORGET_GATES)
        self.batch_first, self.num_layers, self.bidirectional = False, 1, False
        self.W = nn.Linear(self.input_size, 4 * H + 2)
        with torch.no_grad():
            self.W.bias[4 * H :] = torch.tensor([0.0, float(forget_bias)])

    def projections(self, x: torch.Tensor):
        """``q, k, v, o_pre`` ``(T, B, H)`` and ``i_pre, log_f`` ``(T, B)`` for every step at once."""
        H = self.hidden_size
        p = self.W(x)  # (T, B, 4H + 2)
        q, k, v, o_pre = p[..., :H], p[..., H : 2 * H] / math.sqrt(H), p[..., 2 * H : 3 * H], p[..., 3 * H : 4 * H]
        return q, k, v, o_pre, p[..., 4 * H], _log_forget(p[..., 4 * H + 1], self.forget_gate)

    def forward(self, x: torch.Tensor, hx=None):
        """``x (T, B, D)`` -> ``(output (T, B, H), (C (1, B, H, H), n (1, B, H), m (1, B)))``;
        the parallel mode returns the final state too, computed from its own last row."""
        self._check(x, hx)
        q, k, v, o_pre, i_pre, log_f = self.projections(x)
        if self.mode == "parallel":
            return self._parallel(q, k, v, o_pre, i_pre, log_f)
        B, H = x.shape[1], self.hidden_size
        C, n, m = x.new_zeros(B, H, H), x.new_zeros(B, H), x.new_zeros(B)
        hs = []
        for t in range(x.shape[0]):
            m_new = torch.maximum(log_f[t] + m, i_pre[t])  # (B,)
            i_s, f_s = torch.exp(i_pre[t] - m_new), torch.exp(log_f[t] + m - m_new)  # (B,)
            C = f_s[:, None, None] * C + i_s[:, None, None] * v[t][:, :, None] * k[t][:, None, :]
            n = f_s[:, None] * n + i_s[:, None] * k[t]
            m = m_new
            num = torch.einsum("bij,bj->bi", C, q[t])  # (B, H): C_t q_t
            den = torch.maximum((n * q[t]).sum(-1).abs(), torch.exp(-m))  # (B,)
            hs.append(torch.sigmoid(o_pre[t]) * num / den[:, None])
        return torch.stack(hs), (C[None], n[None], m[None])

    def _parallel(self, q, k, v, o_pre, i_pre, log_f):
        T = q.shape[0]
        F_cum = torch.cumsum(log_f, dim=0)  # (T, B): sum_{r <= t} log f_r
        # log D[t, s] = F_t - F_s + i~_s for s <= t, -inf above the diagonal
        log_D = F_cum[:, None, :] - F_cum[None, :, :] + i_pre[None, :, :]  # (T, S, B)
        causal = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
        log_D = log_D.masked_fill(~causal[:, :, None], float("-inf"))
        m = log_D.max(dim=1).values  # (T, B): the row's stabiliser
        D = torch.exp(log_D - m[:, None, :])  # (T, S, B), at most 1
        scores = torch.einsum("tbh,sbh->tsb", q, k) * D  # (T, S, B): D_ts k_s . q_t
        num = torch.einsum("tsb,sbh->tbh", scores, v)  # (T, B, H)
        den = torch.maximum(scores.sum(dim=1).abs(), torch.exp(-m))  # (T, B)
        hs = torch.sigmoid(o_pre) * num / den[..., None]
        # the final state, from the last row: C' = sum_s D_Ts v_s k_s^T, n' = sum_s D_Ts k_s
        C = torch.einsum("sb,sbi,sbj->bij", D[-1], v, k)
        n = torch.einsum("sb,sbj->bj", D[-1], k)
        return hs, (C[None], n[None], m[-1][None])
