"""A recurrent layer plus a linear read-out, for the long-range tasks (built on torch.nn, fast)."""
from __future__ import annotations

import numbers

import torch
from torch import nn

from ._validate import check_int as _check_size
from .gate_bias import check_bias_value, set_gate_bias

CELLS = ("rnn", "lstm", "gru")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # gates stacked in W_ih's rows
LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}  # torch.nn's layer of each cell


def count_parameters(cell: str, input_size: int, hidden_size: int, output_size: int, embedding_rows: int = 0) -> int:
    r"""Number of parameters of one recurrent layer and a linear read-out, optionally behind an embedding:
    :math:`ED + G(HD + H^2 + 2H) + HO + O` with ``G`` = 1 (RNN), 4 (LSTM), 3 (GRU) and ``E`` the
    embedding's rows (0 for ``SequenceModel(cell, D, H, O)``, the vocabulary size ``V`` for
    ``CharLM(V, H, cell, embedding_dim=D)``, whose read-out has ``O = V``)."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}; got {cell!r}")
    D, H, O = (_check_size(k, v) for k, v in
               (("input_size", input_size), ("hidden_size", hidden_size), ("output_size", output_size)))
    E = _check_size("embedding_rows", embedding_rows, 0)
    return E * D + GATES[cell] * (H * D + H * H + 2 * H) + H * O + O


def matched_hidden_size(cell: str, input_size: int, output_size: int, num_parameters: int,
                        embedding_rows: int = 0) -> int:
    """The hidden size whose :func:`count_parameters` is closest to ``num_parameters``
    (the smaller one on a tie), to compare cells at a comparable parameter count."""
    target = _check_size("num_parameters", num_parameters)
    return min(range(1, 4096), key=lambda H: (abs(count_parameters(cell, input_size, H, output_size, embedding_rows)
                                                  - target), H))


class SequenceModel(nn.Module):
    r"""One recurrent layer (``nn.RNN`` with tanh, ``nn.LSTM`` or ``nn.GRU``) and a linear read-out.

    .. math::
        \vh_t = \operatorname{cell}(\vx_t, \vh_{t-1}), \qquad
        \hat{\mathbf{y}} = W_{out} \vh_{\ell - 1} + \mathbf{b}_{out}

    where :math:`\ell` is the sequence's valid length (the output is read at its last valid
    step) and :math:`\vh_{-1} = 0` (and :math:`\vc_{-1} = 0` for the LSTM). With
    ``all_steps=True`` the read-out is applied at every step instead (copy task).

    Args:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        input_size: ``D``. hidden_size: ``H``. output_size: ``O``.
        forget_bias: LSTM only. None keeps PyTorch's random initial biases; a number ``b``
            sets the forget gate's total bias to ``b`` (``bias_ih[H:2H] = b``,
            ``bias_hh[H:2H] = 0``, as :func:`lstm_course.numpy.init_lstm_params`).
        input_bias: LSTM only, keyword-only, likewise for the input gate (rows ``0:H``). A
            negative value keeps the input gate nearly shut at the start, so the cells do not
            drift before they have learned what to store (Hochreiter & Schmidhuber 1997
            initialise their input-gate biases at -3 and -6 on the adding problem).

    To put any other recurrent layer in the same harness (a variant from
    :mod:`lstm_course.torch`, say), build it and use :meth:`from_layer`.

    Attributes:
        cell: ``"rnn"``, ``"lstm"``, ``"gru"``, or None for a layer given to :meth:`from_layer`.
        rnn: the recurrent layer (time-major, one layer): a ``torch.nn`` layer, or the one given
            to :meth:`from_layer`.
        readout: ``nn.Linear(H, O)``.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, output_size: int, forget_bias=None,
                 *, input_bias=None):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}; got {cell!r}")
        D, H, O = (_check_size(k, v) for k, v in
                   (("input_size", input_size), ("hidden_size", hidden_size), ("output_size", output_size)))
        self._build(cell, LAYERS[cell](D, H), D, H, O)
        for name, value, gate in (("forget_bias", forget_bias, "f"), ("input_bias", input_bias, "i")):
            if value is None:
                continue
            if cell != "lstm":
                raise ValueError(f"{name} applies to cell='lstm' only; got cell={cell!r}")
            set_gate_bias(self.rnn, gate, check_bias_value(name, value), H)
        self.forget_bias, self.input_bias = forget_bias, input_bias

    def _build(self, cell, layer: nn.Module, D: int, H: int, O: int) -> None:
        self.cell, self.input_size, self.hidden_size, self.output_size = cell, D, H, O
        self.rnn = layer
        self.readout = nn.Linear(H, O)  # created after the layer: the RNG order of earlier versions

    @classmethod
    def from_layer(cls, layer: nn.Module, output_size: int) -> "SequenceModel":
        r"""A model around a recurrent layer you built, with a new ``nn.Linear(H, output_size)`` read-out.

        The layer must follow ``torch.nn.LSTM``'s (or ``nn.GRU``'s, ``nn.RNN``'s) contract for
        one time-major layer: attributes ``input_size`` (``D``) and ``hidden_size`` (``H``),
        ``batch_first`` False, one layer, one direction, and ``forward(x (T, B, D), hx=None)``
        returning ``(output (T, B, H), state)`` with ``output[t] =`` :math:`\vh_t`;
        ``state`` is ``(h_n, c_n)`` for an LSTM, ``h_n`` otherwise, each ``(1, B, H)``. Every
        module of :mod:`lstm_course.torch.layers` qualifies, in every variant::

            layer = lstm_course.torch.LSTM(2, 16, coupled=True)
            model = SequenceModel.from_layer(layer, output_size=1)

        The read-out is initialised after the layer (``torch``'s global RNG). ``forget_bias``
        and ``input_bias`` are None: set biases on the layer itself (e.g. the package's
        ``LSTM(..., forget_bias=1.0)``). :meth:`unroll` works too, by calling the layer one step
        at a time and feeding it its own output as the next ``h``.

        Args:
            layer: the recurrent ``nn.Module`` (kept as :attr:`rnn`, not copied).
            output_size: ``O``, the read-out's width.

        Returns:
            A :class:`SequenceModel` with ``cell = None``, ``rnn = layer``.

        Raises:
            TypeError: ``layer`` is not an ``nn.Module``, lacks int ``input_size``/``hidden_size``,
                or ``output_size`` is not an int.
            ValueError: a batch-first, multi-layer or bidirectional layer, or sizes below 1.
        """
        if not isinstance(layer, nn.Module):
            raise TypeError(f"layer must be a torch.nn.Module with nn.LSTM's contract; got {type(layer).__name__}")
        for name in ("input_size", "hidden_size"):
            value = getattr(layer, name, None)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"layer must have an int attribute {name} (as torch.nn.LSTM); "
                                f"got {type(layer).__name__} with {name}={value!r}")
        for name, wanted in (("batch_first", False), ("num_layers", 1), ("bidirectional", False)):
            value = getattr(layer, name, wanted)
            if value != wanted:
                raise ValueError(f"layer must be time-major with one layer in one direction: {name}={wanted!r} "
                                 f"expected; got {name}={value!r}")
        D, H = _check_size("layer.input_size", layer.input_size), _check_size("layer.hidden_size", layer.hidden_size)
        O = _check_size("output_size", output_size)
        model = cls.__new__(cls)
        nn.Module.__init__(model)
        model._build(None, layer, D, H, O)
        model.forget_bias = model.input_bias = None
        return model

    def num_parameters(self) -> int:
        """Number of trainable parameters (equals :func:`count_parameters`)."""
        return sum(p.numel() for p in self.parameters())

    def _check_input(self, x: torch.Tensor, lengths) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[2] != self.input_size:
            got = f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must be a tensor of shape (T, B, {self.input_size}); got {got}")
        T, B = x.shape[:2]
        if lengths is None:
            return torch.full((B,), T, dtype=torch.long)
        lengths = torch.as_tensor(lengths)
        if lengths.shape != (B,) or lengths.min() < 1 or lengths.max() > T:
            raise ValueError(f"lengths must have shape ({B},) with values in 1..{T}; got {lengths.tolist()}")
        return lengths.long()

    def _read(self, hs: torch.Tensor, lengths: torch.Tensor, all_steps: bool) -> torch.Tensor:
        if all_steps:
            return self.readout(hs)  # (T, B, O)
        last = hs[lengths - 1, torch.arange(hs.shape[1])]  # (B, H) the last valid step
        return self.readout(last)  # (B, O)

    def forward(self, x: torch.Tensor, lengths=None, *, all_steps: bool = False) -> torch.Tensor:
        """Run the layer over ``x (T, B, D)``; return ``(B, O)`` read at step ``lengths - 1``
        (``lengths`` None means all ``T``), or ``(T, B, O)`` when ``all_steps``."""
        lengths = self._check_input(x, lengths)
        hs, _ = self.rnn(x)  # (T, B, H)
        return self._read(hs, lengths, all_steps)

    def unroll(self, x: torch.Tensor, lengths=None, *, all_steps: bool = False):
        """Like :meth:`forward` but one step at a time, keeping every hidden state in the graph.

        Slower than :meth:`forward` (a Python loop), but ``torch.autograd.grad(loss, hs)``
        then gives :math:`\\partial L / \\partial \\vh_t`, the gradient that reaches step
        ``t`` through all later steps (``nn.LSTM``'s output tensor only carries the direct
        path to the read-out).

        Returns:
            ``(output, hs)``: the output of :meth:`forward` and a list of ``T`` tensors
            ``(B, H)``, ``hs[t] =`` :math:`\\vh_t`.
        """
        lengths = self._check_input(x, lengths)
        if self.cell is None:
            return self._unroll_layer(x, lengths, all_steps)
        r = self.rnn
        W_ih, W_hh, b_ih, b_hh = r.weight_ih_l0, r.weight_hh_l0, r.bias_ih_l0, r.bias_hh_l0
        h = x.new_zeros(x.shape[1], self.hidden_size)  # (B, H)
        c = torch.zeros_like(h)
        hs = []
        for x_t in x:
            if self.cell == "lstm":
                h, c = torch.lstm_cell(x_t, (h, c), W_ih, W_hh, b_ih, b_hh)
            elif self.cell == "gru":
                h = torch.gru_cell(x_t, h, W_ih, W_hh, b_ih, b_hh)
            else:
                h = torch.rnn_tanh_cell(x_t, h, W_ih, W_hh, b_ih, b_hh)
            hs.append(h)
        return self._read(torch.stack(hs), lengths, all_steps), hs

    def _unroll_layer(self, x: torch.Tensor, lengths: torch.Tensor, all_steps: bool):
        """:meth:`unroll` for a layer from :meth:`from_layer`: one step per call, the state
        rebuilt from the step's output so that ``hs[t]`` lies on every later step's path."""
        hs, state = [], None
        for t in range(x.shape[0]):
            output, new_state = self.rnn(x[t : t + 1], state)  # output (1, B, H)
            h = output[0]  # (B, H)
            state = (h[None], new_state[1]) if isinstance(new_state, tuple) else h[None]
            hs.append(h)
        return self._read(torch.stack(hs), lengths, all_steps), hs

    def extra_repr(self) -> str:
        if self.cell is None:
            return f"cell=None (from_layer), parameters={self.num_parameters()}"
        return (f"cell={self.cell!r}, parameters={self.num_parameters()}, "
                f"forget_bias={self.forget_bias}, input_bias={self.input_bias}")
