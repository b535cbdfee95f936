"""Parameter initialisation with PyTorch's default: every entry drawn from U(−1/√H, 1/√H)."""
from __future__ import annotations

import numbers

import numpy as np

from .. import _validate as V
from ..gate_bias import check_bias_value, set_gate_bias


def _rng(rng) -> np.random.Generator:
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator; got {type(rng).__name__}")


def _init(gates: int, input_size, hidden_size, rng, dtype) -> dict:
    input_size = V.check_int("input_size", input_size)
    hidden_size = V.check_int("hidden_size", hidden_size)
    dtype = np.dtype(dtype)
    if dtype not in V.SUPPORTED_DTYPES:
        raise TypeError(f"dtype must be float32 or float64; got {dtype}")
    gen = _rng(rng)
    k = 1.0 / np.sqrt(hidden_size)
    G, D, H = gates, int(input_size), int(hidden_size)
    shapes = {"W_ih": (G * H, D), "W_hh": (G * H, H), "b_ih": (G * H,), "b_hh": (G * H,)}
    return {name: gen.uniform(-k, k, size=shape).astype(dtype) for name, shape in shapes.items()}


def init_rnn_params(input_size, hidden_size, rng=None, dtype=np.float64) -> dict:
    """Parameters of a tanh RNN: ``W_ih (H, D)``, ``W_hh (H, H)``, ``b_ih (H,)``, ``b_hh (H,)``.

    Args:
        input_size: ``D``. hidden_size: ``H``.
        rng: None, an int seed or a ``numpy.random.Generator``.
        dtype: float32 or float64.
    """
    return _init(1, input_size, hidden_size, rng, dtype)


def init_lstm_params(input_size, hidden_size, rng=None, dtype=np.float64, forget_bias=None) -> dict:
    """Parameters of an LSTM in PyTorch's layout (gate order i, f, g, o).

    Args:
        input_size: ``D``. hidden_size: ``H``.
        rng: None, an int seed or a ``numpy.random.Generator``.
        dtype: float32 or float64.
        forget_bias: None keeps PyTorch's random biases. A number ``b`` sets the forget
            gate's total bias to exactly ``b``: ``b_ih[H:2H] = b`` and ``b_hh[H:2H] = 0``
            (so that ``f ≈ σ(b)`` when the weighted inputs are small).

    Returns:
        dict ``W_ih (4H, D)``, ``W_hh (4H, H)``, ``b_ih (4H,)``, ``b_hh (4H,)``.
    """
    params = _init(4, input_size, hidden_size, rng, dtype)
    if forget_bias is not None:
        set_gate_bias(params, "f", check_bias_value("forget_bias", forget_bias), int(hidden_size))
    return params


def init_gru_params(input_size, hidden_size, rng=None, dtype=np.float64) -> dict:
    """Parameters of a GRU in PyTorch's layout (gate order r, z, n): ``W_ih (3H, D)``,
    ``W_hh (3H, H)``, ``b_ih (3H,)``, ``b_hh (3H,)``."""
    return _init(3, input_size, hidden_size, rng, dtype)
