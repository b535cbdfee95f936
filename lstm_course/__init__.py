"""LSTMs from the ground up: the companion package of the executable course.

Modules:
    lstm_course.numpy        reference RNN, LSTM and GRU in NumPy, forward and backward through time,
                             initialisation and finite-difference gradient checks
    lstm_course.torch        the same cells as torch.nn.Module, variants, a hand-derived BPTT
                             autograd.Function, weight transfer to and from torch.nn
    lstm_course.convert      weight layouts: PyTorch's split form, the concatenated form, other gate orders
    lstm_course.gradients    gradient norms against distance, Jacobian products, clipping
    lstm_course.jacobians    the LSTM's step Jacobians, direct path and full
    lstm_course.tasks        long-range tasks (adding, temporal order, copy, last marked value), generated
    lstm_course.models       a sequence model for those tasks, around torch.nn or any layer (from_layer)
    lstm_course.training     a small training loop with clipping, early stopping and a progress bar
    lstm_course.cost         FLOP counts, fair timing and memory measurement
    lstm_course.studies      studies too heavy for a notebook (the long-range grid): run in parallel by a
                             script, results shipped as JSON that the chapters read
    lstm_course.text         the shipped public-domain text, vocabularies and truncated-BPTT batches
    lstm_course.charlm       a character-level language model: training, sampling, looking inside
    lstm_course.ngram        character n-gram models with interpolated Kneser-Ney smoothing: the count-based
                             baseline for the character-level model (python -m lstm_course.ngram)
    lstm_course.plots        the one plotting style (and plots_text for text heat maps)
    lstm_course.diagrams     the mechanisms drawn: the LSTM cell forward and backward, unrolled networks
    lstm_course.widgets      interactive explorers with static fallbacks
    lstm_course.checks       exercise checkers that explain mistakes
    lstm_course.utils        seeding and glue

Conventions: time-major ``(T, B, D)`` inputs, ``(B, H)`` states, PyTorch's gate order
(LSTM i, f, g, o; GRU r, z, n) and weight names (``W_ih``, ``W_hh``, ``b_ih``, ``b_hh``).
"""
__version__ = "0.2.0"
