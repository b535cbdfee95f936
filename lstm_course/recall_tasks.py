r"""Two tasks of the linear-recurrence literature: selective copy and associative recall.

Both return a :class:`lstm_course.tasks.TaskData` (time-major, the same contract as the tasks of
:mod:`lstm_course.tasks`), so :func:`lstm_course.training.train` trains on them unchanged.

* **Selective copy** (Gu & Dao 2023, the task Mamba's selection was made for): ``K`` symbols
  scattered at random positions among ``T`` steps of blanks, then ``K`` "go" steps at which the
  symbols must be output in order. Unlike the copy task, the symbols' positions vary, so a
  model must decide *from the input* what to store: a gate that reads :math:`x_t`.
* **Associative recall** (Ba et al. 2016; the multi-query form of Arora et al. 2023 asks
  several): ``K`` key-value pairs, blanks up to step ``T - 1``, then a query key; the
  answer is the value that was paired with it. A store of key-value associations, read by
  content: what attention, and the mLSTM's matrix memory, do.
"""
from __future__ import annotations

import numpy as np

from ._validate import check_int
from .tasks import TaskData, _tensors


def _rng(seed) -> np.random.Generator:
    return np.random.default_rng(check_int("seed", seed, 0))


def selective_copy(n: int, T: int, *, seed: int = 0, n_symbols: int = 4, copy_length: int = 4) -> TaskData:
    r"""Selective copy: remember ``copy_length`` symbols at random positions, then output them.

    Input categories (one-hot, ``D = n_symbols + 2``): 0 blank, ``1 .. n_symbols`` the data,
    ``n_symbols + 1`` "go". A sequence has ``T + K`` steps (``K = copy_length``): in steps
    ``0 .. T-1``, ``K`` distinct positions drawn uniformly hold symbols drawn uniformly, the
    others are blank; steps ``T .. T+K-1`` are "go". The target is blank (0) for the first ``T``
    steps and the ``K`` symbols in order of position at the "go" steps.

    Args:
        n: sequences (``>= 1``). T: steps that may hold symbols (``>= copy_length``).
        seed: non-negative int. n_symbols: data alphabet (``>= 2``). copy_length: ``K >= 1``.

    Returns:
        TaskData with ``x (T + K, n, n_symbols + 2)`` float32, ``y (T + K, n)`` int64 and
        ``lengths`` all ``T + K``.
    """
    n = check_int("n", n, 1)
    n_symbols = check_int("n_symbols", n_symbols, 2)
    K = check_int("copy_length", copy_length, 1)
    T = check_int("T", T, K, f" (room for copy_length={K} symbols)")
    rng = _rng(seed)
    positions = np.sort(np.argsort(rng.random((T, n)), axis=0)[:K], axis=0)  # (K, n) distinct, in order
    data = rng.integers(1, n_symbols + 1, size=(K, n))  # (K, n)
    inputs = np.zeros((T + K, n), dtype=np.int64)
    cols = np.arange(n)[None, :]
    inputs[positions, cols] = data
    inputs[T:] = n_symbols + 1  # "go"
    targets = np.zeros((T + K, n), dtype=np.int64)
    targets[T:] = data
    return _tensors(np.eye(n_symbols + 2)[inputs], targets, np.full(n, T + K))


def selective_copy_baseline_accuracy(*, n_symbols: int = 4, copy_length: int = 4) -> float:
    r"""Chance that a memoryless guess copies all symbols right: :math:`S^{-K}`."""
    return float(check_int("n_symbols", n_symbols, 2)) ** -check_int("copy_length", copy_length, 1)


def associative_recall(n: int, T: int, *, seed: int = 0, n_keys: int = 8, n_values: int = 8,
                       pairs: int = 4) -> TaskData:
    r"""Associative recall: ``pairs`` key-value pairs, a gap, a query key; answer its value.

    Inputs (``D = n_keys + n_values + 1``): a key step is the key's one-hot in the first
    ``n_keys`` features, a value step the value's one-hot in the next ``n_values``, the last
    feature flags the query. Steps ``0 .. 2P-1`` alternate key, value (``P = pairs`` distinct
    keys, values drawn with replacement), steps ``2P .. T-2`` are blank (zeros), and step
    ``T - 1`` is the query: one of the ``P`` keys, uniformly, with the flag. The target is the
    queried key's value, a class in ``0 .. n_values - 1``, read at the last step.

    Args:
        n: sequences. T: length (``>= 2 * pairs + 1``). seed: non-negative int.
        n_keys: key alphabet (``>= pairs``). n_values: value alphabet (``>= 2``).
        pairs: key-value pairs per sequence (``>= 1``).

    Returns:
        TaskData with ``x (T, n, n_keys + n_values + 1)`` float32, ``y (n,)`` int64 and
        ``lengths`` all ``T``.
    """
    n = check_int("n", n, 1)
    P = check_int("pairs", pairs, 1)
    n_keys = check_int("n_keys", n_keys, P, f" (pairs={P} distinct keys)")
    n_values = check_int("n_values", n_values, 2)
    T = check_int("T", T, 2 * P + 1, f" ({P} pairs and a query)")
    rng = _rng(seed)
    keys = np.argsort(rng.random((n_keys, n)), axis=0)[:P]  # (P, n) distinct keys
    values = rng.integers(0, n_values, size=(P, n))  # (P, n)
    which = rng.integers(0, P, size=n)  # (n,) the queried pair
    cols = np.arange(n)
    x = np.zeros((T, n, n_keys + n_values + 1))
    for p in range(P):
        x[2 * p, cols, keys[p]] = 1.0
        x[2 * p + 1, cols, n_keys + values[p]] = 1.0
    x[T - 1, cols, keys[which, cols]] = 1.0
    x[T - 1, :, -1] = 1.0  # the query flag
    return _tensors(x, values[which, cols], np.full(n, T))


def associative_recall_baseline_accuracy(*, n_values: int = 8) -> float:
    """Chance accuracy without memory of the pairs: :math:`1 / V`."""
    return 1.0 / check_int("n_values", n_values, 2)
