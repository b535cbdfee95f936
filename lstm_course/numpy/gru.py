r"""GRU forward and backward in NumPy, with ``torch.nn.GRU``'s equations and layout.

Gate order r, z, n. The reset gate multiplies the *result* of the recurrent product,
``r ⊙ (W_hn h + b_hn)`` (PyTorch and cuDNN's form; Cho et al. 2014 put ``r`` inside, ``W(r ⊙ h)``):

.. math::

    \mathbf{r}_t &= \sigma(W_{ir}\mathbf{x}_t + \mathbf{b}_{ir} + W_{hr}\mathbf{h}_{t-1} + \mathbf{b}_{hr}) \\
    \mathbf{z}_t &= \sigma(W_{iz}\mathbf{x}_t + \mathbf{b}_{iz} + W_{hz}\mathbf{h}_{t-1} + \mathbf{b}_{hz}) \\
    \mathbf{n}_t &= \tanh(W_{in}\mathbf{x}_t + \mathbf{b}_{in} + \mathbf{r}_t \odot (W_{hn}\mathbf{h}_{t-1} + \mathbf{b}_{hn})) \\
    \mathbf{h}_t &= (1 - \mathbf{z}_t) \odot \mathbf{n}_t + \mathbf{z}_t \odot \mathbf{h}_{t-1}

``params``: ``W_ih (3H, D)``, ``W_hh (3H, H)``, ``b_ih (3H,)``, ``b_hh (3H,)``.

The sequence functions are loops over the step functions and follow ``torch.nn.GRU``'s
contract: :func:`gru_forward` returns ``(hs, h_n, cache)``; :func:`gru_backward` takes ``dh_n``.
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
    """What :func:`gru_backward` needs from :func:`gru_forward`: every step's cache, stacked over time."""

    xs: np.ndarray  # (T, B, D)
    hs: np.ndarray  # (T, B, H) h_1 … h_T
    h0: np.ndarray  # (B, H)
    rs: np.ndarray  # (T, B, H)
    zs: np.ndarray  # (T, B, H)
    ns: np.ndarray  # (T, B, H)
    hns: np.ndarray  # (T, B, H)
    params: dict

    def step(self, t: int) -> GRUStepCache:
        """The :class:`GRUStepCache` of step ``t`` (0-based: the step that computed ``hs[t]``)."""
        h_prev = self.hs[t - 1] if t > 0 else self.h0
        r, z, n, hn = self.rs[t], self.zs[t], self.ns[t], self.hns[t]
        return GRUStepCache(self.xs[t], h_prev, r, z, n, hn, self.params)


def gru_step_forward(x, h_prev, params):
    """One GRU step for a batch.

    Args:
        x: ``(B, D)`` input ``x_t``.
        h_prev: ``(B, H)`` hidden state ``h_{t-1}``.
        params: dict ``W_ih (3H, D)``, ``W_hh (3H, H)``, ``b_ih (3H,)``, ``b_hh (3H,)``.

    Returns:
        ``(h, cache)``: ``h (B, H)`` and a :class:`GRUStepCache`.
    """
    x = V.as_float_array("x", x, "(B, D)", 2)
    B, D = x.shape
    H = V.check_params(params, 3, D, x.dtype, "GRU")
    h_prev = V.check_state("h_prev", h_prev, B, H, x.dtype)
    gx = x @ params["W_ih"].T + params["b_ih"]  # (B, 3H) the W_i· x + b_i· of r, z, n
    gh = h_prev @ params["W_hh"].T + params["b_hh"]  # (B, 3H) the same from h_{t-1}
    r = sigmoid(gx[:, :H] + gh[:, :H])  # reset gate
    z = sigmoid(gx[:, H : 2 * H] + gh[:, H : 2 * H])  # update gate
    hn = gh[:, 2 * H :]  # W_hn h_{t-1} + b_hn
    n = np.tanh(gx[:, 2 * H :] + r * hn)  # candidate
    h = (1 - z) * n + z * h_prev  # (B, H)
    return h, GRUStepCache(x, h_prev, r, z, n, hn, params)


def gru_step_backward(dh, cache):
    r"""Backward pass of :func:`gru_step_forward`.

    With :math:`\delta\mathbf{h}_t` the total gradient reaching :math:`\mathbf{h}_t`:

    .. math::

        \delta\mathbf{n}_t = \delta\mathbf{h}_t \odot (1 - \mathbf{z}_t),\quad
        \delta\mathbf{z}_t = \delta\mathbf{h}_t \odot (\mathbf{h}_{t-1} - \mathbf{n}_t),\quad
        \delta\mathbf{a}^n_t = \delta\mathbf{n}_t \odot (1 - \mathbf{n}_t^2),\quad
        \delta\mathbf{r}_t = \delta\mathbf{a}^n_t \odot (W_{hn}\mathbf{h}_{t-1} + \mathbf{b}_{hn}),

    and :math:`\mathbf{h}_{t-1}` receives :math:`\delta\mathbf{h}_t \odot \mathbf{z}_t` directly
    plus :math:`W_{hh}^\top` times the gradient of :math:`W_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh}`,
    whose n block is scaled by the reset gate.

    Args:
        dh: ``(B, H)`` total gradient of the loss with respect to ``h_t``.
        cache: the :class:`GRUStepCache` of the forward step.

    Returns:
        ``(dx, dh_prev, grads)``: ``dx (B, D)``, ``dh_prev (B, H)`` and ``grads`` with the keys of ``params``.
    """
    V.check_cache(cache, GRUStepCache, "gru_step_backward")
    dh = V.check_upstream("dh", dh, cache.h_prev.shape, "(B, H)", cache.x.dtype)
    r, z, n, hn = cache.r, cache.z, cache.n, cache.hn
    dn = dh * (1 - z)  # δn
    dz = dh * (cache.h_prev - n)  # δz
    da_n = dn * (1 - n**2)  # through tanh
    dr = da_n * hn  # δr
    da_r, da_z = dr * r * (1 - r), dz * z * (1 - z)  # through the sigmoids
    dgx = np.concatenate([da_r, da_z, da_n], axis=1)  # (B, 3H) gradient of W_ih x + b_ih
    dgh = np.concatenate([da_r, da_z, da_n * r], axis=1)  # (B, 3H) of W_hh h_{t-1} + b_hh
    p = cache.params
    dx = dgx @ p["W_ih"]  # (B, D)
    dh_prev = dh * z + dgh @ p["W_hh"]  # (B, H) the direct path and the path through W_hh
    dW_ih, dW_hh = dgx.T @ cache.x, dgh.T @ cache.h_prev  # (3H, D), (3H, H)
    grads = {"W_ih": dW_ih, "W_hh": dW_hh, "b_ih": dgx.sum(0), "b_hh": dgh.sum(0)}
    return dx, dh_prev, grads


def gru_forward(xs, params, h0=None):
    """Run a GRU over a sequence (time-major): :func:`gru_step_forward` at every step.

    Args:
        xs: ``(T, B, D)`` inputs.
        params: as :func:`gru_step_forward`.
        h0: ``(B, H)`` initial hidden state; zeros when None.

    Returns:
        ``(hs, h_n, cache)``: ``hs (T, B, H)``, the final state ``h_n (B, H)`` and a :class:`GRUCache`.
    """
    xs = V.as_float_array("xs", xs, "(T, B, D)", 3)
    T, B, D = xs.shape
    H = V.check_params(params, 3, D, xs.dtype, "GRU")
    h0 = V.check_state("h0", h0, B, H, xs.dtype)
    hs, rs, zs, ns, hns = (np.empty((T, B, H), dtype=xs.dtype) for _ in range(5))
    h = h0
    for t in range(T):
        h, step = gru_step_forward(xs[t], h, params)
        hs[t], rs[t], zs[t], ns[t], hns[t] = h, step.r, step.z, step.n, step.hn
    return hs, hs[-1].copy(), GRUCache(xs, hs, h0, rs, zs, ns, hns, params)


def gru_backward(dhs, cache, dh_n=None):
    """Backpropagation through time for :func:`gru_forward`: :func:`gru_step_backward` from ``t = T`` down to 1.

    Args:
        dhs: ``(T, B, H)`` gradient of the loss with respect to every ``h_t`` through the outputs.
        cache: the :class:`GRUCache` of the forward pass.
        dh_n: ``(B, H)`` gradient with respect to the final state; zeros when None.

    Returns:
        ``(dxs, dh0, grads)``: ``dxs (T, B, D)``, ``dh0 (B, H)`` and ``grads`` with the keys of ``params``.
    """
    V.check_cache(cache, GRUCache, "gru_backward")
    T, B, H = cache.hs.shape
    dt = cache.xs.dtype
    dhs = V.check_upstream("dhs", dhs, (T, B, H), "(T, B, H)", dt)
    dh = np.zeros((B, H), dt) if dh_n is None else dh_n
    dh = V.check_upstream("dh_n", dh, (B, H), "(B, H)", dt)
    dxs = np.empty_like(cache.xs)  # (T, B, D)
    grads = {k: np.zeros_like(cache.params[k]) for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    for t in reversed(range(T)):
        dxs[t], dh, step_grads = gru_step_backward(dhs[t] + dh, cache.step(t))
        for k in grads:
            grads[k] += step_grads[k]  # shared weights: the sum over steps
    return dxs, dh, grads
