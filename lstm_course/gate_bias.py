"""One initialiser for an LSTM gate's bias, for NumPy parameter dicts and torch modules alike."""
from __future__ import annotations

import math
import numbers
from typing import MutableMapping

#: Row block of each LSTM gate in the stacked ``4H`` axis (PyTorch's order i, f, g, o).
GATE_BLOCKS = {"i": 0, "f": 1, "g": 2, "o": 3}


def check_bias_value(name: str, value) -> float:
    """``value`` as a float if it is a finite real number (not a bool); a clear ``TypeError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"{name} must be None or a finite number; got {value!r}")
    return float(value)


def set_gate_bias(target, gate: str, value: float, hidden_size: int) -> None:
    r"""Set one LSTM gate's total bias to exactly ``value``, in place.

    The gate's pre-activation carries two biases, :math:`\mathbf{b}_{ih}` and :math:`\mathbf{b}_{hh}`,
    which only ever appear as their sum. This puts ``value`` in the gate's rows of ``b_ih`` and
    zeros in those of ``b_hh``, so that the gate starts near :math:`\sigma(\text{value})` while its
    weighted inputs are small (the forget bias of Gers et al., 2000, and Jozefowicz et al., 2015;
    the negative input bias of Hochreiter and Schmidhuber, 1997).

    Args:
        target: a NumPy parameter dict with ``b_ih``, ``b_hh`` of shape ``(4H,)``, or a torch module
            with ``bias_ih``/``bias_hh`` (suffix ``_l0`` on a sequence module), e.g. ``torch.nn.LSTM``
            or :class:`lstm_course.torch.LSTM`.
        gate: ``"i"``, ``"f"``, ``"g"`` or ``"o"``.
        value: a finite number.
        hidden_size: ``H``.
    """
    if gate not in GATE_BLOCKS:
        raise ValueError(f"gate must be one of {sorted(GATE_BLOCKS)}; got {gate!r}")
    value = check_bias_value(f"the {gate} gate's bias", value)
    rows = slice(GATE_BLOCKS[gate] * hidden_size, (GATE_BLOCKS[gate] + 1) * hidden_size)
    if isinstance(target, MutableMapping):
        b_ih, b_hh = target["b_ih"], target["b_hh"]
        b_ih[rows], b_hh[rows] = value, 0.0
        return
    import torch

    suffix = "_l0" if hasattr(target, "bias_ih_l0") else ""
    b_ih, b_hh = getattr(target, "bias_ih" + suffix, None), getattr(target, "bias_hh" + suffix, None)
    if not isinstance(b_ih, torch.Tensor) or not isinstance(b_hh, torch.Tensor):
        raise TypeError(f"target must be a parameter dict or an LSTM module with biases; got {type(target).__name__}")
    with torch.no_grad():
        b_ih[rows], b_hh[rows] = value, 0.0
