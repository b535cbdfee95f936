"""Shared test helpers: torch.nn twins of the NumPy models with the same weights."""
from __future__ import annotations

import numpy as np
import torch

from lstm_course import numpy as lnp

MODELS = {
    "rnn": (torch.nn.RNN, lnp.init_rnn_params),
    "lstm": (torch.nn.LSTM, lnp.init_lstm_params),
    "gru": (torch.nn.GRU, lnp.init_gru_params),
}


def torch_twin(model: str, params: dict) -> torch.nn.Module:
    """A ``torch.nn.RNN/LSTM/GRU`` holding exactly ``params`` (same dtype)."""
    cls, _ = MODELS[model]
    D, H = params["W_ih"].shape[1], params["W_hh"].shape[1]
    dtype = torch.float64 if params["W_ih"].dtype == np.float64 else torch.float32
    module = cls(D, H).to(dtype)
    with torch.no_grad():
        for ours, theirs in (("W_ih", "weight_ih_l0"), ("W_hh", "weight_hh_l0"), ("b_ih", "bias_ih_l0"), ("b_hh", "bias_hh_l0")):
            getattr(module, theirs).copy_(torch.from_numpy(params[ours]))
    return module


def torch_grads(module: torch.nn.Module) -> dict:
    names = {"W_ih": "weight_ih_l0", "W_hh": "weight_hh_l0", "b_ih": "bias_ih_l0", "b_hh": "bias_hh_l0"}
    return {ours: getattr(module, theirs).grad.numpy() for ours, theirs in names.items()}


def max_abs(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
