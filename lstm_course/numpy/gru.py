r"""GRU forward and backward in NumPy, with ``torch.nn.GRU``'s equations and layout.

Gate order r, z, n. The reset gate multiplies the *result* of the recurrent product,
``r ⊙ (W_hn h + b_hn)`` (PyTorch and cuDNN's form; Cho et al. 2014 put ``r`` inside, ``W(r ⊙ h)``):

.. math::

    \mathbf{r}_t &= \sigma(W_{ir}\mathbf{x}_t + \mathbf{b}_{ir} + W_{hr}\mathbf{h}_{t-1} + \mathbf{b}_{hr}) \\
    \mathbf{z}_t &= \sigma(W_{iz}\mathbf{x}_t + \mathbf{b}_{iz} + W_{hz}\mathbf{h}_{t-1} + \mathbf{b}_{hz}) \\
    \mathbf{n}_t &= \tanh(W_{in}\mathbf{x}_t + \mathbf{b}_{in} + \mathbf{r}_t \odot (W_{hn}\mathbf{h}_{t-1} + \mathbf{b}_{hn})) \\
    \mathbf{h}_t &= (1 - \mathbf{z}_t) \odot \mathbf{n}_t + \mathbf{z}_t \odot \mathbf{h}_{t-1}

``params``: ``W_ih (3H, D)``, ``W_hh (3H, H)``, ``b_ih (3H,)``, ``b_hh (3H,)``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _validate as V
from .activations import sigmoid


class GRUStepCache(NamedTuple):
    """What :func:`gru_step_backward` needs from :func:`gru_step_forward`."""

    x: np.ndarray  # (B, D)
    h_prev: np.ndarray  # (B, H)
    r: np.ndarray  # (B, H)
    z: np.ndarray  # (B, H)
    n: np.ndarray  # (B, H)
    hn: np.ndarray  # (B, H) W_hn h_{t-1} + b_hn, before the reset gate
    params: dict


class GRUCache(NamedTuple):
    """What :func:`gru_backward` needs from :func:`gru_forward`: one step cache per time step."""

    xs: np.ndarray  # (T, B, D)
    hs: np.ndarray  # (T, B, H)
    h0: np.ndarray  # (B, H)
    rzn: np.ndarray  # (T, B, 3H) activated r, z, n
    hn: np.ndarray  # (T, B, H)
    params: dict


def _cell(gx, h_prev, W_hhT, b_hh):
    """The GRU's work after the input projection ``gx = W_ih x + b_ih`` (``(B, 3H)``, overwritten)."""
    H = h_prev.shape[1]
    gh = h_prev @ W_hhT + b_hh  # (B, 3H)
    gx[:, : 2 * H] += gh[:, : 2 * H]
    rz = sigmoid(gx[:, : 2 * H], out=gx[:, : 2 * H])  # (B, 2H) r, z
    hn = gh[:, 2 * H :]  # (B, H)
    n = gx[:, 2 * H :]
    n += rz[:, :H] * hn
    np.tanh(n, out=n)
    z = rz[:, H:]
    h = n + z * (h_prev - n)  # (1 − z) ⊙ n + z ⊙ h_prev
    return gx, hn, h


def _cell_backward(dh, h_prev, rzn, hn):
    """Return ``(dgx, dgh, dh_prev_direct)`` for one step: gradients of ``W_ih x + b_ih``,
    of ``W_hh h + b_hh`` (both ``(B, 3H)``) and of the direct ``z ⊙ h_prev`` path."""
    H = h_prev.shape[1]
    r, z, n = rzn[:, :H], rzn[:, H : 2 * H], rzn[:, 2 * H :]
    dgx = np.empty_like(rzn)
    dn = dh * (1.0 - z)
    da_n = np.multiply(dn, 1.0 - n * n, out=dgx[:, 2 * H :])  # δ of n's pre-activation
    np.multiply(da_n * hn, r * (1.0 - r), out=dgx[:, :H])  # δa_r
    np.multiply(dh * (h_prev - n), z * (1.0 - z), out=dgx[:, H : 2 * H])  # δa_z
    dgh = dgx.copy()
    dgh[:, 2 * H :] *= r  # the reset gate scales W_hn h + b_hn
    return dgx, dgh, dh * z


def gru_step_forward(x, h_prev, params):
    """One GRU step for a batch.

    Args:
        x: ``(B, D)``; h_prev: ``(B, H)``; params: dict ``W_ih (3H, D)``, ``W_hh (3H, H)``,
            ``b_ih (3H,)``, ``b_hh (3H,)``.

    Returns:
        ``(h, cache)``: ``h (B, H)`` and a :class:`GRUStepCache`.
    """
    x = V.as_float_array("x", x, "(B, D)", 2)
    B, D = x.shape
    H = V.check_params(params, 3, D, x.dtype, "GRU")
    h_prev = V.check_state("h_prev", h_prev, B, H, x.dtype)
    gx = x @ params["W_ih"].T + params["b_ih"]  # (B, 3H)
    rzn, hn, h = _cell(gx, h_prev, params["W_hh"].T, params["b_hh"])
    return h, GRUStepCache(x, h_prev, rzn[:, :H], rzn[:, H : 2 * H], rzn[:, 2 * H :], hn, params)


def gru_step_backward(dh, cache):
    """Backward pass of :func:`gru_step_forward`.

    Returns:
        ``(dx, dh_prev, grads)``: ``dx (B, D)``, ``dh_prev (B, H)`` and ``grads`` with the keys of ``params``.
    """
    V.check_cache(cache, GRUStepCache, "gru_step_backward")
    dh = V.check_upstream("dh", dh, cache.h_prev.shape, "(B, H)", cache.x.dtype)
    rzn = np.concatenate([cache.r, cache.z, cache.n], axis=1)
    dgx, dgh, dh_direct = _cell_backward(dh, cache.h_prev, rzn, cache.hn)
    p = cache.params
    grads = {"W_ih": dgx.T @ cache.x, "W_hh": dgh.T @ cache.h_prev, "b_ih": dgx.sum(0), "b_hh": dgh.sum(0)}
    return dgx @ p["W_ih"], dh_direct + dgh @ p["W_hh"], grads


def gru_forward(xs, params, h0=None):
    """Run a GRU over a sequence (time-major).

    Args:
        xs: ``(T, B, D)``; params: as :func:`gru_step_forward`; h0: ``(B, H)`` or None for zeros.

    Returns:
        ``(hs, cache)``: ``hs (T, B, H)`` and a :class:`GRUCache`.
    """
    xs = V.as_float_array("xs", xs, "(T, B, D)", 3)
    T, B, D = xs.shape
    H = V.check_params(params, 3, D, xs.dtype, "GRU")
    h0 = V.check_state("h0", h0, B, H, xs.dtype)
    gxs = (xs.reshape(T * B, D) @ params["W_ih"].T).reshape(T, B, 3 * H)  # (T, B, 3H)
    gxs += params["b_ih"]
    hs = np.empty((T, B, H), dtype=xs.dtype)
    hns = np.empty((T, B, H), dtype=xs.dtype)
    W_hhT, b_hh = np.ascontiguousarray(params["W_hh"].T), params["b_hh"]  # (H, 3H) contiguous for BLAS
    h = h0
    for t in range(T):
        _, hns[t], h = _cell(gxs[t], h, W_hhT, b_hh)
        hs[t] = h
    return hs, GRUCache(xs, hs, h0, gxs, hns, params)


def gru_backward(dhs, cache):
    """Backpropagation through time for :func:`gru_forward`.

    Args:
        dhs: ``(T, B, H)`` gradient with respect to every ``h_t`` (the final state's in ``dhs[-1]``).
        cache: the :class:`GRUCache` of the forward pass.

    Returns:
        ``(dxs, dh0, grads)``.
    """
    V.check_cache(cache, GRUCache, "gru_backward")
    T, B, H = cache.hs.shape
    D = cache.xs.shape[2]
    dhs = V.check_upstream("dhs", dhs, (T, B, H), "(T, B, H)", cache.xs.dtype)
    W_hh = cache.params["W_hh"]
    dgxs = np.empty((T, B, 3 * H), dtype=cache.xs.dtype)
    dghs = np.empty_like(dgxs)
    dh = np.zeros((B, H), dtype=cache.xs.dtype)
    for t in reversed(range(T)):
        dh = dh + dhs[t]
        h_prev = cache.hs[t - 1] if t > 0 else cache.h0
        dgxs[t], dghs[t], dh_direct = _cell_backward(dh, h_prev, cache.rzn[t], cache.hn[t])
        dh = dh_direct + dghs[t] @ W_hh
    h_prevs = np.concatenate([cache.h0[None], cache.hs[:-1]])
    dgx2, dgh2 = dgxs.reshape(T * B, 3 * H), dghs.reshape(T * B, 3 * H)
    grads = {
        "W_ih": dgx2.T @ cache.xs.reshape(T * B, D),
        "W_hh": dgh2.T @ h_prevs.reshape(T * B, H),
        "b_ih": dgx2.sum(0),
        "b_hh": dgh2.sum(0),
    }
    return (dgx2 @ cache.params["W_ih"]).reshape(T, B, D), dh, grads
