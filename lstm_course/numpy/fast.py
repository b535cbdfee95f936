r"""The LSTM of :mod:`lstm_course.numpy.lstm`, tuned for speed: the same functions, the same signatures.

:func:`lstm_forward` and :func:`lstm_backward` compute what the plain reference computes (tested
equal to 1e-12 in float64) with three optimisations, each taught and measured in the cost
chapter:

- **Hoisting.** The input projection ``W_ih x_t + b_ih + b_hh`` of all ``T`` steps is one
  matrix product before the loop; so are the weight gradients and ``W_ihᵀ δa_t`` after it.
  Only the two ``W_hh`` products remain inside the loops over time.
- **One exponential.** ``σ(a) = 1 / (1 + e^{-a})`` and ``tanh(a) = 2σ(2a) − 1``, so once the rows
  of the weights are scaled by −1 (i, f, o) and −2 (g), exactly, every step activates the whole
  ``(B, 4H)`` block with one ``exp``, in place, and ``tanh(c_t)`` too comes from an ``exp``:
  NumPy's ``exp`` costs a fraction of its ``tanh``.
- **Blocking.** The backward pass computes the factors that depend on the forward pass only
  (:func:`local_factors`) for a block of steps at a time, sized to stay in the processor's
  cache, and writes every intermediate into preallocated arrays (``out=``).

The forward pass returns the reference's :class:`~lstm_course.numpy.lstm.LSTMCache`, so either
backward pass accepts either forward pass's cache.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import _validate as V
from .lstm import LSTMCache


@lru_cache(maxsize=64)
def gate_scale(H: int, dtype: np.dtype):
    """``(scale, k)``, read-only rows of length 4H: ``scale`` is −1 on the sigmoid blocks i, f, o and
    −2 on g; ``k = −scale`` is 1 on i, f, o and 2 on g (see :func:`gates_forward`)."""
    scale = np.full(4 * H, -1.0, dtype=dtype)
    scale[2 * H : 3 * H] = -2.0
    k = -scale
    scale.flags.writeable = k.flags.writeable = False
    return scale, k


def tanh_by_exp(x, out):
    r"""``out = tanh(x)`` as :math:`2 / (1 + e^{-2x}) - 1`, in place in ``out`` (which may be ``x``).

    The same value as ``np.tanh`` to rounding, from one ``exp`` and three cheap passes: NumPy's
    ``tanh`` costs several times its ``exp`` per element (measured in the cost chapter).
    """
    with np.errstate(over="ignore", under="ignore"):  # e^{-2x} = inf or 0 is right: tanh = −1 or 1
        np.multiply(x, -2.0, out=out)
        np.exp(out, out=out)
    out += 1.0
    np.divide(2.0, out, out=out)
    out -= 1.0
    return out


def gates_forward(a, c_prev, c=None, tanh_c=None, h=None, scaled=False):
    r"""Activate the pre-activations ``a`` in place with one exponential, and update the cell.

    With :math:`\sigma(a) = 1 / (1 + e^{-a})` and :math:`\tanh(a) = 2\sigma(2a) - 1`, the scaled
    pre-activations :math:`\mathbf{b} = [-\mathbf{a}^i; -\mathbf{a}^f; -2\mathbf{a}^g; -\mathbf{a}^o]`
    give all four gates at once: :math:`\mathbf{k} \oslash (1 + e^{\mathbf{b}})` with
    :math:`\mathbf{k} = [1; 1; 2; 1]`, less 1 on the g block.

    Args:
        a: ``(B, 4H)`` pre-activations in gate order i, f, g, o; overwritten with
            the activated gates ``[i, f, g, o]``.
        c_prev: ``(B, H)`` previous cell state ``c_{t-1}``.
        c, tanh_c, h: optional ``(B, H)`` arrays to write the results into.
        scaled: True if ``a`` arrives already scaled, ``[−aⁱ, −aᶠ, −2aᵍ, −aᵒ]`` (as
            :func:`lstm_forward` arranges, by scaling those rows of the weights once).

    Returns:
        ``(gates, c, tanh_c, h)``: ``gates`` is ``a`` itself, now the ``(B, 4H)`` activations;
        ``c``, ``tanh_c`` and ``h`` are ``(B, H)``.
    """
    H = c_prev.shape[1]
    scale, k = gate_scale(H, a.dtype)
    if not scaled:
        a *= scale  # b = [−aⁱ, −aᶠ, −2aᵍ, −aᵒ]
    with np.errstate(over="ignore", under="ignore"):  # e^b = inf or 0 is right: gate 0 or 1
        np.exp(a, out=a)
    a += 1.0
    np.divide(k, a, out=a)  # [σ(aⁱ), σ(aᶠ), 2σ(2aᵍ), σ(aᵒ)]
    i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
    g -= 1.0  # g = tanh(aᵍ): a = [i, f, g, o]
    c = np.multiply(f, c_prev, out=c)  # c_t = f ⊙ c_{t-1} + i ⊙ g
    h = np.multiply(i, g, out=h)  # (h holds i ⊙ g for a moment)
    c += h
    tanh_c = tanh_by_exp(c, out=np.empty_like(c) if tanh_c is None else tanh_c)
    np.multiply(o, tanh_c, out=h)  # h_t = o ⊙ tanh(c_t)
    return a, c, tanh_c, h


def lstm_forward(xs, params, h0=None, c0=None):
    """:func:`lstm_course.numpy.lstm.lstm_forward`, tuned: the same arguments, the same results.

    The input projection ``W_ih x_t + b_ih + b_hh`` is one matrix product for all ``T``
    steps (its rows scaled by −1 and −2); each step then adds ``W_hh h_{t-1}`` and applies
    :func:`gates_forward` in place. Tested equal to the reference to 1e-12 in float64.
    """
    xs = V.as_float_array("xs", xs, "(T, B, D)", 3)
    T, B, D = xs.shape
    H = V.check_params(params, 4, D, xs.dtype, "LSTM")
    h0 = V.check_state("h0", h0, B, H, xs.dtype)
    c0 = V.check_state("c0", c0, B, H, xs.dtype)
    # The cell's one exp wants a_t scaled, [−aⁱ, −aᶠ, −2aᵍ, −aᵒ] (see gates_forward): scale
    # those rows of the weights and biases once, not a_t at every step. Exact: −1 and −2.
    scale = gate_scale(H, xs.dtype)[0][:, None]  # (4H, 1): −1 on i, f, o rows, −2 on g
    # A contiguous copy of W_hhᵀ: BLAS writes into `out=` several times faster than
    # through a transposed view (measured: 3x at H = 256 in float64).
    W_hhT = np.ascontiguousarray((params["W_hh"] * scale).T)  # (H, 4H)
    # (T, B, 4H): the input projections of all T steps in one product
    gates = (xs.reshape(T * B, D) @ (params["W_ih"] * scale).T).reshape(T, B, 4 * H)
    gates += (params["b_ih"] + params["b_hh"]) * scale[:, 0]
    hs = np.empty((T, B, H), dtype=xs.dtype)
    cs = np.empty((T, B, H), dtype=xs.dtype)
    tanh_cs = np.empty((T, B, H), dtype=xs.dtype)
    recurrent = np.empty((B, 4 * H), dtype=xs.dtype)  # W_hh h_{t-1}, reused every step
    h, c = h0, c0
    for t in range(T):
        a = gates[t]  # (B, 4H) view, activated in place
        a += np.matmul(h, W_hhT, out=recurrent)
        _, c, _, h = gates_forward(a, c, c=cs[t], tanh_c=tanh_cs[t], h=hs[t], scaled=True)
    cache = LSTMCache(xs, hs, h0, cs, c0, gates, tanh_cs, params)
    return hs, (hs[-1].copy(), cs[-1].copy()), cache


# Steps whose local factors lstm_backward computes together, by default: as many as fit in
# 512 KiB, so that a block is still in the processor's cache when the loop turns it into δa.
# Small problems get one block for the whole sequence; at (B, H) = (64, 256) a block is one step.
BLOCK_BYTES = 2**19


def steps_per_block(T: int, B: int, H: int, dtype) -> int:
    """The default block of :func:`lstm_backward`: the steps whose ``(B, 4H)`` factors fit in :data:`BLOCK_BYTES`."""
    return max(1, min(T, BLOCK_BYTES // (B * 4 * H * np.dtype(dtype).itemsize)))


def local_factors(cache, start, stop, K, u):
    r"""The factors :math:`K_t` and :math:`\mathbf{u}_t` of :func:`lstm_backward` for steps ``start … stop-1``.

    They depend on the forward pass only (the activated gates, :math:`\mathbf{c}_{t-1}` and
    :math:`\tanh \mathbf{c}_t`), so they are computed for a block of steps at once.

    Args:
        cache: the :class:`LSTMCache` of the forward pass.
        start, stop: the block's steps, as indices into the cache's ``(T, …)`` arrays.
        K: ``(stop - start, B, 4H)`` array to write :math:`K_t` into.
        u: ``(stop - start, B, H)`` array to write :math:`\mathbf{u}_t` into.
    """
    H = cache.hs.shape[2]
    gates, tanh_c = cache.gates[start:stop], cache.tanh_cs[start:stop]
    i, g, o = gates[..., :H], gates[..., 2 * H : 3 * H], gates[..., 3 * H :]
    K_i, K_f, K_g, K_o = (K[..., k * H : (k + 1) * H] for k in range(4))
    np.subtract(1.0, gates, out=K)
    K *= gates  # s (1 − s) on the sigmoid blocks
    K_i *= g
    if start == 0:  # c_{t-1}: c_0 at step 1, then c_1 … c_{T-1}
        K_f[0] *= cache.c0
        K_f[1:] *= cache.cs[: stop - 1]
    else:
        K_f *= cache.cs[start - 1 : stop - 1]
    np.multiply(g, g, out=K_g)
    np.subtract(1.0, K_g, out=K_g)  # 1 − g²
    K_g *= i
    K_o *= tanh_c
    np.multiply(tanh_c, tanh_c, out=u)
    np.subtract(1.0, u, out=u)
    u *= o  # o ⊙ (1 − tanh²(c))


def lstm_backward(dhs, cache, dh_n=None, dc_n=None, block_steps=None):
    r"""Backpropagation through time for :func:`lstm_forward`.

    The same equations as :func:`~lstm_course.numpy.lstm.lstm_step_backward` applied from ``t = T`` down to 1, arranged
    so that the loop over time does only what depends on the recursion. What depends on the
    forward pass alone is computed by :func:`local_factors` for a block of steps at a time:

    .. math::

        K_t = [\mathbf{g}_t \odot \sigma'(\mathbf{a}^i_t);\;
               \mathbf{c}_{t-1} \odot \sigma'(\mathbf{a}^f_t);\;
               \mathbf{i}_t \odot (1 - \mathbf{g}_t^2);\;
               \tanh(\mathbf{c}_t) \odot \sigma'(\mathbf{a}^o_t)],\qquad
        \mathbf{u}_t = \mathbf{o}_t \odot (1 - \tanh^2(\mathbf{c}_t)),

    so that each step needs only
    :math:`\overline{\delta\mathbf{c}}_t = \delta\mathbf{c}_t + \delta\mathbf{h}_t \odot \mathbf{u}_t`,
    :math:`\delta\mathbf{a}_t = [\overline{\delta\mathbf{c}}_t, \overline{\delta\mathbf{c}}_t,
    \overline{\delta\mathbf{c}}_t, \delta\mathbf{h}_t] \odot K_t`,
    :math:`\delta\mathbf{c}_{t-1} = \overline{\delta\mathbf{c}}_t \odot \mathbf{f}_t` and
    :math:`\delta\mathbf{h}_{t-1} = W_{hh}^\top \delta\mathbf{a}_t` (plus the output's gradient).
    By default a block holds as many steps as fit in :data:`BLOCK_BYTES`, so that its
    :math:`K_t` are still in the processor's cache when the loop uses them; the block size
    changes the speed, never the result. The weight gradients are then one matrix product
    each over all ``T·B`` rows.

    Args:
        dhs: ``(T, B, H)`` gradient of the loss with respect to every ``h_t``.
        cache: the :class:`LSTMCache` of the forward pass.
        dh_n, dc_n: ``(B, H)`` gradients with respect to the final states; zeros when None.
        block_steps: steps per block of local factors (an int >= 1); None for the default.

    Returns:
        ``(dxs, dh0, dc0, grads)``: ``dxs (T, B, D)``, ``dh0`` and ``dc0`` ``(B, H)``,
        and ``grads`` with the keys of ``params``.
    """
    V.check_cache(cache, LSTMCache, "lstm_backward")
    T, B, H = cache.hs.shape
    D = cache.xs.shape[2]
    dt = cache.xs.dtype
    dhs = V.check_upstream("dhs", dhs, (T, B, H), "(T, B, H)", dt)
    zeros = np.zeros((B, H), dt)
    dh = V.check_upstream("dh_n", zeros if dh_n is None else dh_n, (B, H), "(B, H)", dt)
    dc = V.check_upstream("dc_n", zeros if dc_n is None else dc_n, (B, H), "(B, H)", dt)
    dh, dc = dh.copy(), dc.copy()  # the loop writes into both
    f = cache.gates[..., H : 2 * H]  # (T, B, H) view
    W_hh = cache.params["W_hh"]
    if block_steps is None:
        n = steps_per_block(T, B, H, dt)
    else:
        n = min(T, V.check_int("block_steps", block_steps))
    # K_t, then δa_t: each step overwrites its own K_t
    da = np.empty((T, B, 4 * H), dtype=dt)
    da_icg = da[..., : 3 * H].reshape(T, B, 3, H)  # a view: the i, f, g blocks together
    u = np.empty((n, B, H), dtype=dt)  # u_t of the current block
    dc_total = np.empty((B, H), dtype=dt)
    for stop in range(T, 0, -n):  # blocks from the last to the first
        start = max(stop - n, 0)
        local_factors(cache, start, stop, da[start:stop], u[: stop - start])
        for t in reversed(range(start, stop)):
            dh += dhs[t]  # from the output at t and from step t+1
            np.multiply(dh, u[t - start], out=dc_total)
            dc_total += dc  # all gradient reaching c_t
            da_icg[t] *= dc_total[:, None, :]  # δa of i, f, g: K_t ⊙ δc
            da[t, :, 3 * H :] *= dh  # δa of o: K_t ⊙ δh
            np.multiply(dc_total, f[t], out=dc)  # δc_{t-1}, the direct path
            np.matmul(da[t], W_hh, out=dh)  # (B, H) δh_{t-1} through the gates
    da2 = da.reshape(T * B, 4 * H)
    dxs = (da2 @ cache.params["W_ih"]).reshape(T, B, D)
    db = da2.sum(axis=0)
    # Weight gradients Σ_t δa_t vᵀ as one product over all T·B rows, computed as
    # (Vᵀ δA)ᵀ: OpenBLAS runs that orientation about 15% faster than δAᵀ V (at H = 256).
    dW_ih = (cache.xs.reshape(T * B, D).T @ da2).T  # (4H, D)
    dW_hhT = cache.h0.T @ da[0]  # (H, 4H): step 1 sees h_0, the others h_1 … h_{T-1}
    if T > 1:
        h_prevs = cache.hs[:-1].reshape((T - 1) * B, H)  # h_1 … h_{T-1}
        dW_hhT += h_prevs.T @ da[1:].reshape((T - 1) * B, 4 * H)
    dW_ih, dW_hh = np.ascontiguousarray(dW_ih), np.ascontiguousarray(dW_hhT.T)
    grads = {"W_ih": dW_ih, "W_hh": dW_hh, "b_ih": db, "b_hh": db.copy()}
    return dxs, dh, dc, grads
