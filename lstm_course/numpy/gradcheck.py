"""Central finite differences: check any analytic gradient of the package against the definition.

For a scalar loss ``L`` and an array ``θ`` the central difference

.. math::

    \\frac{\\partial L}{\\partial \\theta_j} \\approx \\frac{L(\\theta + \\epsilon e_j) - L(\\theta - \\epsilon e_j)}{2\\epsilon}

has truncation error ``O(ε²)`` and round-off error ``O(u/ε)`` (``u`` the unit round-off). The
two balance at ``ε ≈ u^{1/3} ≈ 6e-6`` in float64, the default step here; the checks use float64 only.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from .init import init_gru_params, init_lstm_params, init_rnn_params

#: Default step: the cube root of float64's machine epsilon, where truncation and round-off balance.
EPS = float(np.finfo(np.float64).eps ** (1.0 / 3.0))


def relative_error(a, b) -> float:
    """Relative error between two arrays, ``‖a − b‖ / max(‖a‖, ‖b‖)`` (Frobenius norms).

    Returns 0.0 when both are exactly zero. Refuses arrays of different shapes.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error needs arrays of one shape; got {a.shape} and {b.shape}")
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(a - b) / scale)


def numerical_gradient(loss: Callable[[], float], x: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Central-difference gradient of ``loss()`` with respect to the array ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored; ``loss`` must read it.

    Args:
        loss: a function of no arguments returning a float.
        x: a float64 array that ``loss`` depends on.
        eps: the step ``ε`` (default :data:`EPS` ≈ 6e-6).

    Returns:
        an array shaped like ``x``.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(f"numerical_gradient needs a float64 numpy array; got {getattr(x, 'dtype', type(x).__name__)}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        j = it.multi_index
        old = x[j]
        x[j] = old + eps
        plus = loss()
        x[j] = old - eps
        minus = loss()
        x[j] = old
        grad[j] = (plus - minus) / (2.0 * eps)
    return grad


def gradcheck(loss: Callable[[], float], arrays: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
              eps: float = EPS) -> dict:
    """Compare analytic gradients with central differences, one relative error per array.

    Args:
        loss: function of no arguments returning the scalar loss; it must read ``arrays``.
        arrays: name → float64 array that ``loss`` depends on (perturbed in place, restored).
        grads: name → the analytic gradient of ``loss`` with respect to that array.
        eps: finite-difference step.

    Returns:
        dict name → :func:`relative_error` between analytic and numerical gradient.
    """
    missing = set(arrays) - set(grads)
    if missing:
        raise ValueError(f"grads must have a gradient for every array; missing {sorted(missing)}")
    return {name: relative_error(grads[name], numerical_gradient(loss, x, eps)) for name, x in arrays.items()}


def check_sequence_gradients(model: str, T: int = 4, B: int = 2, D: int = 3, H: int = 5, seed: int = 0,
                             eps: float = EPS) -> dict:
    """Gradient-check a whole sequence function of the package in float64.

    Builds random parameters, inputs and initial states, a loss ``L = Σ_t ⟨w_t, h_t⟩ + ⟨u, h_n⟩``
    (plus ``⟨u', c_n⟩`` for the LSTM) with random weights, runs the package's
    forward and backward, and compares every gradient with central differences.

    Args:
        model: ``"rnn"``, ``"lstm"`` or ``"gru"``.

    Returns:
        dict name → relative error for every parameter, ``"xs"``, ``"h0"`` (and ``"c0"``).
    """
    from . import gru, lstm, rnn

    init = {"rnn": init_rnn_params, "lstm": init_lstm_params, "gru": init_gru_params}
    if model not in init:
        raise ValueError(f"model must be 'rnn', 'lstm' or 'gru'; got {model!r}")
    rng = np.random.default_rng(seed)
    params = init[model](D, H, rng=rng)
    forward = {"rnn": rnn.rnn_forward, "lstm": lstm.lstm_forward, "gru": gru.gru_forward}[model]
    backward = {"rnn": rnn.rnn_backward, "lstm": lstm.lstm_backward, "gru": gru.gru_backward}[model]
    states = ("h0", "c0") if model == "lstm" else ("h0",)  # the initial states, as the forward takes them
    arrays = dict(params, xs=rng.standard_normal((T, B, D)), **{s: rng.standard_normal((B, H)) for s in states})
    w = rng.standard_normal((T, B, H))  # L = Σ w ⊙ hs + Σ u ⊙ (final states)
    us = [rng.standard_normal((B, H)) for _ in states]

    def loss():
        hs, final, _ = forward(arrays["xs"], params, *(arrays[s] for s in states))
        finals = final if model == "lstm" else (final,)  # (h_n, c_n) or h_n alone
        return float(np.sum(w * hs) + sum(np.sum(u * f) for u, f in zip(us, finals)))

    cache = forward(arrays["xs"], params, *(arrays[s] for s in states))[2]
    dxs, *dstates, grads = backward(w, cache, *us)
    analytic = dict(grads, xs=dxs, **dict(zip(states, dstates)))
    for key in params:  # the loss must see the perturbed parameter dict
        arrays[key] = params[key]
    return gradcheck(loss, arrays, analytic, eps)
