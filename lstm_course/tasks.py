"""Long-range synthetic tasks (adding, temporal order, copy, last marked value), generated from a seed.

Every task returns a :class:`TaskData` of time-major tensors:

* ``x`` ``(T', n, D)`` float32, the inputs, zero-padded after each sequence's length;
* ``y`` the targets: float32 ``(n, 1)`` for regression at the last valid step (adding, last marked value),
  int64 ``(n,)`` for a class at the last valid step (temporal order), int64 ``(T', n)``
  for a class at every step (copy);
* ``lengths`` ``(n,)`` int64, the valid length of each sequence (``T' = lengths.max()`` or more).

The same ``(n, T, seed)`` always gives the same tensors. Each task documents the baseline a
model must beat (the best a model without memory of the relevant inputs can do) and exposes
it as a function, so that "learned something" is a measured statement.
"""
from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
import torch

from ._validate import check_int as _check_int

ADDING_FORMS = ("modern", "1997")
ADDING_TOLERANCE = 0.04  # Hochreiter & Schmidhuber (1997): correct when |error| < 0.04
TEMPORAL_ORDER_SYMBOLS = ("E", "B", "a", "b", "c", "d", "X", "Y")  # one-hot input order
TEMPORAL_ORDER_CLASSES = ("XX", "XY", "YX", "YY")  # the paper's classes Q, R, S, U


class TaskData(NamedTuple):
    """A batch of one task, time-major.

    Attributes:
        x: ``(T', n, D)`` float32 inputs, zero after each sequence's end.
        y: targets; float32 ``(n, O)`` (regression at the last valid step), int64 ``(n,)``
            (one class per sequence, at the last valid step) or int64 ``(T', n)`` (a class
            at every step).
        lengths: ``(n,)`` int64 valid lengths; the output is read at step ``lengths - 1``.
    """

    x: torch.Tensor
    y: torch.Tensor
    lengths: torch.Tensor

    @property
    def kind(self) -> str:
        """``"regression"``, ``"classification"`` (one class per sequence) or ``"sequence"``
        (a class per step), read from ``y``'s dtype and rank."""
        if self.y.is_floating_point():
            return "regression"
        return "classification" if self.y.dim() == 1 else "sequence"


def _rng(seed) -> np.random.Generator:
    return np.random.default_rng(_check_int("seed", seed, 0))


def _tensors(x: np.ndarray, y: np.ndarray, lengths: np.ndarray) -> TaskData:
    y_t = torch.from_numpy(y.astype(np.float32) if y.dtype.kind == "f" else y.astype(np.int64))
    return TaskData(torch.from_numpy(x.astype(np.float32)), y_t, torch.from_numpy(lengths.astype(np.int64)))


# ----------------------------------------------------------------------------- adding problem
def adding_problem(n: int, T: int, *, form: str = "modern", seed: int = 0) -> TaskData:
    r"""The adding problem: remember two marked values among ``T`` distractors and add them.

    Each step's input is a pair ``(value, marker)`` (``D = 2``); the target, needed only at
    the last step, depends on the two values whose marker is 1.

    ``form="modern"`` (the form of Le et al. 2015 and Arjovsky et al. 2016): every sequence
    has length ``T``; values are :math:`U[0, 1]`; one marker lies uniformly in the first
    half (steps ``0 .. T//2 - 1``), one in the second half; the target is
    :math:`X_1 + X_2`. Predicting the constant 1 gives MSE :math:`\operatorname{Var}(X_1 + X_2) = 1/6`.

    ``form="1997"`` (Hochreiter & Schmidhuber 1997, experiment 4): each length is uniform in
    ``T .. T + T//10``; values are :math:`U[-1, 1]`; the first marked step is uniform among
    the first ten, the second uniform among the other ``T//2 - 1`` steps of the first
    ``T//2``; the marker component is -1 at the first and the last step (unless marked) and 0
    elsewhere; when step 0 is marked, :math:`X_1` is set to 0; the target is
    :math:`0.5 + (X_1 + X_2)/4 \in [0, 1]`, and a sequence is processed correctly when the
    absolute error at its last step is below ``ADDING_TOLERANCE = 0.04``.
    The minimal time lag between a marker and the end is ``T//2``.

    Args:
        n: number of sequences (``>= 1``).
        T: sequence length (modern: ``>= 2``; 1997: the minimal length, ``>= 20`` so that
            the first ten steps lie in the first half).
        form: ``"modern"`` or ``"1997"``.
        seed: non-negative int; the same arguments give the same tensors.

    Returns:
        TaskData with ``x (T', n, 2)`` float32 (``T' = T`` modern, ``T + T//10`` in 1997),
        ``y (n, 1)`` float32 and ``lengths (n,)`` int64.

    Raises:
        TypeError: a non-int ``n``, ``T`` or ``seed``, or a non-string ``form``.
        ValueError: ``n < 1``, ``T`` too short for the markers, or an unknown ``form``.
    """
    if not isinstance(form, str) or form not in ADDING_FORMS:
        raise ValueError(f"form must be one of {ADDING_FORMS}; got {form!r}")
    n = _check_int("n", n, 1)
    if form == "modern":
        T = _check_int("T", T, 2, " (one marker in each half of the sequence)")
        rng = _rng(seed)
        x = np.zeros((T, n, 2))
        x[:, :, 0] = rng.uniform(0.0, 1.0, size=(T, n))  # (T, n)
        half = T // 2
        first = rng.integers(0, half, size=n)  # (n,)
        second = rng.integers(half, T, size=n)  # (n,)
        cols = np.arange(n)
        x[first, cols, 1] = 1.0
        x[second, cols, 1] = 1.0
        y = (x[first, cols, 0] + x[second, cols, 0])[:, None]  # (n, 1)
        return _tensors(x, y, np.full(n, T))

    T = _check_int("T", T, 20, " in the 1997 form (the first ten steps must lie in the first half)")
    rng = _rng(seed)
    T_max = T + T // 10
    lengths = rng.integers(T, T_max + 1, size=n)  # (n,) uniform in T .. T + T//10
    x = np.zeros((T_max, n, 2))
    steps = np.arange(T_max)[:, None]  # (T', 1)
    valid = steps < lengths[None, :]  # (T', n)
    x[:, :, 0] = np.where(valid, rng.uniform(-1.0, 1.0, size=(T_max, n)), 0.0)
    cols = np.arange(n)
    first = rng.integers(0, 10, size=n)  # one of the first ten steps
    # one of the first T//2 - 1 still unmarked steps: draw among T//2 - 1 slots, skip `first`
    second = rng.integers(0, T // 2 - 1, size=n)
    second = second + (second >= first)
    x[0, :, 1] = -1.0
    x[lengths - 1, cols, 1] = -1.0
    x[first, cols, 1] = 1.0
    x[second, cols, 1] = 1.0
    x[0, first == 0, 0] = 0.0  # the paper sets X1 = 0 when the first step is marked
    y = (0.5 + (x[first, cols, 0] + x[second, cols, 0]) / 4.0)[:, None]  # (n, 1)
    return _tensors(x, y, lengths)


def adding_baseline_mse(form: str = "modern") -> float:
    r"""MSE of the best constant prediction (the target's mean) on :func:`adding_problem`.

    Modern: :math:`\operatorname{Var}(X_1 + X_2) = 2 \cdot \tfrac{1}{12} = 1/6`.
    1997: :math:`\operatorname{Var}(X_1 + X_2)/16` with :math:`\operatorname{Var}(X_2) = 1/3`
    and :math:`\operatorname{Var}(X_1) = 0.9 \cdot 1/3` (X1 is zeroed when step 0, one of ten
    choices, is marked): :math:`(0.3 + 1/3)/16 \approx 0.0396`.
    """
    if form == "modern":
        return 1.0 / 6.0
    if form == "1997":
        return (0.9 / 3.0 + 1.0 / 3.0) / 16.0
    raise ValueError(f"form must be one of {ADDING_FORMS}; got {form!r}")


def adding_baseline_accuracy(form: str = "modern", tolerance: float = ADDING_TOLERANCE) -> float:
    r"""Fraction of sequences a constant prediction gets within ``tolerance`` of the target.

    The constant is the target's mean (modern 1, 1997 0.5). With :math:`S = X_1 + X_2`, whose
    density is triangular, :math:`P(|S - \mathbb{E}S| < a)` is :math:`2a - a^2` for two
    :math:`U[0, 1]` values and :math:`a - a^2/4` for two :math:`U[-1, 1]` values; in the 1997
    form :math:`a = 4\cdot` ``tolerance`` and, with probability 1/10, :math:`X_1 = 0`
    (then the probability is :math:`a`). Modern: 0.0784; 1997: 0.154 at tolerance 0.04.
    """
    if not isinstance(tolerance, numbers.Real) or not 0 < tolerance:
        raise ValueError(f"tolerance must be a positive number; got {tolerance!r}")
    if form == "modern":
        a = min(float(tolerance), 1.0)
        return 2 * a - a * a
    if form == "1997":
        a = min(4.0 * float(tolerance), 2.0)
        return 0.9 * (a - a * a / 4) + 0.1 * min(a, 1.0)
    raise ValueError(f"form must be one of {ADDING_FORMS}; got {form!r}")


# ----------------------------------------------------------------------------- temporal order
def temporal_order(n: int, T: int, *, seed: int = 0) -> TaskData:
    r"""The temporal-order problem (Hochreiter & Schmidhuber 1997, experiment 6a).

    A sequence starts with ``E``, ends with the trigger ``B``, and is otherwise made of
    distractors drawn uniformly from ``a, b, c, d``, except at two steps ``t1`` and ``t2``
    whose symbol is ``X`` or ``Y``. The class is the ordered pair of relevant symbols:
    ``XX, XY, YX, YY`` (the paper's Q, R, S, U). The paper's setting is ``T = 100``: length
    uniform in 100..110, ``t1`` in 10..20, ``t2`` in 50..60; here it scales with ``T``:
    length uniform in ``T .. T + T//10``, ``t1`` uniform in ``T//10 .. 2*T//10``, ``t2``
    uniform in ``T//2 .. T//2 + T//10`` (steps counted from 0, ``E`` at step 0).
    Guessing gives accuracy 1/4 and cross-entropy :math:`\log 4`.

    Args:
        n: number of sequences (``>= 1``).
        T: minimal length (``>= 10``, so that ``t1 >= 1`` comes after ``E``).
        seed: non-negative int.

    Returns:
        TaskData with ``x (T + T//10, n, 8)`` float32 one-hot in the order
        ``TEMPORAL_ORDER_SYMBOLS = (E, B, a, b, c, d, X, Y)``, ``y (n,)`` int64 classes in
        the order ``TEMPORAL_ORDER_CLASSES``, ``lengths (n,)`` int64.
    """
    n = _check_int("n", n, 1)
    T = _check_int("T", T, 10, " (the first relevant symbol comes at step T//10 >= 1, after E)")
    rng = _rng(seed)
    T_max = T + T // 10
    lengths = rng.integers(T, T_max + 1, size=n)  # (n,)
    symbols = rng.integers(2, 6, size=(T_max, n))  # (T', n) distractors a..d
    cols = np.arange(n)
    t1 = rng.integers(T // 10, 2 * (T // 10) + 1, size=n)
    t2 = rng.integers(T // 2, T // 2 + T // 10 + 1, size=n)
    first_is_y = rng.integers(0, 2, size=n)
    second_is_y = rng.integers(0, 2, size=n)
    symbols[t1, cols] = 6 + first_is_y  # X = 6, Y = 7
    symbols[t2, cols] = 6 + second_is_y
    symbols[0, :] = 0  # E
    symbols[lengths - 1, cols] = 1  # B, the trigger
    x = np.eye(len(TEMPORAL_ORDER_SYMBOLS))[symbols]  # (T', n, 8)
    x[np.arange(T_max)[:, None] >= lengths[None, :]] = 0.0  # padding
    y = 2 * first_is_y + second_is_y  # (n,) XX=0, XY=1, YX=2, YY=3
    return _tensors(x, y, lengths)


def temporal_order_baseline_accuracy() -> float:
    """Accuracy of guessing (or of a model that ignores ``X``/``Y``): 1/4."""
    return 1.0 / len(TEMPORAL_ORDER_CLASSES)


def temporal_order_baseline_loss() -> float:
    r"""Cross-entropy of the uniform prediction over the four classes: :math:`\log 4`."""
    return math.log(len(TEMPORAL_ORDER_CLASSES))


# ----------------------------------------------------------------------------- copy task
def copy_task(n: int, T: int, *, seed: int = 0, n_symbols: int = 8, copy_length: int = 10) -> TaskData:
    r"""The copy (memory) task as in Arjovsky, Shah & Bengio (2016).

    Input categories: 0 is the blank, ``1 .. n_symbols`` the data symbols, ``n_symbols + 1``
    the delimiter. A sequence of length ``T + 2*copy_length`` is: ``copy_length`` symbols
    drawn uniformly from ``1 .. n_symbols``, ``T - 1`` blanks, the delimiter, then
    ``copy_length`` blanks. The target is blank for the first ``T + copy_length`` steps, then
    the ``copy_length`` data symbols in order. The memoryless baseline predicts blank until
    the delimiter and then a uniform guess over the data symbols, which costs
    ``copy_length * log(n_symbols) / (T + 2*copy_length)`` nats per step on average.

    Args:
        n: number of sequences (``>= 1``).
        T: the delay between the last symbol to copy and the delimiter, plus one (``>= 1``).
        seed: non-negative int.
        n_symbols: size of the data alphabet (``>= 2``, 8 in the paper).
        copy_length: how many symbols to copy (``>= 1``, 10 in the paper).

    Returns:
        TaskData with ``x (T + 2*copy_length, n, n_symbols + 2)`` float32 one-hot,
        ``y (T + 2*copy_length, n)`` int64 in ``0 .. n_symbols``, ``lengths (n,)`` int64
        (all ``T + 2*copy_length``).
    """
    n = _check_int("n", n, 1)
    T = _check_int("T", T, 1)
    n_symbols = _check_int("n_symbols", n_symbols, 2)
    copy_length = _check_int("copy_length", copy_length, 1)
    rng = _rng(seed)
    L = T + 2 * copy_length
    data = rng.integers(1, n_symbols + 1, size=(copy_length, n))  # (K, n)
    inputs = np.zeros((L, n), dtype=np.int64)
    inputs[:copy_length] = data
    inputs[copy_length + T - 1] = n_symbols + 1  # the delimiter
    targets = np.zeros((L, n), dtype=np.int64)
    targets[L - copy_length :] = data
    x = np.eye(n_symbols + 2)[inputs]  # (L, n, n_symbols + 2)
    return _tensors(x, targets, np.full(n, L))


def copy_baseline_loss(T: int, *, n_symbols: int = 8, copy_length: int = 10) -> float:
    r"""Cross-entropy per step of the memoryless strategy on :func:`copy_task`:
    :math:`K \log(S) / (T + 2K)` with ``K = copy_length``, ``S = n_symbols``
    (``10 log 8 / (T + 20)`` in the paper's setting)."""
    T = _check_int("T", T, 1)
    n_symbols = _check_int("n_symbols", n_symbols, 2)
    copy_length = _check_int("copy_length", copy_length, 1)
    return copy_length * math.log(n_symbols) / (T + 2 * copy_length)


def copy_baseline_accuracy(*, n_symbols: int = 8, copy_length: int = 10) -> float:
    r"""Chance that the memoryless strategy copies every symbol right: :math:`S^{-K}`."""
    return float(_check_int("n_symbols", n_symbols, 2)) ** -_check_int("copy_length", copy_length, 1)


# ----------------------------------------------------------------------------- last marked value
def last_marked_value(n: int, T: int, *, seed: int = 0, markers: int = 6) -> TaskData:
    r"""Remember the value at the *last* of several marked steps: a task that needs overwriting.

    Each step's input is a pair ``(value, marker)`` (``D = 2``) with values :math:`U[0, 1]`.
    ``markers`` distinct steps, drawn uniformly among steps ``0 .. T - 2``, carry marker 1; the
    target, read at the last step ``T - 1``, is the value :math:`X_{t^*}` at the latest marked
    step :math:`t^*`. Unlike the adding problem, every new marker makes the stored value
    obsolete, so the memory must be overwritten, not accumulated (a cell without a forget gate
    finds this hard). Predicting the constant 1/2 gives MSE
    :math:`\operatorname{Var}\,U[0, 1] = 1/12` (:func:`last_marked_baseline_mse`).

    Args:
        n: number of sequences (``>= 1``).
        T: sequence length (``>= 2``: the marked steps come before the last one).
        seed: non-negative int; the same arguments give the same tensors.
        markers: number of marked steps, ``1 .. T - 1``.

    Returns:
        TaskData with ``x (T, n, 2)`` float32, ``y (n, 1)`` float32 and ``lengths (n,)`` int64
        (all ``T``).

    Raises:
        TypeError: a non-int ``n``, ``T``, ``seed`` or ``markers``.
        ValueError: ``n < 1``, ``T < 2``, ``seed < 0``, or ``markers`` outside ``1 .. T - 1``.
    """
    n = _check_int("n", n, 1)
    T = _check_int("T", T, 2, " (the marked steps come before the last step)")
    markers = _check_int("markers", markers, 1)
    if markers > T - 1:
        raise ValueError(f"markers must be at most T - 1 = {T - 1} (distinct steps before the last); got {markers}")
    rng = _rng(seed)
    x = np.zeros((T, n, 2))
    x[:, :, 0] = rng.uniform(0.0, 1.0, size=(T, n))  # (T, n) values
    marked = np.argsort(rng.random((T - 1, n)), axis=0)[:markers]  # (markers, n) distinct steps < T - 1
    cols = np.arange(n)
    x[marked, cols, 1] = 1.0
    y = x[marked.max(axis=0), cols, 0][:, None]  # (n, 1) the value at the last marked step
    return _tensors(x, y, np.full(n, T))


def last_marked_baseline_mse() -> float:
    r"""MSE of the best constant prediction (1/2) on :func:`last_marked_value`:
    :math:`\operatorname{Var}\,U[0, 1] = 1/12`."""
    return 1.0 / 12.0


def last_marked_baseline_accuracy(tolerance: float = ADDING_TOLERANCE) -> float:
    r"""Fraction of sequences the constant 1/2 gets within ``tolerance`` of the target on
    :func:`last_marked_value`: :math:`P(|U - 1/2| < a) = \min(2a, 1)` with ``a = tolerance``
    (0.08 at the 1997 criterion 0.04)."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real) or not 0 < tolerance:
        raise ValueError(f"tolerance must be a positive number; got {tolerance!r}")
    return min(2.0 * float(tolerance), 1.0)


# ----------------------------------------------------------------------------- first and last
FIRST_LAST_SYMBOLS = ("A", "b", "c")  # one-hot input order


def first_and_last(n: int, T: int, *, seed: int = 0, min_length: int = 2) -> TaskData:
    r"""A variable-length classification task that needs both ends of each sequence.

    Each sequence has a length drawn uniformly in ``min_length .. T`` and a symbol from
    ``FIRST_LAST_SYMBOLS = (A, b, c)`` at every valid step, one-hot, zero after its end. The
    class is ``2·[first symbol is A] + [last valid symbol is A]`` (0 … 3). A bidirectional
    network that reads the final state of each direction (the forward one at step
    ``lengths − 1``, the backward one at step 0) sees both symbols last; one that reads the
    padded last step does not. The most frequent class (neither end is A, probability 4/9)
    gives the baseline accuracy 4/9 (:func:`first_and_last_baseline_accuracy`).

    Args:
        n: number of sequences (``>= 1``).
        T: the longest length (``>= min_length``); ``x`` has ``T`` steps.
        seed: non-negative int; the same arguments give the same tensors.
        min_length: the shortest length (``>= 1``; with 1 the first symbol is the last).

    Returns:
        TaskData with ``x (T, n, 3)`` float32, ``y (n,)`` int64 and ``lengths (n,)`` int64.
    """
    n = _check_int("n", n, 1)
    min_length = _check_int("min_length", min_length, 1)
    T = _check_int("T", T, min_length, " (at least min_length)")
    rng = _rng(seed)
    lengths = rng.integers(min_length, T + 1, size=n)  # (n,)
    symbols = rng.integers(0, len(FIRST_LAST_SYMBOLS), size=(T, n))  # (T, n), A = 0
    cols = np.arange(n)
    y = 2 * (symbols[0] == 0) + (symbols[lengths - 1, cols] == 0)  # (n,)
    x = np.eye(len(FIRST_LAST_SYMBOLS))[symbols]  # (T, n, 3)
    x[np.arange(T)[:, None] >= lengths[None, :]] = 0.0  # padding
    return _tensors(x, y, lengths)


def first_and_last_baseline_accuracy() -> float:
    """Accuracy of always predicting the most frequent class of :func:`first_and_last` (neither end
    is A): (2/3)² = 4/9."""
    return 4.0 / 9.0
