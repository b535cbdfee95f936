r"""Single-layer RNN, LSTM and GRU over whole sequences, with ``torch.nn``'s contract.

Each module computes the input projections of all ``T`` steps as one matrix product,

.. math::

    A^x = X W_{ih}^\top + \mathbf{b} \qquad (X: (T B) \times D,\ A^x: (T B) \times G H),

then loops over time, calling the cell's step function (:mod:`lstm_course.torch.cells`)
for the recurrent product and the gates. Autograd differentiates through the loop; the
LSTM can instead use the hand-derived BPTT of :mod:`lstm_course.torch.bptt`
(``backward="bptt"``).

Shapes (as ``torch.nn``): input ``(T, B, D)``, or ``(B, T, D)`` with ``batch_first=True``,
or ``(T, D)`` unbatched; output ``(T, B, H)`` (``(B, T, H)``, ``(T, H)``); states
``h_0``, ``c_0``, ``h_n``, ``c_n`` ``(1, B, H)`` (``(1, H)`` unbatched). The leading 1 is
``num_layers * num_directions`` of ``torch.nn``: these modules have one layer, one direction.
"""
from __future__ import annotations

import torch
from torch import nn

from . import _checks as C
from ._base import RecurrentBase
from .bptt import lstm_bptt
from .cells import GRUFormMixin, RNNNonlinearityMixin, gru_cell_step, lstm_cell_step, rnn_cell_step
from .variants import LSTMVariantMixin


class _SequenceBase(RecurrentBase):
    """What the three sequence modules share: layouts, state checks, the input projection."""

    _suffix = "_l0"

    def __init__(self, input_size, hidden_size, bias=True, batch_first=False, *, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        self.batch_first = C.check_bool("batch_first", batch_first)

    def _torch_kwargs(self):
        return {**super()._torch_kwargs(), "batch_first": self.batch_first}

    @classmethod
    def _kwargs_from_torch(cls, module):
        return {**super()._kwargs_from_torch(module), "batch_first": module.batch_first}

    def _start(self, x):
        """Check ``x``; return it time-major ``(T, B, D)`` and whether it was batched."""
        dtype, device = self._param_dtype_device()
        layout = "(B, T, D)" if self.batch_first else "(T, B, D)"
        batched = C.check_input(type(self).__name__, x, self.input_size, layout, "(T, D)", dtype, device)
        if not batched:
            return x.unsqueeze(1), False
        return (x.transpose(0, 1) if self.batch_first else x), True

    def _state(self, name, s, B, batched):
        """A ``(B, H)`` state from ``s`` (``(1, B, H)``, or ``(1, H)`` unbatched); zeros if None."""
        dtype, device = self._param_dtype_device()
        H = self.hidden_size
        if s is None:
            return torch.zeros(B, H, dtype=dtype, device=device)
        shape, names = ((1, B, H), "(1, B, H)") if batched else ((1, H), "(1, H)")
        C.check_state(f"{type(self).__name__} {name}", s, shape, names, dtype, device)
        return s[0] if batched else s

    def _finish(self, output, states, batched):
        """Return the output in the caller's layout and each state as ``(1, B, H)`` / ``(1, H)``."""
        if not batched:
            return output.squeeze(1), list(states)  # (T, H); (1, H) each
        if self.batch_first:
            output = output.transpose(0, 1)  # (B, T, H)
        return output, [s.unsqueeze(0) for s in states]  # (1, B, H) each

    def _input_projection(self, x, both_biases):
        """``W_ih x_t (+ b_ih (+ b_hh))`` for all steps in one product: ``(T, B, G*H)``."""
        T, B, D = x.shape
        W_ih, _, b_ih, b_hh = self._weights()
        x2 = x.reshape(T * B, D)  # (T*B, D)
        if b_ih is None:
            ax = x2 @ W_ih.t()
        else:
            ax = torch.addmm(b_ih + b_hh if both_biases else b_ih, x2, W_ih.t())
        return ax.view(T, B, -1)  # (T, B, G*H)


class RNN(RNNNonlinearityMixin, _SequenceBase):
    r"""A single-layer Elman RNN over a sequence (the equation is in :func:`rnn_cell_step`).

    .. math::

        \mathbf{h}_t = \tanh(W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + W_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh})

    Same contract as a one-layer ``torch.nn.RNN``: ``RNN(input_size, hidden_size, bias=True,
    batch_first=False, *, nonlinearity="tanh")``; ``forward(x, hx=None) -> (output, h_n)``.
    Parameters ``weight_ih_l0 (H, D)``, ``weight_hh_l0 (H, H)``, ``bias_ih_l0 (H,)``, ``bias_hh_l0 (H,)``.
    """

    _num_gates, _torch_type = 1, nn.RNN

    def __init__(self, input_size, hidden_size, bias=True, batch_first=False, *, nonlinearity="tanh",
                 device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, batch_first, device=device, dtype=dtype)
        self._set_nonlinearity(nonlinearity)
        self.reset_parameters()

    def forward(self, x, hx=None):
        x, batched = self._start(x)  # (T, B, D)
        h = self._state("h_0", hx, x.shape[1], batched)  # (B, H)
        W_hh = self._weights()[1]
        hs = []
        for ax_t in self._input_projection(x, True).unbind(0):  # (B, H) each
            h = rnn_cell_step(ax_t, h, W_hh, self.nonlinearity)
            hs.append(h)
        output, (h_n,) = self._finish(torch.stack(hs), [h], batched)
        return output, h_n


class LSTM(LSTMVariantMixin, _SequenceBase):
    r"""A single-layer LSTM with ``torch.nn.LSTM``'s contract; equations in :func:`lstm_cell_step`.

    ``LSTM(input_size, hidden_size, bias=True, batch_first=False, *, peephole=False,
    coupled=False, forget_gate=True, output_activation=True, forget_bias=None, input_gate=True,
    output_gate=True, input_activation=True, backward="autograd")``; ``forward(x, hx=None) -> (output, (h_n, c_n))`` with
    ``hx = (h_0, c_0)``, each ``(1, B, H)`` (``(1, H)`` unbatched), zeros when None.
    Parameters ``weight_ih_l0 (4H, D)``, ``weight_hh_l0 (4H, H)``, ``bias_ih_l0 (4H,)``,
    ``bias_hh_l0 (4H,)`` in gate order i, f, g, o; with ``peephole=True`` also
    ``weight_ci``, ``weight_cf``, ``weight_co`` ``(H,)``.

    Args:
        backward: ``"autograd"`` lets autograd differentiate through the time loop;
            ``"bptt"`` runs the loop in a ``torch.autograd.Function`` whose backward is the
            book's hand-derived BPTT (:func:`lstm_course.torch.bptt.lstm_bptt`), standard
            equations only (``forget_bias`` allowed).
    """

    _num_gates, _torch_type = 4, nn.LSTM
    _transfer_options = ("backward",)

    def __init__(self, input_size, hidden_size, bias=True, batch_first=False, *, peephole=False, coupled=False,
                 forget_gate=True, output_activation=True, forget_bias=None, input_gate=True,
                 output_gate=True, input_activation=True, backward="autograd",
                 device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, batch_first, device=device, dtype=dtype)
        self._init_variant(peephole, coupled, forget_gate, output_activation, forget_bias,
                           input_gate, output_gate, input_activation,
                           {"device": device, "dtype": dtype})
        self.backward = C.check_choice("backward", backward, ("autograd", "bptt"))
        self._check_backward()
        self.reset_parameters()

    def _check_backward(self):
        if self.backward == "bptt" and not self.is_standard:
            raise ValueError(
                "backward='bptt' implements the standard LSTM's hand-derived gradients only; got "
                f"{self._variant_repr().lstrip(', ')}. Use backward='autograd' for the variants."
            )

    def forward(self, x, hx=None):
        x, batched = self._start(x)  # (T, B, D)
        B = x.shape[1]
        h_0, c_0 = (None, None) if hx is None else C.check_pair("LSTM", hx)
        h, c = self._state("h_0", h_0, B, batched), self._state("c_0", c_0, B, batched)  # (B, H)
        C.check_choice("backward", self.backward, ("autograd", "bptt"))
        self._check_backward()
        if self.backward == "bptt":
            output, h, c = lstm_bptt(x, h, c, *self._weights())
        else:
            W_hh, peepholes, options = self._weights()[1], self._peepholes(), self._step_options()
            hs = []
            for ax_t in self._input_projection(x, True).unbind(0):  # (B, 4H) each
                h, c = lstm_cell_step(ax_t, h, c, W_hh, peepholes, **options)
                hs.append(h)
            output = torch.stack(hs)  # (T, B, H)
        output, (h_n, c_n) = self._finish(output, [h, c], batched)
        return output, (h_n, c_n)

    def extra_repr(self):
        extra = ", backward='bptt'" if self.backward == "bptt" else ""
        return super().extra_repr() + self._variant_repr() + extra


class GRU(GRUFormMixin, _SequenceBase):
    r"""A single-layer GRU with ``torch.nn.GRU``'s contract; the equations are in :func:`gru_cell_step`.

    ``GRU(input_size, hidden_size, bias=True, batch_first=False, *, reset_after=True)``;
    ``forward(x, hx=None) -> (output, h_n)``. Parameters ``weight_ih_l0 (3H, D)``,
    ``weight_hh_l0 (3H, H)``, ``bias_ih_l0 (3H,)``, ``bias_hh_l0 (3H,)``, gate order r, z, n.

    Args:
        reset_after: where the reset gate acts in the candidate :math:`\mathbf{n}_t`.
            ``True`` (default): after the recurrent product, ``torch.nn.GRU``'s and cuDNN's form,
            :math:`\tanh(W_{in}\mathbf{x}_t + \mathbf{b}_{in} + \mathbf{r}_t\odot(W_{hn}\mathbf{h}_{t-1} + \mathbf{b}_{hn}))`,
            one recurrent product per step. ``False``: before it, Cho et al. (2014),
            :math:`\tanh(W_{in}\mathbf{x}_t + \mathbf{b}_{in} + W_{hn}(\mathbf{r}_t\odot\mathbf{h}_{t-1}) + \mathbf{b}_{hn})`,
            two dependent products per step (the n-block's needs :math:`\mathbf{r}_t`), and
            both biases folded into the input projection. Same parameters and shapes in both
            forms; ``from_torch``/``to_torch`` refuse ``False`` (``torch.nn.GRU`` cannot express it).
    """

    _num_gates, _torch_type = 3, nn.GRU

    def __init__(self, input_size, hidden_size, bias=True, batch_first=False, *, reset_after=True,
                 device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, batch_first, device=device, dtype=dtype)
        self._init_form(reset_after)
        self.reset_parameters()

    def forward(self, x, hx=None):
        x, batched = self._start(x)  # (T, B, D)
        h = self._state("h_0", hx, x.shape[1], batched)  # (B, H)
        _, W_hh, _, b_hh = self._weights()
        ra = self.reset_after  # Cho's form (False) adds b_hh unscaled: fold it into the projection
        b_hh = b_hh if ra else None
        hs = []
        for ax_t in self._input_projection(x, not ra).unbind(0):  # (B, 3H) each
            h = gru_cell_step(ax_t, h, W_hh, b_hh, reset_after=ra)
            hs.append(h)
        output, (h_n,) = self._finish(torch.stack(hs), [h], batched)
        return output, h_n
