r"""Parallel prefix scans for the linear recurrence :math:`h_t = a_t \odot h_{t-1} + b_t` (torch).

The recurrence of a cell whose gates read only :math:`x_t` (minLSTM, minGRU, mLSTM, the
linear parts of Mamba) is *linear* in :math:`h`: every step is the affine map
:math:`e_t(h) = a_t h + b_t`, and composing two such maps gives another one,

.. math::
    (e_2 \circ e_1)(h) = a_2 (a_1 h + b_1) + b_2 = (a_1 a_2)\, h + (a_2 b_1 + b_2),

so the pairs :math:`(a, b)` with :math:`(a_1, b_1) \bullet (a_2, b_2) = (a_1 a_2,\;
a_2 b_1 + b_2)` form an associative operation, and all prefixes :math:`h_t = (e_t \circ \dots
\circ e_0)(h_{-1})` are a *prefix scan* over :math:`\bullet`, computable in
:math:`O(\log T)` vectorised steps instead of :math:`T` dependent ones.

Functions (all take time-major ``a, b`` of the same shape ``(T, ...)`` and an optional
``h0`` of shape ``(...)``, the state before step 0, zero when None; all return ``h (T, ...)``):

* :func:`scan_sequential`: the loop, the reference.
* :func:`scan_hillis_steele`: Hillis & Steele (1986), :math:`\lceil\log_2 T\rceil` steps,
  :math:`O(T \log T)` work, out-of-place (autograd differentiates it).
* :func:`scan_blelloch`: Blelloch (1990), an up-sweep and a down-sweep over a balanced tree,
  :math:`2\lceil\log_2 T\rceil` steps, :math:`O(T)` work.
* :func:`scan_closed_form`: :math:`h_t = A_t (h_{-1} + \sum_{s \le t} b_s / A_s)` with
  :math:`A_t = \prod_{s \le t} a_s`, two cumulative ops; under- and overflows for long ``T``.
* :func:`scan_log`: the same closed form in log space (Heinsen 2023; the form Feng et al.
  2024 train minLSTM with), for :math:`a > 0, b > 0`:
  :math:`\log h_t = a^*_t + \operatorname{logcumsumexp}_{s \le t}(\log b_s - a^*_s)`,
  :math:`a^*_t = \sum_{s \le t} \log a_s`; it takes and returns logarithms.
"""
from __future__ import annotations

import math

import torch

METHODS = ("sequential", "hillis_steele", "blelloch", "closed_form")


def _check(a, b, h0, name_a="a", name_b="b", name_h0="h0"):
    """Same-shape floating tensors ``a, b (T, ...)`` with ``T >= 1``; ``h0`` None or ``(...)``."""
    for name, x in ((name_a, a), (name_b, b)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape (T, ...); got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{name} must be a floating tensor; got dtype {x.dtype}")
        if x.dim() < 1 or x.shape[0] < 1:
            raise ValueError(f"{name} must have shape (T, ...) with T >= 1; got shape {tuple(x.shape)}")
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape (T, ...); "
                         f"got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.dtype != b.dtype:
        raise TypeError(f"{name_a} and {name_b} must have the same dtype; got {a.dtype} and {b.dtype}")
    if h0 is not None:
        if not isinstance(h0, torch.Tensor):
            raise TypeError(f"{name_h0} must be None or a tensor of shape {tuple(a.shape[1:])}; "
                            f"got {type(h0).__name__}")
        if h0.shape != a.shape[1:]:
            raise ValueError(f"{name_h0} must have shape {tuple(a.shape[1:])} (a's without T); "
                             f"got {tuple(h0.shape)}")
        if h0.dtype != a.dtype:
            raise TypeError(f"{name_h0} must have dtype {a.dtype}; got {h0.dtype}")


def _fold_h0(a, b, h0):
    """Fold the initial state into the first step: :math:`b_0 \\leftarrow a_0 h_{-1} + b_0`."""
    if h0 is None:
        return b
    return torch.cat([(a[0] * h0 + b[0])[None], b[1:]])


def scan_sequential(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    r"""The loop :math:`h_t = a_t \odot h_{t-1} + b_t`, :math:`t = 0 .. T-1`: ``T`` dependent steps.

    Args:
        a, b: ``(T, ...)`` floating tensors of the same shape and dtype.
        h0: ``(...)``, :math:`h_{-1}`; None means zeros.

    Returns:
        ``h (T, ...)`` with ``h[t]`` :math:`= h_t`.
    """
    _check(a, b, h0)
    h = torch.zeros_like(b[0]) if h0 is None else h0
    hs = []
    for t in range(a.shape[0]):
        h = a[t] * h + b[t]
        hs.append(h)
    return torch.stack(hs)


def scan_hillis_steele(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    r"""Hillis-Steele inclusive scan: at step :math:`k` every position :math:`t \ge 2^k` combines
    with position :math:`t - 2^k`, :math:`(a, b)_t \leftarrow (a, b)_{t-2^k} \bullet (a, b)_t`.

    After :math:`\lceil \log_2 T \rceil` steps position :math:`t` holds the composition of
    steps :math:`0..t`, and its ``b`` is :math:`h_t`. Every step is two vectorised
    multiplications and an addition over all positions; nothing is written in place, so autograd
    differentiates it.

    Args and Returns: as :func:`scan_sequential`.
    """
    _check(a, b, h0)
    b = _fold_h0(a, b, h0)
    T, offset = a.shape[0], 1
    while offset < T:
        # (a_left, b_left) . (a, b) = (a_left * a, a * b_left + b) for t >= offset
        a_new = torch.cat([a[:offset], a[offset:] * a[:-offset]])
        b = torch.cat([b[:offset], a[offset:] * b[:-offset] + b[offset:]])
        a, offset = a_new, 2 * offset
    return b


def scan_blelloch(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    r"""Blelloch's work-efficient scan: an up-sweep (reduce) and a down-sweep over a balanced tree.

    ``T`` is padded to a power of two :math:`P` with the identity :math:`(1, 0)`, and the tree is
    kept one level at a time, each level a contiguous tensor half the length of the one below:

    * Up-sweep: level :math:`k + 1` pairs the neighbours of level :math:`k`,
      :math:`(a, b)^{(k+1)}_j = (a, b)^{(k)}_{2j} \bullet (a, b)^{(k)}_{2j+1}`, until one
      element, the whole sequence's composition, is left.
    * Down-sweep: :math:`e_j`, the state *before* node :math:`j` of a level (an exclusive scan),
      starts at :math:`h_{-1} = 0` for the root. Going down a level, a left child gets its
      parent's :math:`e`, and a right child gets its parent's :math:`e` carried through its left
      sibling, :math:`a_{\text{left}}\, e + b_{\text{left}}`.

    At the bottom :math:`e_t = h_{t-1}`, and one last step :math:`h_t = a_t e_t + b_t` makes the scan
    inclusive. :math:`2 \log_2 P` dependent vectorised steps and :math:`O(T)` multiplications in
    all; only the :math:`b` half of :math:`e` is needed, since the state before a node is a vector,
    not a map. Nothing is written in place, so autograd differentiates it.

    Args and Returns: as :func:`scan_sequential`.
    """
    _check(a, b, h0)
    b = _fold_h0(a, b, h0)
    T = a.shape[0]
    P = 1 << max(T - 1, 0).bit_length()  # the next power of two >= T
    pad = (P - T,) + tuple(a.shape[1:])
    A = torch.cat([a, a.new_ones(pad)])  # (P, ...)
    B = torch.cat([b, b.new_zeros(pad)])
    levels = []  # the left children's (a, b) of every level, the finest first
    while A.shape[0] > 1:  # up-sweep: (a, b)_left . (a, b)_right = (a_l a_r, a_r b_l + b_r)
        a_l, a_r, b_l, b_r = A[0::2], A[1::2], B[0::2], B[1::2]
        levels.append((a_l, b_l))
        A, B = a_l * a_r, a_r * b_l + b_r
    e = torch.zeros_like(B)  # (1, ...): the state before the root, h_{-1} = 0 (h0 is folded in)
    for a_l, b_l in reversed(levels):  # down-sweep: left child e, right child a_l e + b_l
        e = torch.stack([e, a_l * e + b_l], dim=1).reshape((2 * e.shape[0],) + e.shape[1:])
    return a * e[:T] + b  # e_t = h_{t-1}


def scan_closed_form(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    r"""The closed form :math:`h_t = A_t\,(h_{-1} + \sum_{s \le t} b_s / A_s)`,
    :math:`A_t = \prod_{s \le t} a_s`, with ``torch.cumprod`` and ``torch.cumsum``.

    Exact in real arithmetic and two library calls, but :math:`A_t` underflows to 0 once the
    product of the gates falls below the dtype's smallest number (about :math:`10^{-308}` in
    float64, :math:`10^{-38}` in float32) and :math:`b_s / A_s` then overflows: the result
    becomes ``nan`` or ``inf``. :func:`scan_log` is the same formula made safe. ``a`` must be
    nonzero.

    Args and Returns: as :func:`scan_sequential`.
    """
    _check(a, b, h0)
    A = torch.cumprod(a, dim=0)  # (T, ...)
    h = torch.cumsum(b / A, dim=0)
    if h0 is not None:
        h = h + h0
    return A * h


def scan_log(log_a: torch.Tensor, log_b: torch.Tensor, log_h0: torch.Tensor | None = None) -> torch.Tensor:
    r"""The closed form in log space, for positive ``a``, ``b`` and ``h0``: returns :math:`\log h`.

    .. math::
        \log h_t = a^*_t + \operatorname{logcumsumexp}_{s \le t}\big(\log b_s - a^*_s\big),
        \qquad a^*_t = \sum_{s \le t} \log a_s,

    with :math:`\log h_{-1}` entering as an extra term :math:`s = -1` (:math:`a^*_{-1} = 0`).
    Sums of logarithms neither under- nor overflow where the products of :func:`scan_closed_form`
    do, and ``torch.logcumsumexp`` subtracts its running maximum before exponentiating.
    Positivity is the price: Feng et al. (2024) keep :math:`b > 0` with a positive activation.

    Args:
        log_a, log_b: ``(T, ...)``, the logarithms of ``a`` and ``b`` (``-inf`` allowed in
            ``log_b``: a zero ``b``).
        log_h0: ``(...)`` or None (``h_{-1} = 0``).

    Returns:
        ``log h (T, ...)``.
    """
    _check(log_a, log_b, log_h0, "log_a", "log_b", "log_h0")
    if torch.isnan(log_a).any() or torch.isnan(log_b).any():
        raise ValueError("log_a and log_b must not contain nan (the log of a negative number?); "
                         "scan_log needs a > 0 and b >= 0")
    a_star = torch.cumsum(log_a, dim=0)  # (T, ...)
    terms = log_b - a_star
    if log_h0 is not None:
        terms = torch.cat([log_h0[None], terms])  # the s = -1 term
        return a_star + torch.logcumsumexp(terms, dim=0)[1:]
    return a_star + torch.logcumsumexp(terms, dim=0)


def parallel_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None,
                  method: str = "hillis_steele") -> torch.Tensor:
    """:math:`h_t = a_t h_{t-1} + b_t` by ``method``, one of ``METHODS``: the models' entry point."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    return {"sequential": scan_sequential, "hillis_steele": scan_hillis_steele,
            "blelloch": scan_blelloch, "closed_form": scan_closed_form}[method](a, b, h0)


def scan_depth(T: int, method: str) -> int:
    """Dependent vectorised steps of ``method`` on ``T`` positions: ``T`` (sequential),
    :math:`\\lceil\\log_2 T\\rceil` (Hillis-Steele), :math:`2\\lceil\\log_2 T\\rceil` (Blelloch)."""
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be an int >= 1; got {T!r}")
    levels = math.ceil(math.log2(T)) if T > 1 else 0
    table = {"sequential": T, "hillis_steele": levels, "blelloch": 2 * levels}
    if method not in table:
        raise ValueError(f"method must be one of {tuple(table)}; got {method!r}")
    return table[method]
