"""NumPy reference implementations of the RNN, LSTM and GRU: forward and backward through time.

Conventions, everywhere in the course: time-major inputs ``xs (T, B, D)``, states ``(B, H)``,
PyTorch's weight names and shapes (``W_ih``, ``W_hh``, ``b_ih``, ``b_hh``) and gate orders
(LSTM i, f, g, o; GRU r, z, n). float32 and float64 are supported; outputs keep the input's dtype.

The functions here are the plain reference: step functions with one line per equation, and
sequence functions that loop over them, with torch.nn's return contract
(``rnn_forward -> (hs, h_n, cache)``, ``lstm_forward -> (hs, (h_n, c_n), cache)``).
:mod:`lstm_course.numpy.fast` is the LSTM tuned for speed, tested equal to the reference.
"""
from . import fast
from .gradcheck import check_sequence_gradients, gradcheck, numerical_gradient, relative_error
from .gru import GRUCache, GRUStepCache, gru_backward, gru_forward, gru_step_backward, gru_step_forward
from .init import init_gru_params, init_lstm_params, init_rnn_params
from .lstm import LSTMCache, LSTMStepCache, lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from .output import (CrossEntropyCache, OutputCache, cross_entropy, cross_entropy_backward, init_output_params,
                     output_backward, output_forward, sequence_mask, softmax)
from .rnn import RNNCache, RNNStepCache, rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

__all__ = [
    "fast",
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward", "RNNStepCache", "RNNCache",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward", "LSTMStepCache", "LSTMCache",
    "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward", "GRUStepCache", "GRUCache",
    "init_rnn_params", "init_lstm_params", "init_gru_params",
    "output_forward", "output_backward", "softmax", "cross_entropy", "cross_entropy_backward", "sequence_mask",
    "init_output_params", "OutputCache", "CrossEntropyCache",
    "gradcheck", "numerical_gradient", "relative_error", "check_sequence_gradients",
]
