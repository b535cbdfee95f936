"""Exercise checkers that explain mistakes: call one on your function, read the diagnosis.

Each checker runs your function (or class) on a few random cases (several sizes, ``D ≠ H``,
a batch of one), compares it with the package's reference (``lstm_course.numpy``, or
``torch.nn`` for the PyTorch exercises), forward and backward, and prints a short message:
a pass, or what looks wrong and a hint. When the outputs differ, the checker tries the
common mistakes one by one (each built into a copy of the reference, a *mutant*) and names
the one your outputs match: gates in the wrong order, a missing tanh, a dropped gradient
path, a sign error, one parameter's gradient, ... When no single mistake fits, it tries
the known mistakes two at a time and names both, each with its own hint. Otherwise it
reports the first quantity that differs, with its relative error. A function that still raises ``NotImplementedError``
is reported as "not implemented yet". Every checker returns a :class:`CheckResult`
(``passed``, ``code``, ``message``, ``detail``) and is deterministic.

Example::

    from lstm_course.checks import check_lstm_step_forward
    result = check_lstm_step_forward(lstm_step_forward)   # prints the verdict
    result.passed, result.code                            # (False, 'gate_order'), say
"""
from ._feedback import MESSAGES, CheckResult
from .charlm_lab import check_mean_log_prob, check_next_char_window, check_perplexity
from .decay import check_bound_factor, check_cell_path_norms, check_decay_factor
from .experiments import check_baseline_mse, check_generate, check_softmax_temperature
from .gru import check_gru_backward, check_gru_forward, check_gru_step_backward, check_gru_step_forward
from .gradients import check_gradcheck, check_hidden_gradient_norms, check_numerical_gradient, check_rnn_step_jacobian
from .lstm import check_lstm_backward, check_lstm_forward, check_lstm_step_backward, check_lstm_step_forward
from .packing import check_bilstm_classifier, check_masked_mean, check_pad_batch
from .seeds import check_matched_model, check_summarize_seeds, check_wilson_interval
from .rnn import check_rnn_backward, check_rnn_forward, check_rnn_step_backward, check_rnn_step_forward
from .tbptt import check_batchify, check_evaluate, check_train_window
from .torch_lstm import check_torch_lstm, check_torch_lstm_cell

__all__ = [
    "CheckResult", "MESSAGES",
    "check_rnn_step_forward", "check_rnn_step_backward", "check_rnn_forward", "check_rnn_backward",
    "check_gru_step_forward", "check_gru_step_backward", "check_gru_forward", "check_gru_backward",
    "check_lstm_step_forward", "check_lstm_step_backward", "check_lstm_forward", "check_lstm_backward",
    "check_numerical_gradient", "check_gradcheck", "check_rnn_step_jacobian", "check_hidden_gradient_norms",
    "check_cell_path_norms", "check_decay_factor", "check_bound_factor",
    "check_torch_lstm_cell", "check_torch_lstm",
    "check_pad_batch", "check_masked_mean", "check_bilstm_classifier",
    "check_batchify", "check_train_window", "check_evaluate",
    "check_baseline_mse", "check_wilson_interval", "check_summarize_seeds", "check_matched_model",
    "check_softmax_temperature", "check_generate",
    "check_next_char_window", "check_perplexity", "check_mean_log_prob",
]
