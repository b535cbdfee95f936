r"""Character-level text: the shipped corpus, a vocabulary, streams for truncated BPTT, sampling.

A character language model reads one long stream of character ids :math:`u_0, u_1, \dots, u_{N-1}`
and learns :math:`p(u_{t+1} \mid u_0, \dots, u_t)`. For training, the stream is cut into ``B``
contiguous columns (:func:`batchify`), so that row ``t`` of the ``(N // B, B)`` result holds the
``t``-th character of every column; windows of ``T`` rows (:func:`tbptt_window`) then follow one
another in time, which is what lets the hidden state be carried from one window to the next.

Everything here is deterministic; nothing is downloaded (the text ships inside the package).
"""
from __future__ import annotations

import importlib.resources
import numbers
from typing import Iterable

import numpy as np
import torch

from ._validate import check_int as _check_int

#: Texts shipped in ``lstm_course/data`` (see ``SOURCE.md`` there for source and licence).
TEXTS = ("pride_and_prejudice",)


def _check_ids(name: str, ids, ndim: int, shape_names: str) -> torch.Tensor:
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"{name} must be a torch.LongTensor of shape {shape_names}; got {type(ids).__name__}")
    if ids.dtype != torch.int64:
        raise TypeError(f"{name} must have dtype torch.int64 (character ids); got {ids.dtype}")
    if ids.dim() != ndim:
        raise ValueError(f"{name} must have shape {shape_names}; got shape {tuple(ids.shape)}")
    return ids


def load_text(name: str = "pride_and_prejudice", max_chars: int | None = None) -> str:
    """Read a text shipped with the package (via ``importlib.resources``; works installed or not).

    Args:
        name: one of :data:`TEXTS`.
        max_chars: keep only the first ``max_chars`` characters (``None``: all).

    Returns:
        the text, with ``\\n`` line endings.
    """
    if name not in TEXTS:
        raise ValueError(f"name must be one of {TEXTS}; got {name!r}")
    if max_chars is not None:
        _check_int("max_chars", max_chars, 1)
    resource = importlib.resources.files("lstm_course") / "data" / f"{name}.txt"
    text = resource.read_text(encoding="utf-8")
    return text if max_chars is None else text[:max_chars]


class Vocab:
    """A character vocabulary: the sorted distinct characters, with ids ``0 … V - 1``.

    Args:
        chars: the characters, each once (a string or an iterable of one-character strings).

    Attributes:
        chars: the characters as a string, in id order. stoi: character -> id.
    """

    def __init__(self, chars: str | Iterable[str]):
        chars = "".join(chars) if not isinstance(chars, str) else chars
        if len(chars) == 0:
            raise ValueError("a Vocab needs at least one character; got none")
        if len(set(chars)) != len(chars):
            raise ValueError(f"the characters of a Vocab must be distinct; got {len(chars)} with "
                             f"{len(chars) - len(set(chars))} repeats")
        self.chars = chars
        self.stoi = {ch: i for i, ch in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> "Vocab":
        """The vocabulary of every distinct character of ``text``, sorted by code point."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str; got {type(text).__name__}")
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"Vocab({len(self)} characters)"

    def encode(self, text: str) -> torch.Tensor:
        """Character ids of ``text``: a ``(N,)`` ``torch.int64`` tensor.

        Raises:
            ValueError: a character of ``text`` is not in the vocabulary (it is named).
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str; got {type(text).__name__}")
        try:
            ids = [self.stoi[ch] for ch in text]
        except KeyError as err:
            raise ValueError(f"character {err.args[0]!r} is not in the vocabulary of {len(self)} "
                             "characters") from None
        return torch.tensor(ids, dtype=torch.int64)

    def decode(self, ids) -> str:
        """The string of a 1-D sequence of ids (a tensor, a NumPy array or a list of ints)."""
        arr = np.asarray(ids.detach().cpu() if isinstance(ids, torch.Tensor) else ids)
        if arr.ndim != 1:
            raise ValueError(f"ids must be 1-D, shape (N,); got shape {arr.shape}")
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"ids must be integers; got dtype {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() >= len(self)):
            raise ValueError(f"ids must lie in [0, {len(self) - 1}]; got values from {arr.min()} to {arr.max()}")
        return "".join(self.chars[i] for i in arr.tolist())


def train_val_split(ids: torch.Tensor, val_fraction: float = 0.1):
    """Split a stream in two contiguous parts: the first for training, the last ``val_fraction``
    for validation (a contiguous tail, so no validation text leaks into training windows).

    Returns:
        ``(train_ids, val_ids)``, two 1-D views of ``ids``.
    """
    _check_ids("ids", ids, 1, "(N,)")
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real):
        raise TypeError(f"val_fraction must be a float; got {type(val_fraction).__name__}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1; got {val_fraction}")
    n_val = int(round(len(ids) * val_fraction))
    if n_val < 2 or len(ids) - n_val < 2:
        raise ValueError(f"both parts need at least 2 characters; got {len(ids) - n_val} and {n_val} "
                         f"from {len(ids)} with val_fraction={val_fraction}")
    return ids[: len(ids) - n_val], ids[len(ids) - n_val:]


def batchify(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut a stream into ``B = batch_size`` contiguous columns, time-major.

    Column ``b`` holds characters ``b * L … (b + 1) * L - 1`` of the stream with
    ``L = N // B``; the last ``N mod B`` characters are dropped.

    Returns:
        ``(L, B)`` ``torch.int64`` tensor (a copy).
    """
    _check_ids("ids", ids, 1, "(N,)")
    B = _check_int("batch_size", batch_size, 1)
    L = len(ids) // B
    if L < 2:
        raise ValueError(f"batch_size={B} leaves fewer than 2 characters per column of a stream of {len(ids)}")
    return ids[: L * B].reshape(B, L).t().contiguous()  # (L, B)


def num_windows(data: torch.Tensor, bptt: int) -> int:
    """How many windows of at most ``bptt`` steps cover ``(L, B)`` data (each needs a next character)."""
    _check_ids("data", data, 2, "(L, B)")
    T = _check_int("bptt", bptt, 1)
    return -(-(data.shape[0] - 1) // T)


def tbptt_window(data: torch.Tensor, index: int, bptt: int):
    """The ``index``-th window of truncated BPTT: inputs and their next characters.

    Window ``k`` covers rows ``s = k * bptt`` to ``s + T - 1`` with ``T = min(bptt, L - 1 - s)``;
    the targets are the same rows shifted by one: ``y[t] = data[s + t + 1]``.

    Args:
        data: ``(L, B)`` ids from :func:`batchify`.
        index: ``0 … num_windows(data, bptt) - 1``.
        bptt: the window length ``T``.

    Returns:
        ``(x, y)``: two ``(T, B)`` ``torch.int64`` tensors.
    """
    n = num_windows(data, bptt)
    index = _check_int("index", index, 0)
    if index >= n:
        raise ValueError(f"index must be below num_windows = {n} for data of shape {tuple(data.shape)} "
                         f"and bptt={bptt}; got {index}")
    s = index * bptt
    T = min(bptt, data.shape[0] - 1 - s)
    return data[s: s + T], data[s + 1: s + 1 + T]  # (T, B), (T, B)


def softmax_with_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    r"""Probabilities :math:`p_k = e^{z_k/\tau} / \sum_j e^{z_j/\tau}` over the last dimension.

    ``τ = 1`` is the model's own distribution; ``τ → 0`` tends to the arg-max (greedy),
    ``τ → ∞`` to the uniform distribution.
    """
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point torch.Tensor (..., V); got {type(logits).__name__}")
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature must be a positive float; got {type(temperature).__name__}")
    if not (temperature > 0 and np.isfinite(temperature)):
        raise ValueError(f"temperature must be a finite number > 0; got {temperature}")
    return torch.softmax(logits / temperature, dim=-1)


def sample_next(logits: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None):
    """Draw one id per row from :func:`softmax_with_temperature` (``(B, V)`` -> ``(B,)``).

    Pass a seeded ``torch.Generator`` for reproducible samples.
    """
    probs = softmax_with_temperature(logits, temperature)
    if probs.dim() != 2:
        raise ValueError(f"logits must have shape (B, V); got shape {tuple(probs.shape)}")
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (B,)


def char_features(text: str) -> dict:
    """Per-character features to compare hidden units with, each a ``(N,)`` float64 array.

    All describe the situation *after* reading character ``t`` (what a unit's state at ``t``
    could encode):

    - ``"position in line"``: column of ``t`` in its line (0 for a line's first character).
    - ``"inside quotes"``: 1 from an opening ``"`` up to its closing ``"`` (the opening one
      included, the closing one excluded); reset at each blank line, since a speech that runs
      on over paragraphs reopens with a new ``"``.
    - ``"inside italics"``: the same for ``_emphasis_`` marks.
    - ``"word boundary"``: 1 on a space or a line break.
    - ``"vowel"``: 1 on ``aeiou`` (either case).
    - ``"position in word"``: letters since the last non-letter (0 on a non-letter).
    """
    if not isinstance(text, str) or len(text) == 0:
        raise TypeError(f"text must be a non-empty str; got {type(text).__name__} of length "
                        f"{len(text) if isinstance(text, str) else 'n/a'}")
    N = len(text)
    col, quote, ital, space, vowel, inword = (np.zeros(N) for _ in range(6))
    c = w = 0
    in_q = in_i = False
    for t, ch in enumerate(text):
        col[t] = c
        c = 0 if ch == "\n" else c + 1
        if ch == "\n" and t > 0 and text[t - 1] == "\n":
            in_q = in_i = False  # a blank line ends a paragraph
        if ch == '"':
            in_q = not in_q
        if ch == "_":
            in_i = not in_i
        quote[t], ital[t] = float(in_q), float(in_i)  # after the toggle: opening mark in, closing out
        space[t] = float(ch in " \n")
        vowel[t] = float(ch in "aeiouAEIOU")
        w = w + 1 if ch.isalpha() else 0
        inword[t] = w
    return {"position in line": col, "inside quotes": quote, "inside italics": ital,
            "word boundary": space, "vowel": vowel, "position in word": inword}
