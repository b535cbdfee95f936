"""From-scratch RNN, LSTM and GRU as ``torch.nn.Module``: the gate equations written out, torch.nn's contract.

Modules:
    cells     ``RNNCell``, ``LSTMCell``, ``GRUCell`` and their step functions (the equations)
    layers    ``RNN``, ``LSTM``, ``GRU`` over sequences: one input projection, a loop over time
    variants  the LSTM options: ``peephole``, ``coupled``, ``forget_gate``, ``output_activation``,
              ``forget_bias``; the GRU takes ``reset_after=False`` for Cho et al.'s original form
    bptt      ``LSTM(backward="bptt")``: a ``torch.autograd.Function`` with the hand-derived BPTT

Every module has ``torch.nn``'s single-layer constructor and forward contract, parameter names
(``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``; suffix ``_l0`` on the sequence modules)
and initialisation, and copies weights both ways exactly with ``.from_torch(module)`` and
``.to_torch()``. Conventions: time-major ``(T, B, D)`` (or ``batch_first``), states
``(1, B, H)`` for the sequence modules and ``(B, H)`` for the cells, gate order i, f, g, o (LSTM)
and r, z, n (GRU).
"""
from .bptt import LSTMBPTT, lstm_bptt
from .cells import GRUCell, LSTMCell, RNNCell, gru_cell_step, lstm_cell_step, rnn_cell_step
from .layers import GRU, LSTM, RNN

__all__ = [
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    "rnn_cell_step", "lstm_cell_step", "gru_cell_step", "LSTMBPTT", "lstm_bptt",
]
