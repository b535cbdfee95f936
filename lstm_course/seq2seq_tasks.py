"""Sequence-to-sequence tasks on digit strings (reversing, sorting), generated from a seed.

A batch is a :class:`Seq2SeqData` of time-major int64 tensors over one vocabulary of tokens:

* ``PAD = 0`` fills each sequence after its end, ``BOS = 1`` starts the decoder's input,
  ``EOS = 2`` ends every target, and the digits 0-9 are the tokens 3-12 (``digit + DIGIT0``).
* ``src`` ``(S, n)``: the input digits, padded; ``src_lengths`` ``(n,)``: how many are real.
* ``tgt`` ``(L, n)``: the output digits followed by ``EOS``, padded; ``tgt_lengths`` ``(n,)``
  counts the ``EOS``. :func:`decoder_inputs` gives the teacher-forced decoder input, ``BOS``
  followed by ``tgt`` shifted right by one step.

The lengths are drawn uniformly from ``[min_len, max_len]``, so one batch mixes lengths, and
the same ``(n, min_len, max_len, seed)`` always gives the same tensors.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from ._validate import check_int

PAD, BOS, EOS, DIGIT0 = 0, 1, 2, 3  # special tokens; digit d is token DIGIT0 + d
VOCAB = DIGIT0 + 10  # the vocabulary size, 13
TASKS = ("reverse", "sort")


class Seq2SeqData(NamedTuple):
    """A batch of a sequence-to-sequence task, time-major, int64.

    Attributes:
        src: ``(S, n)`` input tokens, ``PAD`` after each sequence's ``src_lengths``.
        src_lengths: ``(n,)`` number of real input tokens (``S = src_lengths.max()``).
        tgt: ``(L, n)`` target tokens, each sequence ending in ``EOS`` and padded with ``PAD``.
        tgt_lengths: ``(n,)`` number of target tokens, ``EOS`` included.
    """

    src: torch.Tensor
    src_lengths: torch.Tensor
    tgt: torch.Tensor
    tgt_lengths: torch.Tensor


def digit_strings(n: int, min_len: int, max_len: int, *, task: str = "reverse", seed: int = 0) -> Seq2SeqData:
    """``n`` random digit strings and their reversal (``task="reverse"``) or sorted copy (``"sort"``).

    Args:
        n: number of sequences (``>= 1``).
        min_len, max_len: the lengths are uniform on ``[min_len, max_len]`` (``1 <= min_len <= max_len``).
        task: one of ``TASKS``.
        seed: the NumPy generator's seed (``>= 0``).

    Returns:
        A :class:`Seq2SeqData`; ``tgt_lengths = src_lengths + 1`` (the ``EOS``).
    """
    n = check_int("n", n)
    min_len = check_int("min_len", min_len)
    max_len = check_int("max_len", max_len, minimum=min_len, why=" (min_len)")
    if not isinstance(task, str) or task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}; got {task!r}")
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    lengths = rng.integers(min_len, max_len + 1, size=n)  # (n,)
    digits = rng.integers(0, 10, size=(int(lengths.max()), n))  # (S, n)
    src = np.full((int(lengths.max()), n), PAD, dtype=np.int64)
    tgt = np.full((int(lengths.max()) + 1, n), PAD, dtype=np.int64)
    for b, length in enumerate(lengths):
        seq = digits[:length, b]
        out = seq[::-1] if task == "reverse" else np.sort(seq)
        src[:length, b] = seq + DIGIT0
        tgt[:length, b] = out + DIGIT0
        tgt[length, b] = EOS
    lengths = torch.from_numpy(lengths.astype(np.int64))
    return Seq2SeqData(torch.from_numpy(src), lengths, torch.from_numpy(tgt), lengths + 1)


def decoder_inputs(tgt: torch.Tensor) -> torch.Tensor:
    """The teacher-forced decoder input: ``BOS``, then the target shifted right by one step.

    Args:
        tgt: ``(L, n)`` int64 targets.

    Returns:
        ``(L, n)`` int64: row 0 is ``BOS``, row ``t`` is ``tgt[t - 1]``.
    """
    if not isinstance(tgt, torch.Tensor) or tgt.dtype != torch.int64 or tgt.dim() != 2:
        raise TypeError(f"tgt must be an int64 tensor of shape (L, n); got {_describe(tgt)}")
    return torch.cat([torch.full_like(tgt[:1], BOS), tgt[:-1]])


def to_digits(tokens) -> str:
    """The digit string of a token sequence, read up to the first ``EOS`` (``PAD`` and ``BOS`` skipped).

    Args:
        tokens: a 1-D sequence of ints (list, array or tensor).

    Returns:
        e.g. ``"3017"``; a token that is no digit and no special token raises ``ValueError``.
    """
    out = []
    for token in (tokens.tolist() if hasattr(tokens, "tolist") else list(tokens)):
        if token == EOS:
            break
        if token in (PAD, BOS):
            continue
        if not DIGIT0 <= token < VOCAB:
            raise ValueError(f"tokens must lie in [0, {VOCAB}); got {token}")
        out.append(str(token - DIGIT0))
    return "".join(out)


def _describe(a) -> str:
    if isinstance(a, torch.Tensor):
        return f"tensor of shape {tuple(a.shape)} and dtype {a.dtype}"
    return type(a).__name__
