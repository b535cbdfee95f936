r"""A per-step output layer: a linear read-out of the states, softmax, cross-entropy and masking.

For a state :math:`\mathbf{h}_t` and a target class :math:`y_t \in \{0, \dots, K-1\}`:

.. math::

    \mathbf{z}_t = W_{out}\mathbf{h}_t + \mathbf{b}_{out},\qquad
    \hat{\mathbf{y}}_t = \operatorname{softmax}(\mathbf{z}_t),\qquad
    L = \frac{1}{N}\sum_{t, b} m_{t,b}\,\bigl(-\log \hat y_{t,b,\,y_{t,b}}\bigr),\quad N = \sum_{t,b} m_{t,b},

where :math:`m_{t,b} \in \{0, 1\}` marks the real (unpadded) steps of sequence ``b``. With
:math:`\mathbf{y}_t` the one-hot vector of the target the gradient is

.. math::

    \frac{\partial L}{\partial \mathbf{z}_{t,b}} = \frac{m_{t,b}}{N}\,(\hat{\mathbf{y}}_{t,b} - \mathbf{y}_{t,b}),

so a padded step (``m = 0``) receives exactly zero gradient.

Shapes: ``hs (T, B, H)`` (or ``(B, H)`` for one read-out at the last step), logits ``(..., K)``,
targets and mask ``(...)``; ``params``: ``W_out (K, H)``, ``b_out (K,)``, ``torch.nn.Linear``'s
``weight`` and ``bias``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _validate as V
from .init import _rng


class OutputCache(NamedTuple):
    """What :func:`output_backward` needs from :func:`output_forward`."""

    hs: np.ndarray  # (..., H)
    params: dict


class CrossEntropyCache(NamedTuple):
    """What :func:`cross_entropy_backward` needs from :func:`cross_entropy`."""

    probs: np.ndarray  # (..., K) softmax of the logits, ŷ
    targets: np.ndarray  # (...) class indices; 0 where masked
    weights: np.ndarray  # (...) m / N ("mean") or m ("sum")


def init_output_params(hidden_size, output_size, rng=None, dtype=np.float64) -> dict:
    """Parameters of the read-out, drawn like ``torch.nn.Linear``'s: U(−1/√H, 1/√H).

    Returns:
        dict ``W_out (K, H)``, ``b_out (K,)`` with ``K = output_size``.
    """
    H = V.check_int("hidden_size", hidden_size)
    K = V.check_int("output_size", output_size)
    dtype = np.dtype(dtype)
    if dtype not in V.SUPPORTED_DTYPES:
        raise TypeError(f"dtype must be float32 or float64; got {dtype}")
    gen, k = _rng(rng), 1.0 / np.sqrt(H)
    return {"W_out": gen.uniform(-k, k, (K, H)).astype(dtype),
            "b_out": gen.uniform(-k, k, (K,)).astype(dtype)}


def output_forward(hs, params):
    """The logits ``z = h W_outᵀ + b_out`` of every state.

    Args:
        hs: ``(T, B, H)`` states (or ``(B, H)``).
        params: dict ``W_out (K, H)``, ``b_out (K,)``.

    Returns:
        ``(logits, cache)``: ``logits (T, B, K)`` (or ``(B, K)``) and an :class:`OutputCache`.
    """
    if np.ndim(hs) not in (2, 3):
        raise ValueError(f"hs must have shape (T, B, H) or (B, H); got shape {np.shape(hs)}")
    hs = V.as_float_array("hs", hs, "(T, B, H) or (B, H)", np.ndim(hs))
    if not isinstance(params, dict) or not {"W_out", "b_out"} <= set(params):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must be a dict with keys W_out, b_out; got {got}")
    W_out = V.as_float_array("params['W_out']", params["W_out"], "(K, H)", 2)
    K, H = W_out.shape[0], hs.shape[-1]
    V.check_shape("params['W_out']", W_out, (K, H), f"(K, H) with H = {H}")
    b_out = V.as_float_array("params['b_out']", params["b_out"], "(K,)", 1)
    V.check_shape("params['b_out']", b_out, (K,), f"(K,) with K = {K}")
    for name, arr in (("params['W_out']", W_out), ("params['b_out']", b_out)):
        V.check_dtype(name, arr, hs.dtype, "hs")
    logits = hs @ W_out.T + b_out  # (..., K)
    return logits, OutputCache(hs, params)


def output_backward(dlogits, cache):
    """Backward pass of :func:`output_forward`.

    Args:
        dlogits: gradient of the loss with respect to the logits, shaped like them.
        cache: the :class:`OutputCache` of the forward pass.

    Returns:
        ``(dhs, grads)``: ``dhs`` shaped like ``hs`` and ``grads`` with ``W_out``, ``b_out``.
    """
    V.check_cache(cache, OutputCache, "output_backward")
    W_out = cache.params["W_out"]
    shape = (*cache.hs.shape[:-1], W_out.shape[0])
    dlogits = V.check_upstream("dlogits", dlogits, shape, "(..., K)", cache.hs.dtype)
    dhs = dlogits @ W_out  # (..., H)   W_outᵀ δz, one row per sample
    dz = dlogits.reshape(-1, shape[-1])  # (N, K) every step of every sequence
    h = cache.hs.reshape(-1, cache.hs.shape[-1])  # (N, H)
    return dhs, {"W_out": dz.T @ h, "b_out": dz.sum(axis=0)}


def softmax(logits):
    """``softmax(z)_k = exp(z_k) / Σ_j exp(z_j)`` along the last axis.

    The largest logit is subtracted first, which changes nothing mathematically and keeps
    ``exp`` from overflowing.

    Args:
        logits: ``(..., K)`` float array.

    Returns:
        ``(..., K)`` probabilities, each row summing to 1.
    """
    if np.ndim(logits) < 1:
        raise ValueError(f"logits must have at least one dimension (..., K); got shape {np.shape(logits)}")
    z = V.as_float_array("logits", logits, "(..., K)", np.ndim(logits))
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _check_cross_entropy(logits, targets, mask, reduction):
    """Validate :func:`cross_entropy`'s arguments; return the logits, the targets (0 where masked)
    and the mask as booleans."""
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum'; got {reduction!r}")
    if np.ndim(logits) < 1:
        raise ValueError(f"logits must have at least one dimension (..., K); got shape {np.shape(logits)}")
    z = V.as_float_array("logits", logits, "(..., K)", np.ndim(logits))
    shape, K = z.shape[:-1], z.shape[-1]
    targets = np.asarray(targets)
    if targets.dtype.kind not in "iu":
        raise TypeError(f"targets must be an integer array of class indices; got dtype {targets.dtype}")
    V.check_shape("targets", targets, shape, "the logits' shape without K")
    if mask is None:
        mask = np.ones(shape, dtype=bool)
    else:
        mask = np.asarray(mask)
        if mask.dtype.kind not in "biuf":
            raise TypeError(f"mask must hold booleans or 0/1; got dtype {mask.dtype}")
        V.check_shape("mask", mask, shape, "the targets' shape")
        if not np.isin(mask, (0, 1)).all():
            raise ValueError(f"mask must hold only 0 and 1 (or False and True); got values "
                             f"{np.unique(mask)[:5].tolist()}")
        mask = mask.astype(bool)
    if not mask.any():
        raise ValueError("mask must keep at least one step; got a mask of zeros only")
    bad = mask & ((targets < 0) | (targets >= K))
    if bad.any():
        raise ValueError(f"targets must lie in [0, K) = [0, {K}) at every unmasked step; "
                         f"got {targets[bad][:5].tolist()}")
    return z, np.where(mask, targets, 0), mask


def cross_entropy(logits, targets, mask=None, reduction="mean"):
    """Softmax cross-entropy of integer targets, skipping masked (padded) steps.

    ``loss = Σ m · (−log softmax(z)[y]) / N`` with ``N = Σ m`` for ``reduction="mean"`` (what
    ``torch.nn.functional.cross_entropy`` computes with ``ignore_index`` on the padded steps) and
    ``N = 1`` for ``"sum"``. Padded steps may hold any target.

    Args:
        logits: ``(..., K)`` float array, e.g. ``(T, B, K)``.
        targets: ``(...)`` integer class indices in ``[0, K)`` at the unmasked steps.
        mask: ``(...)`` booleans or 0/1, 1 at real steps; None keeps every step.
        reduction: ``"mean"`` or ``"sum"``.

    Returns:
        ``(loss, cache)``: a float and a :class:`CrossEntropyCache`.
    """
    z, targets, mask = _check_cross_entropy(logits, targets, mask, reduction)
    shifted = z - z.max(axis=-1, keepdims=True)  # the same softmax; exp cannot overflow
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))  # (..., K) log ŷ
    nll = -np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]  # (...) −log ŷ_y
    N = mask.sum() if reduction == "mean" else 1
    weights = (mask / N).astype(z.dtype)  # (...) m / N, zero at padded steps
    loss = float((weights * nll).sum())
    return loss, CrossEntropyCache(np.exp(log_probs), targets, weights)


def cross_entropy_backward(cache, dloss=1.0):
    """Gradient of :func:`cross_entropy` with respect to the logits: ``dloss · m/N · (ŷ − y)``.

    Args:
        cache: the :class:`CrossEntropyCache` of the forward pass.
        dloss: gradient of the final objective with respect to the loss (1 when it is the loss).

    Returns:
        ``dlogits``, shaped like the logits; zero at every masked step.
    """
    V.check_cache(cache, CrossEntropyCache, "cross_entropy_backward")
    if isinstance(dloss, bool) or not isinstance(dloss, (int, float, np.floating, np.integer)):
        raise TypeError(f"dloss must be a number; got {type(dloss).__name__} {dloss!r}")
    K = cache.probs.shape[-1]
    one_hot = np.eye(K, dtype=cache.probs.dtype)[cache.targets]  # (..., K) y
    return dloss * cache.weights[..., None] * (cache.probs - one_hot)  # (ŷ − y) · m/N


def sequence_mask(lengths, T):
    """The ``(T, B)`` mask of a time-major padded batch: ``mask[t, b] = t < lengths[b]``.

    Args:
        lengths: ``(B,)`` integers in ``[1, T]``, the real length of each sequence.
        T: the padded length.
    """
    T = V.check_int("T", T)
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or lengths.size == 0 or lengths.dtype.kind not in "iu":
        raise TypeError(f"lengths must be a non-empty 1-D integer array (B,); got "
                        f"{V._describe(lengths)}")
    if lengths.min() < 1 or lengths.max() > T:
        raise ValueError(f"lengths must lie in [1, T] = [1, {T}]; got {lengths.tolist()}")
    return np.arange(T)[:, None] < lengths[None, :]  # (T, B)
