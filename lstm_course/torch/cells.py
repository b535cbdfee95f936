r"""The RNN, LSTM and GRU cells in PyTorch, with their gate equations written out one per line.

Each cell is two parts: a step function (``rnn_cell_step``, ``lstm_cell_step``,
``gru_cell_step``) that takes the input projection ``ax = W_ih x_t + b`` already computed and
does the rest of one time step, and a ``torch.nn.Module`` with ``torch.nn``'s contract. The
sequence modules in :mod:`lstm_course.torch.layers` call the same step functions, after one
matrix product for the input projections of all time steps.

Shapes: ``B`` batch, ``D`` input size, ``H`` hidden size. Gate order as ``torch.nn``:
LSTM i, f, g, o; GRU r, z, n.
"""
from __future__ import annotations

import torch
from torch import nn

from . import _checks as C
from ._base import RecurrentBase
from .variants import LSTMVariantMixin


def rnn_cell_step(ax, h_prev, W_hh, nonlinearity="tanh"):
    r"""One step of the Elman RNN after the input projection.

    .. math::

        \mathbf{h}_t = \tanh(W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + \mathbf{b}_{hh} + W_{hh}\mathbf{h}_{t-1})

    Args:
        ax: ``(B, H)`` input projection with both biases,
            :math:`W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + \mathbf{b}_{hh}`.
        h_prev: ``(B, H)`` hidden state :math:`\mathbf{h}_{t-1}`.
        W_hh: ``(H, H)``.
        nonlinearity: ``"tanh"`` (default) or ``"relu"``, as ``torch.nn.RNN``.

    Returns:
        ``h`` ``(B, H)``.
    """
    a = torch.addmm(ax, h_prev, W_hh.t())  # (B, H)
    return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)


def lstm_cell_step(ax, h_prev, c_prev, W_hh, peepholes=(None, None, None), *,
                   coupled=False, forget_gate=True, output_activation=True,
                   input_gate=True, output_gate=True, input_activation=True):
    r"""One LSTM step after the input projection, variants included.

    .. math::

        \mathbf{a}_t &= W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + \mathbf{b}_{hh} + W_{hh}\mathbf{h}_{t-1}
            = [\mathbf{a}^i_t; \mathbf{a}^f_t; \mathbf{a}^g_t; \mathbf{a}^o_t] \\
        \mathbf{i}_t &= \sigma(\mathbf{a}^i_t) \qquad
        \mathbf{f}_t = \sigma(\mathbf{a}^f_t) \qquad
        \mathbf{g}_t = \tanh(\mathbf{a}^g_t) \\
        \mathbf{c}_t &= \mathbf{f}_t \odot \mathbf{c}_{t-1} + \mathbf{i}_t \odot \mathbf{g}_t \\
        \mathbf{o}_t &= \sigma(\mathbf{a}^o_t) \qquad
        \mathbf{h}_t = \mathbf{o}_t \odot \tanh(\mathbf{c}_t)

    The options change single lines (see :mod:`lstm_course.torch.variants`): peepholes add
    :math:`\mathbf{w}_{ci}\odot\mathbf{c}_{t-1}` to :math:`\mathbf{a}^i`,
    :math:`\mathbf{w}_{cf}\odot\mathbf{c}_{t-1}` to :math:`\mathbf{a}^f` and
    :math:`\mathbf{w}_{co}\odot\mathbf{c}_t` to :math:`\mathbf{a}^o`; ``coupled`` sets
    :math:`\mathbf{f}_t = 1 - \mathbf{i}_t`; ``forget_gate=False`` gives
    :math:`\mathbf{c}_t = \mathbf{c}_{t-1} + \mathbf{i}_t\odot\mathbf{g}_t`;
    ``output_activation=False`` gives :math:`\mathbf{h}_t = \mathbf{o}_t\odot\mathbf{c}_t`;
    ``input_gate=False`` sets :math:`\mathbf{i}_t = 1` (Greff et al.'s NIG), ``output_gate=False``
    sets :math:`\mathbf{o}_t = 1` (NOG), ``input_activation=False`` gives
    :math:`\mathbf{g}_t = \mathbf{a}^g_t` (NIAF, no tanh on the candidate).

    Args:
        ax: ``(B, 4H)`` input projection with both biases,
            :math:`W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + \mathbf{b}_{hh}`.
        h_prev, c_prev: ``(B, H)`` states :math:`\mathbf{h}_{t-1}`, :math:`\mathbf{c}_{t-1}`.
        W_hh: ``(4H, H)``.
        peepholes: ``(w_ci, w_cf, w_co)``, each ``(H,)`` or None (no peephole).

    Returns:
        ``(h, c)``, each ``(B, H)``.
    """
    w_ci, w_cf, w_co = peepholes
    a = torch.addmm(ax, h_prev, W_hh.t())  # (B, 4H) pre-activations a_t
    a_i, a_f, a_g, a_o = a.chunk(4, dim=1)  # (B, H) each
    if input_gate:
        i = torch.sigmoid(a_i if w_ci is None else a_i + w_ci * c_prev)  # input gate
    else:
        i = torch.ones_like(a_i)  # NIG: every candidate is written in full
    if not forget_gate:
        f = None  # the 1997 cell: c_{t-1} passes unscaled
    elif coupled:
        f = 1.0 - i  # CIFG: forget exactly what is written
    else:
        f = torch.sigmoid(a_f if w_cf is None else a_f + w_cf * c_prev)  # forget gate
    g = torch.tanh(a_g) if input_activation else a_g  # candidate (NIAF: no tanh)
    c = (c_prev if f is None else f * c_prev) + i * g  # cell state
    if output_gate:
        o = torch.sigmoid(a_o if w_co is None else a_o + w_co * c)  # output gate
    else:
        o = torch.ones_like(a_o)  # NOG: the cell is always read out
    h = o * (torch.tanh(c) if output_activation else c)  # hidden state
    return h, c


def gru_cell_step(ax, h_prev, W_hh, b_hh=None, *, reset_after=True):
    r"""One GRU step after the input projection, in ``torch.nn.GRU``'s form or in Cho et al.'s.

    .. math::

        \mathbf{r}_t &= \sigma(W_{ir}\mathbf{x}_t + \mathbf{b}_{ir} + W_{hr}\mathbf{h}_{t-1} + \mathbf{b}_{hr}) \\
        \mathbf{z}_t &= \sigma(W_{iz}\mathbf{x}_t + \mathbf{b}_{iz} + W_{hz}\mathbf{h}_{t-1} + \mathbf{b}_{hz}) \\
        \mathbf{n}_t &= \tanh(W_{in}\mathbf{x}_t + \mathbf{b}_{in}
            + \mathbf{r}_t \odot (W_{hn}\mathbf{h}_{t-1} + \mathbf{b}_{hn}))
            && \text{reset\_after=True (torch.nn.GRU, cuDNN)} \\
        \mathbf{n}_t &= \tanh(W_{in}\mathbf{x}_t + \mathbf{b}_{in}
            + W_{hn}(\mathbf{r}_t \odot \mathbf{h}_{t-1}) + \mathbf{b}_{hn})
            && \text{reset\_after=False (Cho et al., 2014)} \\
        \mathbf{h}_t &= (1 - \mathbf{z}_t) \odot \mathbf{n}_t + \mathbf{z}_t \odot \mathbf{h}_{t-1}

    where :math:`\mathbf{r}_t`, :math:`\mathbf{z}_t`, :math:`\mathbf{n}_t` are the reset gate,
    the update gate and the candidate state, :math:`\sigma` the logistic sigmoid, :math:`\odot`
    the element-wise product, and :math:`W_{hh} = [W_{hr}; W_{hz}; W_{hn}]`,
    :math:`\mathbf{b}_{hh} = [\mathbf{b}_{hr}; \mathbf{b}_{hz}; \mathbf{b}_{hn}]` (likewise
    :math:`W_{ih}`, :math:`\mathbf{b}_{ih}`), gate order r, z, n.

    The two forms differ only in where the reset gate acts, and they are different functions of
    the same weights: :math:`W_{hn}(\mathbf{r}_t\odot\mathbf{h}_{t-1}) \ne
    \mathbf{r}_t\odot(W_{hn}\mathbf{h}_{t-1})` unless :math:`\mathbf{r}_t` is the same in every
    unit, and Cho's form adds :math:`\mathbf{b}_{hn}` unscaled. With ``reset_after=True`` the
    three recurrent products are one, :math:`W_{hh}\mathbf{h}_{t-1}` ``(B, 3H)``, computed as soon
    as :math:`\mathbf{h}_{t-1}` is known; :math:`\mathbf{r}_t` is applied afterwards, element-wise.
    With ``reset_after=False`` the n-block's product needs :math:`\mathbf{r}_t` first, so each step
    makes two dependent products: :math:`[W_{hr}; W_{hz}]\,\mathbf{h}_{t-1}` ``(B, 2H)``, then
    :math:`W_{hn}(\mathbf{r}_t\odot\mathbf{h}_{t-1})` ``(B, H)``: the same FLOPs, one more product
    on the critical path. In that form no bias is scaled by a gate, so :math:`\mathbf{b}_{hh}` may
    be folded into ``ax`` (pass ``b_hh=None``), as the modules do.

    Args:
        ax: ``(B, 3H)`` input projection :math:`W_{ih}\mathbf{x}_t + \mathbf{b}_{ih}`
            (with ``reset_after=False``, optionally :math:`+\,\mathbf{b}_{hh}` too).
        h_prev: ``(B, H)`` hidden state :math:`\mathbf{h}_{t-1}`.
        W_hh: ``(3H, H)``.
        b_hh: ``(3H,)`` or None (no recurrent bias, or already in ``ax``).
        reset_after: ``True`` (default): ``torch.nn.GRU``'s form; ``False``: Cho et al.'s.

    Returns:
        ``h`` ``(B, H)``.
    """
    if reset_after is True:
        ah = h_prev @ W_hh.t() if b_hh is None else torch.addmm(b_hh, h_prev, W_hh.t())  # (B, 3H)
        ax_r, ax_z, ax_n = ax.chunk(3, dim=1)
        ah_r, ah_z, ah_n = ah.chunk(3, dim=1)
        r = torch.sigmoid(ax_r + ah_r)  # reset gate
        z = torch.sigmoid(ax_z + ah_z)  # update gate
        n = torch.tanh(ax_n + r * ah_n)  # candidate: reset after the product
        h = (1.0 - z) * n + z * h_prev  # hidden state
        return h
    C.check_bool("reset_after", reset_after)
    H = W_hh.shape[1]
    if b_hh is not None:
        ax = ax + b_hh  # both biases unscaled in this form
    a_rz = torch.addmm(ax[:, : 2 * H], h_prev, W_hh[: 2 * H].t())  # (B, 2H): [W_hr; W_hz] h_{t-1}
    r, z = torch.sigmoid(a_rz).chunk(2, dim=1)  # reset and update gates, (B, H) each
    n = torch.tanh(torch.addmm(ax[:, 2 * H :], r * h_prev, W_hh[2 * H :].t()))  # candidate: reset before W_hn
    h = (1.0 - z) * n + z * h_prev  # hidden state
    return h


class RNNNonlinearityMixin:
    """The ``nonlinearity`` option of ``RNNCell`` and ``RNN``: ``"tanh"`` (default) or ``"relu"``, as torch.nn."""

    def _set_nonlinearity(self, nonlinearity):
        self.nonlinearity = C.check_choice("nonlinearity", nonlinearity, ("tanh", "relu"))

    def _torch_kwargs(self):
        return {**super()._torch_kwargs(), "nonlinearity": self.nonlinearity}

    @classmethod
    def _kwargs_from_torch(cls, module):
        return {**super()._kwargs_from_torch(module), "nonlinearity": module.nonlinearity}


class GRUFormMixin:
    """The ``reset_after`` option shared by :class:`GRUCell` and :class:`lstm_course.torch.GRU`."""

    _transfer_options = ("reset_after",)  # from_torch accepts it, and refuses False (below)

    def _init_form(self, reset_after) -> None:
        self.reset_after = C.check_bool("reset_after", reset_after)

    def _check_expressible(self) -> None:
        if not self.reset_after:
            raise ValueError(
                f"torch.nn.{self._torch_type.__name__} cannot express Cho et al.'s GRU (the reset gate "
                "applied before W_hn): weight transfer to and from torch.nn needs reset_after=True; got "
                "reset_after=False. The parameters have the same names and shapes in both forms, so "
                "load_state_dict copies them (the result is a different function of the same weights)"
            )

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")


class _CellBase(RecurrentBase):
    """What the three cells share: the input check, unbatched input, the input projection."""

    def _start(self, x):
        """Check ``x`` and return it as ``(B, D)`` with a flag saying whether it was batched."""
        dtype, device = self._param_dtype_device()
        name = type(self).__name__
        batched = C.check_input(name, x, self.input_size, "(B, D)", "(D,)", dtype, device)
        return (x if batched else x.unsqueeze(0)), batched

    def _state(self, name, s, B, batched):
        """A ``(B, H)`` state from ``s`` (``(B, H)``, or ``(H,)`` for unbatched input), zeros if None."""
        dtype, device = self._param_dtype_device()
        H = self.hidden_size
        if s is None:
            return torch.zeros(B, H, dtype=dtype, device=device)
        shape, names = ((B, H), "(B, H)") if batched else ((H,), "(H,)")
        C.check_state(f"{type(self).__name__} {name}", s, shape, names, dtype, device)
        return s if batched else s.unsqueeze(0)

    def _ax(self, x, both_biases):
        """Input projection ``W_ih x (+ b_ih (+ b_hh))``, ``(B, G*H)``."""
        W_ih, _, b_ih, b_hh = self._weights()
        if b_ih is None:
            return x @ W_ih.t()
        return torch.addmm(b_ih + b_hh if both_biases else b_ih, x, W_ih.t())


class RNNCell(RNNNonlinearityMixin, _CellBase):
    r"""An Elman RNN cell (the equation is in :func:`rnn_cell_step`).

    .. math::

        \mathbf{h}' = \tanh(W_{ih}\mathbf{x} + \mathbf{b}_{ih} + W_{hh}\mathbf{h} + \mathbf{b}_{hh})

    Same contract as ``torch.nn.RNNCell``. Args: ``input_size`` (D), ``hidden_size`` (H),
    ``bias``; keyword ``nonlinearity`` (``"tanh"`` or ``"relu"``), ``device``, ``dtype``.
    Forward: ``x (B, D)`` or ``(D,)``, ``hx (B, H)`` or ``(H,)`` (zeros when None) → ``h'`` like ``hx``.
    """

    _num_gates, _torch_type = 1, nn.RNNCell

    def __init__(self, input_size, hidden_size, bias=True, *, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        self._set_nonlinearity(nonlinearity)
        self.reset_parameters()

    def forward(self, x, hx=None):
        x, batched = self._start(x)
        h_prev = self._state("hx", hx, x.shape[0], batched)
        h = rnn_cell_step(self._ax(x, True), h_prev, self._weights()[1], self.nonlinearity)
        return h if batched else h.squeeze(0)


class LSTMCell(LSTMVariantMixin, _CellBase):
    r"""An LSTM cell; the equations are in :func:`lstm_cell_step`.

    Same contract as ``torch.nn.LSTMCell``: ``LSTMCell(input_size, hidden_size, bias=True)``;
    ``forward(x, hx=None)`` with ``x (B, D)`` or ``(D,)`` and ``hx = (h, c)``, each ``(B, H)``
    or ``(H,)`` (zeros when None), returns ``(h', c')`` shaped like the states.
    Parameters ``weight_ih (4H, D)``, ``weight_hh (4H, H)``, ``bias_ih (4H,)``, ``bias_hh (4H,)``.

    Keyword-only variant options (defaults: the standard LSTM; see
    :mod:`lstm_course.torch.variants`): ``peephole=False``, ``coupled=False``,
    ``forget_gate=True``, ``output_activation=True``, ``forget_bias=None``, ``input_gate=True``,
    ``output_gate=True``, ``input_activation=True``.
    """

    _num_gates, _torch_type = 4, nn.LSTMCell

    def __init__(self, input_size, hidden_size, bias=True, *, peephole=False, coupled=False, forget_gate=True,
                 output_activation=True, forget_bias=None, input_gate=True, output_gate=True,
                 input_activation=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        self._init_variant(peephole, coupled, forget_gate, output_activation, forget_bias,
                           input_gate, output_gate, input_activation,
                           {"device": device, "dtype": dtype})
        self.reset_parameters()

    def forward(self, x, hx=None):
        x, batched = self._start(x)
        B = x.shape[0]
        h_prev, c_prev = (None, None) if hx is None else C.check_pair("LSTMCell", hx)
        h_prev = self._state("h", h_prev, B, batched)
        c_prev = self._state("c", c_prev, B, batched)
        h, c = lstm_cell_step(self._ax(x, True), h_prev, c_prev, self._weights()[1], self._peepholes(),
                              **self._step_options())
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))

    def extra_repr(self):
        return super().extra_repr() + self._variant_repr()


class GRUCell(GRUFormMixin, _CellBase):
    r"""A GRU cell with ``torch.nn.GRUCell``'s contract; the equations are in :func:`gru_cell_step`.

    .. math::

        \mathbf{h}' = (1 - \mathbf{z}) \odot \mathbf{n} + \mathbf{z} \odot \mathbf{h}

    ``GRUCell(input_size, hidden_size, bias=True, *, reset_after=True)``. Forward: ``x (B, D)``
    or ``(D,)``, ``hx (B, H)`` or ``(H,)`` (zeros when None) → ``h'`` like ``hx``. Parameters
    ``weight_ih (3H, D)``, ``weight_hh (3H, H)``, ``bias_ih (3H,)``, ``bias_hh (3H,)``, order r, z, n.

    Args:
        reset_after: ``True`` (default): ``torch.nn.GRUCell``'s form,
            :math:`\mathbf{n} = \tanh(W_{in}\mathbf{x} + \mathbf{b}_{in} + \mathbf{r}\odot(W_{hn}\mathbf{h} + \mathbf{b}_{hn}))`;
            ``False``: Cho et al. (2014),
            :math:`\mathbf{n} = \tanh(W_{in}\mathbf{x} + \mathbf{b}_{in} + W_{hn}(\mathbf{r}\odot\mathbf{h}) + \mathbf{b}_{hn})`.
            Same parameters in both; ``from_torch``/``to_torch`` refuse ``False``.
    """

    _num_gates, _torch_type = 3, nn.GRUCell

    def __init__(self, input_size, hidden_size, bias=True, *, reset_after=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        self._init_form(reset_after)
        self.reset_parameters()

    def forward(self, x, hx=None):
        x, batched = self._start(x)
        h_prev = self._state("hx", hx, x.shape[0], batched)
        _, W_hh, _, b_hh = self._weights()
        ra = self.reset_after  # Cho's form (False) adds b_hh unscaled: fold it into the projection
        h = gru_cell_step(self._ax(x, not ra), h_prev, W_hh, b_hh if ra else None, reset_after=ra)
        return h if batched else h.squeeze(0)
