r"""Character n-gram language models with interpolated Kneser–Ney smoothing: a count-based baseline.

An order-``N`` model predicts character :math:`w` from the ``N - 1`` characters :math:`h` before
it. Every order :math:`k = 1 \dots N` mixes a discounted count with the order below it
(interpolated Kneser–Ney: Kneser & Ney 1995; Chen & Goodman 1999):

.. math::

    p_k(w \mid h) = \frac{\max\big(c_k(h w) - D_k(c_k(h w)),\, 0\big)}{c_k(h\,\cdot)}
                    + \gamma_k(h)\, p_{k-1}(w \mid h'), \qquad
    \gamma_k(h) = \frac{\sum_{w} D_k(c_k(h w))}{c_k(h\,\cdot)}, \qquad
    p_0(w) = \frac{1}{V}

where

- :math:`h` is the last ``k - 1`` characters and :math:`h'` the last ``k - 2`` (``h`` without
  its first character); for ``k = 1`` the context is empty;
- :math:`c_k` is the *raw count* of the string in the training text at the highest order
  ``k = N``, and at every lower order the *continuation count*
  :math:`N_{1+}(\bullet\, h w)`, the number of distinct characters seen just before
  :math:`h w`: a lower order is only consulted when the longer context says little, so it should
  rate a character by how many contexts it follows, not by how often it occurs;
- :math:`c_k(h\,\cdot) = \sum_w c_k(h w)`; a context with :math:`c_k(h\,\cdot) = 0` (never seen)
  backs off fully: :math:`p_k(w \mid h) = p_{k-1}(w \mid h')`;
- :math:`D_k(c)` is the discount (0 for :math:`c = 0`). By default it is *modified* Kneser–Ney
  (Chen & Goodman 1999): three discounts per order, for counts 1, 2 and 3 or more,
  from the order's count-of-counts :math:`n_r` (how many ``k``-grams have count ``r``, counted
  with :math:`c_k`): :math:`Y = n_1 / (n_1 + 2 n_2)`, :math:`D_r = r - (r + 1)\, Y\, n_{r+1} / n_r`
  for ``r = 1, 2, 3``. ``discount="single"`` gives their *interpolated Kneser–Ney*: one
  :math:`D_k = Y` per order. A number gives that fixed ``D`` at every order and count
  (``D = 0`` is no smoothing at all: maximum-likelihood frequencies, zeros included);
- the base :math:`p_0` is uniform over the ``V`` characters, so with any discount above 0 no
  character, not even one absent from the training text, has probability 0.

Every :math:`p_k(\cdot \mid h)` sums to 1 by construction (the mass the discounts remove is the
mass :math:`\gamma_k(h)` hands down). Estimates from few counts can be undefined or fall outside
:math:`(0, r]`; such a :math:`D_r` is replaced by :math:`Y` (and :math:`Y` by 1/2 when
:math:`n_1 = 0`), so every estimated discount is positive and every seen context hands some mass
down to the uniform base.

Start of a sequence: no padding symbol. The first ``N - 1`` characters of a sequence are predicted
from the shorter context they have: character ``t`` uses orders ``1 … min(N, t + 1)`` only, so the
first character gets the order-1 distribution :math:`p_1` (for ``N > 1`` the one built from
continuation counts, as in a back-off). A sequence is scored on its own: the validation split's
first characters do not see the end of the training text. In the training text, the ``k``-grams
are counted wherever they fit, so its first ``k``-gram, with no character before it, adds no
continuation count.

Counting is done on integer codes, :math:`\text{code}(u_1 \dots u_k) = \sum_j u_j V^{k-j}`, with
``np.unique``; evaluating a sequence looks all its codes up at once with ``np.searchsorted``.
Only the standard library and NumPy are used. Run ``python -m lstm_course.ngram`` for the table of
validation perplexities on the character-level chapter's split.

References (``book/references.bib``: ``kneser1995improved``, ``chen1999empirical``):
R. Kneser and H. Ney, "Improved backing-off for M-gram language modeling", ICASSP 1995, 181–184,
doi:10.1109/ICASSP.1995.479394; S. F. Chen and J. Goodman, "An empirical study of smoothing
techniques for language modeling", Computer Speech & Language 13(4), 359–393, 1999,
doi:10.1006/csla.1999.0128.
"""
from __future__ import annotations

import math
import numbers
import time
from typing import NamedTuple

import numpy as np

from ._validate import check_int


class Level(NamedTuple):
    """What one order ``k`` keeps (``G`` k-grams with a count above 0, ``C`` distinct contexts)."""

    grams: np.ndarray     # (G,) sorted codes of the k-grams h w
    counts: np.ndarray    # (G,) c_k(h w): raw counts (k = N) or continuation counts (k < N)
    contexts: np.ndarray  # (C,) sorted codes of the contexts h (code // V)
    totals: np.ndarray    # (C,) c_k(h ·)
    gammas: np.ndarray    # (C,) γ_k(h)
    D: np.ndarray         # (4,) discounts for counts 0, 1, 2, 3+ (D[0] = 0)


def as_ids(name: str, ids, vocab_size: int, allow_empty: bool = False) -> np.ndarray:
    """Return ``ids`` (a list, NumPy array or torch tensor) as a 1-D int64 array of ids in ``[0, V)``."""
    if hasattr(ids, "detach"):  # a torch.Tensor, without importing torch
        ids = ids.detach().cpu().numpy()
    if isinstance(ids, (str, bytes)) or not hasattr(ids, "__len__"):
        raise TypeError(f"{name} must be a 1-D sequence of integer character ids; got {type(ids).__name__}")
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, shape (T,); got shape {arr.shape}")
    if arr.size == 0:
        if allow_empty:
            return arr.astype(np.int64)
        raise ValueError(f"{name} must hold at least one character id; got an empty sequence")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer character ids; got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= vocab_size:
        raise ValueError(f"{name} must hold ids in [0, {vocab_size - 1}] (vocab_size = {vocab_size}); "
                         f"got values from {arr.min()} to {arr.max()}")
    return arr.astype(np.int64)


def gram_codes(u: np.ndarray, k: int, V: int) -> np.ndarray:
    """Codes of every ``k``-gram of ``u``: entry ``i`` encodes ``u[i : i + k]``. Returns ``(T - k + 1,)``."""
    n = max(len(u) - k + 1, 0)  # none when u is shorter than k
    code = np.zeros(n, dtype=np.int64)
    for j in range(k):
        code = code * V + u[j: j + n]
    return code


def discounts(counts: np.ndarray, discount) -> np.ndarray:
    """The discounts ``D[c]`` for counts ``c = 0, 1, 2, 3+`` of one order (see the module docstring)."""
    if isinstance(discount, numbers.Real):
        return np.array([0.0, discount, discount, discount])
    n = np.bincount(counts, minlength=5)[:5].astype(np.float64)  # n[r]: k-grams with count r
    Y = n[1] / (n[1] + 2 * n[2]) if n[1] > 0 else 0.5  # in (0, 1]
    if discount == "single":
        return np.array([0.0, Y, Y, Y])
    D = [0.0] + [r - (r + 1) * Y * n[r + 1] / n[r] if n[r] > 0 else Y for r in (1, 2, 3)]
    return np.array([0.0] + [D[r] if 0 < D[r] <= r else Y for r in (1, 2, 3)])


def lookup(keys: np.ndarray, queries: np.ndarray):
    """``(found, index)``: where each query sits in the sorted ``keys`` and whether it is there."""
    i = np.minimum(np.searchsorted(keys, queries), max(len(keys) - 1, 0))
    found = keys[i] == queries if len(keys) else np.zeros(len(queries), dtype=bool)
    return found, i


class KneserNey:
    """An interpolated Kneser–Ney character model of order ``N`` (module docstring for the math).

    Args:
        order: ``N >= 1``; each prediction uses up to ``N - 1`` preceding characters.
        vocab_size: ``V``; ids lie in ``[0, V)``.
        discount: ``None`` (modified KN: ``D1, D2, D3+`` per order from count-of-counts),
            ``"single"`` (one ``D = n1 / (n1 + 2 n2)`` per order) or a fixed number in ``[0, 1]``.

    Use: ``model = KneserNey(5, V).fit(train_ids)``; then ``model.probabilities(context)``
    ``(V,)``, ``model.log_prob(ids)`` ``(T,)``, ``perplexity(model, ids)``.
    """

    def __init__(self, order: int, vocab_size: int, discount=None):
        self.order = check_int("order", order, 1)
        self.vocab_size = V = check_int("vocab_size", vocab_size, 1)
        if V ** self.order > np.iinfo(np.int64).max:  # codes reach V ** N
            raise ValueError(f"V ** order must fit in int64 (below 2**63) for the n-gram codes; "
                             f"got V = {V}, order = {order}: V ** order = {V ** self.order:.3e}")
        if isinstance(discount, bool) or not (discount is None or discount == "single"
                                              or isinstance(discount, numbers.Real)):
            raise TypeError(f"discount must be None, 'single' or a number in [0, 1]; got {discount!r}")
        if isinstance(discount, numbers.Real) and not 0.0 <= discount <= 1.0:
            raise ValueError(f"a fixed discount must lie in [0, 1]; got {discount}")
        self.discount = discount
        self.levels: list[Level] = []

    def __repr__(self) -> str:
        return f"KneserNey(order={self.order}, vocab_size={self.vocab_size}, discount={self.discount!r})"

    def fit(self, ids) -> "KneserNey":
        """Count the training sequence ``ids`` ``(T,)``: raw counts at order ``N``, continuation
        counts below, then each order's discounts, totals and back-off weights. Returns ``self``."""
        u = as_ids("ids", ids, self.vocab_size)
        V, N = self.vocab_size, self.order
        self.levels = []
        for k in range(1, N + 1):
            if k == N:  # c_N(h w): how often h w occurs
                grams, counts = np.unique(gram_codes(u, k, V), return_counts=True)
            else:  # c_k(h w) = N1+(• h w): distinct (k+1)-grams x h w, keep their last k characters
                grams, counts = np.unique(np.unique(gram_codes(u, k + 1, V)) % V ** k, return_counts=True)
            D = discounts(counts, self.discount)
            contexts, of_context = np.unique(grams // V, return_inverse=True)
            totals = np.bincount(of_context, weights=counts, minlength=len(contexts))  # c_k(h ·)
            removed = np.bincount(of_context, weights=D[np.minimum(counts, 3)], minlength=len(contexts))
            self.levels.append(Level(grams, counts, contexts, totals, removed / np.maximum(totals, 1), D))
        return self

    def _check_fitted(self):
        if not self.levels:
            raise ValueError(f"{self!r} is not fitted yet; call .fit(train_ids) first")

    def probabilities(self, context=()) -> np.ndarray:
        """The next-character distribution :math:`p_N(\\cdot \\mid h)` after ``context`` (ids, any
        length; only the last ``N - 1`` are used, a shorter one uses fewer orders). Returns ``(V,)``."""
        self._check_fitted()
        h_all = as_ids("context", context, self.vocab_size, allow_empty=True)
        V = self.vocab_size
        p = np.full(V, 1.0 / V)  # p_0
        for k, L in enumerate(self.levels, start=1):
            if k - 1 > len(h_all):
                break
            h = int(gram_codes(h_all[len(h_all) - (k - 1):], k - 1, V)[0]) if k > 1 else 0
            found, i = lookup(L.contexts, np.array([h]))
            if not found[0]:
                continue  # unseen context: p_k = p_{k-1}
            lo, hi = np.searchsorted(L.grams, [h * V, h * V + V])
            c = np.zeros(V, dtype=np.int64)
            c[L.grams[lo:hi] % V] = L.counts[lo:hi]  # c_k(h w) for every w
            p = np.maximum(c - L.D[np.minimum(c, 3)], 0) / L.totals[i[0]] + L.gammas[i[0]] * p
        return p

    def log_prob(self, ids) -> np.ndarray:
        """:math:`\\log p(u_t \\mid u_{t-N+1} \\dots u_{t-1})` in nats for every ``t`` of ``ids``
        ``(T,)``, the first characters from shorter contexts. Returns ``(T,)``."""
        self._check_fitted()
        u = as_ids("ids", ids, self.vocab_size)
        V = self.vocab_size
        p = np.full(len(u), 1.0 / V)  # p_0 at every position
        for k, L in enumerate(self.levels, start=1):
            hw = gram_codes(u, k, V)  # (T - k + 1,) the k-gram ending at t = k-1 … T-1
            has_h, i = lookup(L.contexts, hw // V)
            has_hw, j = lookup(L.grams, hw)
            c = np.where(has_hw, L.counts[j], 0)
            p_below = p[k - 1:]
            discounted = np.maximum(c - L.D[np.minimum(c, 3)], 0) / np.where(has_h, L.totals[i], 1)
            p_k = discounted + np.where(has_h, L.gammas[i], 1.0) * p_below
            p[k - 1:] = np.where(has_h, p_k, p_below)
        with np.errstate(divide="ignore"):
            return np.log(p)


def perplexity(model: KneserNey, ids) -> float:
    r"""Perplexity :math:`\exp\big(-\frac{1}{T}\sum_t \log p(u_t \mid \text{context})\big)` of ``ids (T,)``,
    every character scored (the first from shorter contexts)."""
    if not isinstance(model, KneserNey):
        raise TypeError(f"model must be a lstm_course.ngram.KneserNey; got {type(model).__name__}")
    return float(math.exp(-model.log_prob(ids).mean()))


def ngram_table(train_ids, val_ids, vocab_size: int, orders=range(1, 8), discount=None) -> dict:
    """Validation perplexity of a model of each order fitted on ``train_ids``: ``{order: perplexity}``.

    Each order is a model of its own (its top order uses raw counts). On the character-level
    chapter's split, ``python -m lstm_course.ngram`` prints the table.
    """
    orders = list(orders)
    if not orders:
        raise ValueError("orders must name at least one order; got none")
    return {N: perplexity(KneserNey(N, vocab_size, discount).fit(train_ids), val_ids) for N in orders}


def main() -> None:
    """Print the table for the character-level chapter's split (``load_text``, ``Vocab.from_text``,
    ``train_val_split(ids, val_fraction=0.1)``)."""
    from .text import Vocab, load_text, train_val_split  # torch is needed here only

    text = load_text()
    vocab = Vocab.from_text(text)
    train_ids, val_ids = (x.numpy() for x in train_val_split(vocab.encode(text), val_fraction=0.1))
    V = len(vocab)
    print(f"training {len(train_ids):,} characters, validation {len(val_ids):,}, V = {V}")
    counts = np.bincount(train_ids, minlength=V) + 1.0  # the chapter's add-one unigram
    unigram = np.exp(-np.log(counts / counts.sum())[val_ids].mean())
    print(f"add-one unigram (the chapter's baseline): {unigram:.2f}")
    print("order  modified KN  single-D KN  seconds (both fits + evaluations)")
    for N in range(1, 10):
        start = time.perf_counter()
        mod = perplexity(KneserNey(N, V).fit(train_ids), val_ids)
        single = perplexity(KneserNey(N, V, "single").fit(train_ids), val_ids)
        print(f"{N:5d}  {mod:11.3f}  {single:11.3f}  {time.perf_counter() - start:7.2f}")


if __name__ == "__main__":
    main()
