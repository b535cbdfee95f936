"""Element-wise nonlinearities of the recurrent cells, in place where that reads naturally.

The logistic sigmoid is computed as ``σ(a) = (1 + tanh(a/2)) / 2``: the same
function, with no overflow warning for large negative ``a`` and one transcendental
call per element.
"""
from __future__ import annotations

import numpy as np


def sigmoid(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic sigmoid ``σ(a) = 1 / (1 + e^{-a})``, range (0, 1).

    Args:
        a: any array of floats.
        out: optional array to write into (may be ``a`` itself).
    """
    if out is None:  # a new result; scalars and array-likes welcome
        return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(a)))
    np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def tanh(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Hyperbolic tangent, range (−1, 1)."""
    return np.tanh(a, out=out)


def sigmoid_grad_from_output(s: np.ndarray) -> np.ndarray:
    """σ′(a) written with the output ``s = σ(a)``: ``σ′ = s (1 − s)``, at most 1/4."""
    return s * (1.0 - s)


def tanh_grad_from_output(t: np.ndarray) -> np.ndarray:
    """tanh′(a) written with the output ``t = tanh(a)``: ``1 − t²``, at most 1."""
    return 1.0 - t * t
