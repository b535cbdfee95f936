"""Shared test helpers: torch.nn twins of the NumPy models with the same weights."""
from __future__ import annotations

import numpy as np
import torch

from lstm_course import convert
from lstm_course import numpy as lnp

MODELS = {
    "rnn": (torch.nn.RNN, lnp.init_rnn_params),
    "lstm": (torch.nn.LSTM, lnp.init_lstm_params),
    "gru": (torch.nn.GRU, lnp.init_gru_params),
}


def torch_twin(model: str, params: dict) -> torch.nn.Module:
    """A ``torch.nn.RNN/LSTM/GRU`` holding exactly ``params`` (same dtype)."""
    return convert.torch_module(params, model)


def torch_grads(module: torch.nn.Module) -> dict:
    """The module's parameter gradients under the NumPy names, in the parameters' dtype."""
    return convert.from_torch(module, dtype=module.weight_ih_l0.detach().numpy().dtype, grad=True)


def max_abs(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
