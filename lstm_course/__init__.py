"""LSTMs from the ground up: the companion package of the executable course.

Modules:
    lstm_course.numpy     reference RNN, LSTM and GRU in NumPy, forward and backward through time
    lstm_course.torch     the same cells as torch.nn.Module, weight transfer to and from torch.nn
    lstm_course.tasks     long-range tasks (adding, temporal order, copy), generated, no downloads
    lstm_course.training  a small training loop with clipping, early stopping and a progress bar
    lstm_course.plots     the one plotting style
    lstm_course.widgets   interactive explorers with static fallbacks
    lstm_course.checks    exercise checkers that explain mistakes
    lstm_course.utils     seeding

Conventions: time-major ``(T, B, D)`` inputs, ``(B, H)`` states, PyTorch's gate order
(LSTM i, f, g, o; GRU r, z, n) and weight names (``W_ih``, ``W_hh``, ``b_ih``, ``b_hh``).
"""
__version__ = "0.1.0"
