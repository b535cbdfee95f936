r"""How gradients travel back through time: Jacobian norms against distance, spectral scaling, clipping.

For a recurrent model whose state after step ``t`` is ``s_t`` (``h_t`` for the RNN and GRU, the
pair ``(h_t, c_t)`` for the LSTM), a loss that reads only the last state sends back

.. math::

    \frac{\partial L}{\partial \mathbf{h}_t} = \Big(\frac{\partial \mathbf{h}_T}{\partial \mathbf{h}_t}\Big)^{\!\top}
    \frac{\partial L}{\partial \mathbf{h}_T},\qquad
    \frac{\partial \mathbf{h}_T}{\partial \mathbf{h}_t}
    = \prod_{k=T}^{t+1} \frac{\partial \mathbf{h}_k}{\partial \mathbf{h}_{k-1}}
    \;\overset{\text{tanh RNN}}{=}\; \prod_{k=T}^{t+1} \operatorname{diag}(1-\mathbf{h}_k^2)\, W_{hh}

(column vectors, the product ordered from ``k = T`` on the left to ``k = t + 1`` on the right).
This module measures both the vector ``∂L/∂h_t`` and the matrix ``∂h_T/∂h_t`` with the package's
own step functions, so that what the chapters plot is what the package's BPTT computes. For the
LSTM, ``∂L/∂h_t`` and ``∂L/∂c_t`` are the gradients with respect to the two halves of the state
as inputs of steps ``t + 1 … T`` (each holding the other fixed), exactly ``dh_prev`` and
``dc_prev`` of :func:`lstm_course.numpy.lstm_step_backward`.

With ``‖diag φ'‖ ≤ γ`` (``γ = 1`` for tanh, ``1/4`` for the sigmoid) every factor has norm at most
``γ σ_max(W_hh)``, so ``‖∂h_T/∂h_t‖₂ ≤ (γ σ_max)^{T−t}`` (Bengio et al. 1994; Pascanu et al. 2013).

Arrays of norms are indexed by time: row ``t`` (``0 … T``) belongs to ``h_t``, at distance ``T − t``.
"""
from __future__ import annotations

import numbers
from typing import Mapping, NamedTuple

import numpy as np

from . import _validate as V
from .numpy import (gru_step_backward, gru_step_forward, lstm_step_backward, lstm_step_forward, rnn_forward,
                    rnn_step_backward, rnn_step_forward)
from .numpy.activations import sigmoid

#: Upper bound γ of |φ'| for each nonlinearity of :func:`elman_forward`.
GAMMA = {"tanh": 1.0, "sigmoid": 0.25, "linear": 1.0}
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


class StateGradients(NamedTuple):
    """Gradients of a last-step loss with respect to every state; row ``t`` belongs to ``h_t`` (``c_t``)."""

    dh: np.ndarray  # (T+1, B, H)  ∂L/∂h_t, t = 0 … T
    dc: np.ndarray | None  # (T+1, B, H)  ∂L/∂c_t (LSTM), else None


def _check_model(model) -> str:
    if model not in _GATES:
        raise ValueError(f"model must be 'rnn', 'lstm' or 'gru'; got {model!r}")
    return model


def _check_positive(name: str, value, allow_zero: bool = False) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r}")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        expected = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise ValueError(f"{name} must be {expected}; got {value!r}")
    return float(value)


def state_gradients(model: str, params: Mapping, xs, h0=None, c0=None, *, dh_T, dc_T=None) -> StateGradients:
    r"""Backpropagate a gradient placed on the last state only, and keep it at every step.

    The loss is :math:`L = \langle \delta\mathbf{h}_T, \mathbf{h}_T\rangle + \langle \delta\mathbf{c}_T,
    \mathbf{c}_T\rangle` (the second term for the LSTM only). The forward and backward passes are
    the package's step functions (``rnn_step_forward``/``rnn_step_backward`` and the LSTM and GRU
    pairs), so ``dh[0]`` equals ``dh0`` of ``rnn_backward`` with ``dhs`` zero except ``dhs[-1] = dh_T``.

    Args:
        model: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        params: the model's parameter dict (``W_ih``, ``W_hh``, ``b_ih``, ``b_hh``).
        xs: ``(T, B, D)`` inputs.
        h0, c0: ``(B, H)`` initial states (zeros when None; ``c0`` for the LSTM only).
        dh_T: ``(B, H)`` upstream gradient ``∂L/∂h_T``.
        dc_T: ``(B, H)`` upstream gradient ``∂L/∂c_T`` (LSTM only; zeros when None).

    Returns:
        :class:`StateGradients` with ``dh (T+1, B, H)`` and, for the LSTM, ``dc (T+1, B, H)``.
        For the LSTM, ``dc[t]`` holds ``h_t`` fixed: it is the gradient carried back along the
        cell-state path (``dc_prev`` of the step backward). The total derivative, which also
        counts ``h_t = o_t ⊙ tanh(c_t)``, is ``dc[t] + dh[t] ⊙ o_t ⊙ (1 − tanh²(c_t))`` for ``t ≥ 1``.
    """
    model = _check_model(model)
    xs = V.as_float_array("xs", xs, "(T, B, D)", 3)
    T, B, D = xs.shape
    H = V.check_params(params, _GATES[model], D, xs.dtype, model.upper())
    if model != "lstm" and (c0 is not None or dc_T is not None):
        raise ValueError(f"c0 and dc_T belong to the LSTM only; got them for model {model!r}")
    dh = V.check_upstream("dh_T", dh_T, (B, H), "(B, H)", xs.dtype)
    h = V.check_state("h0", h0, B, H, xs.dtype)
    caches = []
    if model == "lstm":
        c = V.check_state("c0", c0, B, H, xs.dtype)
        dc = np.zeros((B, H), xs.dtype) if dc_T is None else V.check_upstream("dc_T", dc_T, (B, H), "(B, H)", xs.dtype)
        for t in range(T):
            h, c, cache = lstm_step_forward(xs[t], h, c, params)
            caches.append(cache)
        dcs = np.empty((T + 1, B, H), xs.dtype)
        dcs[T] = dc
    else:
        step = rnn_step_forward if model == "rnn" else gru_step_forward
        for t in range(T):
            h, cache = step(xs[t], h, params)
            caches.append(cache)
        dcs = None
    back = rnn_step_backward if model == "rnn" else gru_step_backward
    dhs = np.empty((T + 1, B, H), xs.dtype)
    dhs[T] = dh
    for t in reversed(range(T)):  # step t maps h_t (row t) to h_{t+1} (row t + 1)
        if model == "lstm":
            _, dh, dc, _ = lstm_step_backward(dh, dc, caches[t])
            dcs[t] = dc
        else:
            _, dh, _ = back(dh, caches[t])
        dhs[t] = dh
    return StateGradients(dhs, dcs)


def hidden_gradient_norms(model: str, params: Mapping, xs, h0=None, c0=None, *, dh_T=None, dc_T=None,
                          wrt: str = "h") -> np.ndarray:
    """Norms ``‖∂L/∂h_t‖`` (or ``‖∂L/∂c_t‖``) of a last-step loss, for ``t = 0 … T``, per sample.

    Args:
        model, params, xs, h0, c0: as :func:`state_gradients`.
        dh_T: ``(B, H)`` upstream gradient; None puts the unit vector ``(1, …, 1)/√H`` in every row.
        dc_T: ``(B, H)`` upstream gradient on ``c_T`` (LSTM only).
        wrt: ``"h"`` or ``"c"`` (LSTM only).

    Returns:
        ``(T+1, B)`` Euclidean norms; row ``t`` is at distance ``T − t`` from the loss.
    """
    model = _check_model(model)
    if wrt not in ("h", "c") or (wrt == "c" and model != "lstm"):
        raise ValueError(f"wrt must be 'h' (or 'c' for model 'lstm'); got wrt={wrt!r} for model {model!r}")
    if dh_T is None:
        xs = V.as_float_array("xs", xs, "(T, B, D)", 3)
        H = V.check_params(params, _GATES[model], xs.shape[2], xs.dtype, model.upper())
        dh_T = np.full((xs.shape[1], H), 1.0 / np.sqrt(H), dtype=xs.dtype)
    grads = state_gradients(model, params, xs, h0, c0, dh_T=dh_T, dc_T=dc_T)
    return np.linalg.norm(grads.dh if wrt == "h" else grads.dc, axis=2)


def jacobian_norms(model: str, params: Mapping, xs, h0=None, c0=None, *, of: str = "h", wrt: str = "h",
                   ord=2) -> np.ndarray:
    r"""Matrix norms ``‖∂s_T/∂r_t‖`` for ``t = 0 … T``: how much the last state responds to an earlier one.

    Row ``j`` of the Jacobian :math:`J_t = \partial \mathbf{s}_T / \partial \mathbf{r}_t` is the gradient
    reaching ``r_t`` when the upstream gradient is the unit vector ``e_j`` on ``s_T``. All ``H`` rows
    are computed in one backward pass, by repeating every sample ``H`` times along the batch.

    Args:
        model, params, xs, h0, c0: as :func:`state_gradients`.
        of: ``"h"`` or ``"c"``: the final state differentiated (``"c"`` for the LSTM only).
        wrt: ``"h"`` or ``"c"``: the earlier state (``"c"`` for the LSTM only).
        ord: matrix norm for ``numpy.linalg.norm``: ``2`` (largest singular value) or ``"fro"``.

    Returns:
        ``(T+1, B)`` norms; row ``T`` is ``‖I‖`` when ``of == wrt``.
    """
    model = _check_model(model)
    for name, v in (("of", of), ("wrt", wrt)):
        if v not in ("h", "c") or (v == "c" and model != "lstm"):
            raise ValueError(f"{name} must be 'h' (or 'c' for model 'lstm'); got {name}={v!r} for model {model!r}")
    if ord not in (2, "fro"):
        raise ValueError(f"ord must be 2 or 'fro'; got {ord!r}")
    xs = V.as_float_array("xs", xs, "(T, B, D)", 3)
    T, B, D = xs.shape
    H = V.check_params(params, _GATES[model], D, xs.dtype, model.upper())

    def rep(name, state):  # (B, H) → (B·H, H): sample b repeated H times
        return None if state is None else np.repeat(V.check_state(name, state, B, H, xs.dtype), H, axis=0)

    eye = np.tile(np.eye(H, dtype=xs.dtype), (B, 1))  # (B·H, H) row b·H + j is e_j
    zero = np.zeros_like(eye)
    dh_T = eye if of == "h" else zero
    dc_T = None if model != "lstm" else (eye if of == "c" else zero)
    grads = state_gradients(model, params, np.repeat(xs, H, axis=1), rep("h0", h0), rep("c0", c0),
                            dh_T=dh_T, dc_T=dc_T)
    J = (grads.dh if wrt == "h" else grads.dc).reshape(T + 1, B, H, H)  # J[t, b, j, k] = ∂s_T[j]/∂r_t[k]
    return np.linalg.norm(J, ord=ord, axis=(2, 3))


def elman_forward(params: Mapping, xs, h0=None, nonlinearity: str = "tanh"):
    r"""An Elman RNN with a choice of nonlinearity; returns the states and the derivatives of :math:`\varphi`.

    .. math::

        \mathbf{a}_t = W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + W_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh},
        \qquad \mathbf{h}_t = \varphi(\mathbf{a}_t).

    For ``"tanh"`` the states come from :func:`lstm_course.numpy.rnn_forward`; ``"sigmoid"`` and
    ``"linear"`` (``φ(a) = a``) swap the nonlinearity in the same recurrence.

    Args:
        params: ``W_ih (H, D)``, ``W_hh (H, H)``, ``b_ih (H,)``, ``b_hh (H,)``.
        xs: ``(T, B, D)``. h0: ``(B, H)`` or None for zeros.
        nonlinearity: ``"tanh"``, ``"sigmoid"`` or ``"linear"``.

    Returns:
        ``(hs, dphis)``, both ``(T, B, H)``: ``h_1 … h_T`` and ``φ'(a_1) … φ'(a_T)``.
    """
    if nonlinearity not in GAMMA:
        raise ValueError(f"nonlinearity must be one of {sorted(GAMMA)}; got {nonlinearity!r}")
    if nonlinearity == "tanh":
        hs, _, _ = rnn_forward(xs, params, h0)
        return hs, 1.0 - hs * hs
    xs = V.as_float_array("xs", xs, "(T, B, D)", 3)
    T, B, D = xs.shape
    H = V.check_params(params, 1, D, xs.dtype, "RNN")
    h = V.check_state("h0", h0, B, H, xs.dtype)
    hs = (xs.reshape(T * B, D) @ params["W_ih"].T).reshape(T, B, H) + params["b_ih"] + params["b_hh"]  # (T, B, H)
    for t in range(T):
        hs[t] += h @ params["W_hh"].T
        h = sigmoid(hs[t], out=hs[t]) if nonlinearity == "sigmoid" else hs[t]
    dphis = hs * (1.0 - hs) if nonlinearity == "sigmoid" else np.ones_like(hs)
    return hs, dphis


def jacobian_product_norms(W_hh, dphis, ord=2) -> np.ndarray:
    r"""Norms of :math:`\prod_{k=T}^{t+1} \operatorname{diag}(\varphi'(\mathbf{a}_k))\, W_{hh}` for ``t = 0 … T``.

    This is ``∂h_T/∂h_t`` of an Elman RNN, built from the derivatives along a trajectory
    (from :func:`elman_forward`) by explicit matrix products.

    Args:
        W_hh: ``(H, H)`` recurrent weights.
        dphis: ``(T, B, H)``; row ``k − 1`` holds ``φ'(a_k)``.
        ord: ``2`` or ``"fro"``.

    Returns:
        ``(T+1, B)`` norms; row ``T`` is ``‖I‖``.
    """
    W_hh = V.as_float_array("W_hh", W_hh, "(H, H)", 2)
    H = W_hh.shape[0]
    V.check_shape("W_hh", W_hh, (H, H), "(H, H)")
    dphis = V.as_float_array("dphis", dphis, "(T, B, H)", 3)
    if dphis.shape[2] != H:
        raise ValueError(f"dphis must have shape (T, B, H) with H = {H}; got shape {dphis.shape}")
    if ord not in (2, "fro"):
        raise ValueError(f"ord must be 2 or 'fro'; got {ord!r}")
    T, B, _ = dphis.shape
    J = np.broadcast_to(np.eye(H), (B, H, H)).copy()  # (B, H, H) ∂h_T/∂h_T
    norms = np.empty((T + 1, B))
    norms[T] = np.linalg.norm(J, ord=ord, axis=(1, 2))
    for t in reversed(range(T)):
        J = J @ (dphis[t][:, :, None] * W_hh)  # ∂h_T/∂h_t = ∂h_T/∂h_{t+1} · diag(φ'(a_{t+1})) W_hh
        norms[t] = np.linalg.norm(J, ord=ord, axis=(1, 2))
    return norms


def spectral_norm(W) -> float:
    """Largest singular value ``σ_max(W) = ‖W‖₂`` of a matrix."""
    W = V.as_float_array("W", W, "(M, N)", 2)
    return float(np.linalg.norm(W, ord=2))


def spectral_radius(W) -> float:
    """Largest absolute eigenvalue ``ρ(W)`` of a square matrix (at most ``σ_max(W)``)."""
    W = V.as_float_array("W", W, "(N, N)", 2)
    V.check_shape("W", W, (W.shape[0], W.shape[0]), "(N, N)")
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def scale_spectral_norm(W, sigma_max) -> np.ndarray:
    """Return ``W · σ / σ_max(W)``: the same directions, largest singular value exactly ``σ``.

    Args:
        W: ``(M, N)`` nonzero matrix. sigma_max: the target ``σ ≥ 0``.
    """
    sigma_max = _check_positive("sigma_max", sigma_max, allow_zero=True)
    s = spectral_norm(W)
    if s == 0.0:
        raise ValueError("W must be nonzero to be rescaled; got a matrix of zeros")
    return np.asarray(W) * (sigma_max / s)


def bound_log_slope(sigma_max, nonlinearity: str = "tanh") -> float:
    """The slope ``ln(γ σ_max)`` per step of the bound ``‖∂h_T/∂h_t‖ ≤ (γ σ_max)^{T−t}``."""
    if nonlinearity not in GAMMA:
        raise ValueError(f"nonlinearity must be one of {sorted(GAMMA)}; got {nonlinearity!r}")
    return float(np.log(GAMMA[nonlinearity] * _check_positive("sigma_max", sigma_max)))


def fit_log_slope(distances, norms) -> float:
    """Least-squares slope of ``ln(norm)`` against distance: the measured rate of growth (> 0) or decay (< 0) per step.

    Args:
        distances: ``(N,)`` distances ``T − t``. norms: ``(N,)`` positive norms.
    """
    d, n = np.asarray(distances, dtype=np.float64), np.asarray(norms, dtype=np.float64)
    if d.ndim != 1 or d.shape != n.shape or d.size < 2:
        raise ValueError(f"distances and norms must be 1-D of one length >= 2; got shapes {d.shape} and {n.shape}")
    if not (np.all(np.isfinite(n)) and np.all(n > 0)):
        raise ValueError("norms must be finite and > 0 to take logarithms; got "
                         f"{int(np.sum(~(np.isfinite(n) & (n > 0))))} entries that are not")
    return float(np.polyfit(d, np.log(n), 1)[0])


def _check_grads(grads) -> dict:
    if not isinstance(grads, Mapping) or not grads:
        raise TypeError(f"grads must be a non-empty dict name → array; got {type(grads).__name__}")
    return {k: V.as_float_array(f"grads['{k}']", g, "any shape", np.ndim(g)) for k, g in grads.items()}


def global_norm(grads: Mapping) -> float:
    """``‖g‖ = sqrt(Σ_k ‖g_k‖²)``: the norm of all gradients seen as one vector."""
    return float(np.sqrt(sum(np.sum(g * g) for g in _check_grads(grads).values())))


def clip_grad_norm(grads: Mapping, max_norm) -> tuple[dict, float]:
    r"""Global-norm clipping (Pascanu et al. 2013, Algorithm 1).

    .. math::

        \mathbf{g} \leftarrow \frac{\theta}{\lVert\mathbf{g}\rVert}\,\mathbf{g}
        \quad\text{if } \lVert\mathbf{g}\rVert > \theta,
        \qquad \lVert\mathbf{g}\rVert = \sqrt{\textstyle\sum_k \lVert g_k\rVert^2}.

    Every array is scaled by the same factor, so the direction of the update is kept.

    Args:
        grads: dict name → gradient array. max_norm: the threshold ``θ > 0``.

    Returns:
        ``(clipped, total_norm)``: new arrays (the inputs are not modified) and ``‖g‖`` before clipping.
    """
    max_norm = _check_positive("max_norm", max_norm)
    grads = _check_grads(grads)
    total = global_norm(grads)
    scale = max_norm / total if total > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, total


def clip_grad_value(grads: Mapping, clip_value) -> dict:
    """Element-wise clipping to ``[−c, c]``, as min-char-rnn does (``np.clip(dparam, -5, 5)``).

    Each entry is clipped on its own, so a large gradient changes direction as well as length.

    Args:
        grads: dict name → gradient array. clip_value: ``c > 0``.

    Returns:
        dict of new clipped arrays (the inputs are not modified).
    """
    clip_value = _check_positive("clip_value", clip_value)
    return {k: np.clip(g, -clip_value, clip_value) for k, g in _check_grads(grads).items()}
