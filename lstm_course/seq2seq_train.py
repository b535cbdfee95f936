r"""Training an encoder-decoder with teacher forcing or free-running, and measuring it by length.

**Teacher forcing** (Williams & Zipser, 1989) feeds the decoder the *target* token
:math:`y_{t-1}` at every step; **free-running** training feeds it the model's own most likely
token :math:`\hat{y}_{t-1}` (no gradient flows through that choice), as at test time. The loss
is the same in both, the cross-entropy of the target tokens (:func:`~lstm_course.seq2seq.sequence_loss`).
A teacher-forced model never sees its own mistakes during training; the gap between how it does
when fed the truth and when fed its own outputs is **exposure bias** (Ranzato et al., 2016).
"""
from __future__ import annotations

import functools
import numbers
from typing import Callable, NamedTuple

import numpy as np
import torch

from ._validate import check_int
from .seq2seq import Seq2Seq, sequence_loss
from .seq2seq_decode import beam_search, exact_match, greedy_decode
from .seq2seq_tasks import Seq2SeqData, decoder_inputs, digit_strings
from .training import batch_seed


class Seq2SeqHistory(NamedTuple):
    """Per-update training loss (cross-entropy per target token) and the updates' count."""

    loss: list
    updates: int


def train_seq2seq(model: Seq2Seq, task: Callable[..., Seq2SeqData], *, steps: int, batch_size: int = 64,
                  lr: float = 3e-3, clip: float = 1.0, teacher_forcing: bool = True, seed: int = 0
                  ) -> Seq2SeqHistory:
    """Train ``model`` with Adam on fresh batches ``task(batch_size, seed=batch_seed(seed, step))``.

    Args:
        model: a :class:`Seq2Seq`.
        task: a callable ``(n, seed=...) -> Seq2SeqData``, e.g.
            ``functools.partial(digit_strings, min_len=1, max_len=10)``.
        steps: updates (``>= 1``). batch_size: sequences per update. lr: Adam's learning rate.
        clip: global gradient-norm threshold (positive).
        teacher_forcing: True feeds the target tokens, False the model's own argmax.
        seed: seeds torch and every batch.

    Returns:
        A :class:`Seq2SeqHistory`.
    """
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"model must be a Seq2Seq; got {type(model).__name__}")
    if not callable(task):
        raise TypeError(f"task must be a callable (n, seed=...) -> Seq2SeqData; got {type(task).__name__}")
    steps, batch_size = check_int("steps", steps), check_int("batch_size", batch_size)
    seed = check_int("seed", seed, minimum=0)
    for name, value in (("lr", lr), ("clip", clip)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value <= 0:
            raise ValueError(f"{name} must be a positive number; got {value!r}")
    if not isinstance(teacher_forcing, bool):
        raise TypeError(f"teacher_forcing must be a bool; got {type(teacher_forcing).__name__}")
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for step in range(steps):
        data = task(batch_size, seed=batch_seed(seed, step))
        loss = sequence_loss(decoder_logits(model, data, teacher_forcing), data.tgt)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses.append(loss.item())
    model.eval()
    return Seq2SeqHistory(losses, steps)


def decoder_logits(model: Seq2Seq, data: Seq2SeqData, teacher_forcing: bool) -> torch.Tensor:
    """The decoder's logits ``(T_out, B, V)`` on ``data``, fed the target prefix
    (``teacher_forcing=True``) or its own argmax outputs (False): the two regimes of training."""
    if teacher_forcing:
        return model(data.src, data.src_lengths, targets=decoder_inputs(data.tgt)).logits
    return model(data.src, data.src_lengths, steps=data.tgt.shape[0]).logits


@torch.no_grad()
def token_accuracy(model: Seq2Seq, data: Seq2SeqData, teacher_forcing: bool) -> float:
    """Share of target tokens (``EOS`` included, ``PAD`` not) that the decoder predicts as its argmax,
    fed the target prefix (``teacher_forcing=True``) or its own previous outputs (False)."""
    real = data.tgt != 0
    return float((decoder_logits(model, data, teacher_forcing).argmax(-1) == data.tgt)[real].float().mean())


@torch.no_grad()
def validation_loss(model: Seq2Seq, data: Seq2SeqData, teacher_forcing: bool) -> float:
    """The training loss (mean cross-entropy over real target tokens) on ``data``, in the regime
    ``teacher_forcing`` names, without a gradient: what a learning-rate sweep compares."""
    return float(sequence_loss(decoder_logits(model, data, teacher_forcing), data.tgt))


def held_out_strings(length: int, n: int, *, task: str = "reverse", seed: int = 0) -> Seq2SeqData:
    """``n`` test strings of exactly ``length`` digits, from a seed stream apart from training's."""
    return digit_strings(n, length, length, task=task, seed=int(np.random.SeedSequence([seed, 10_000 + length])
                                                                  .generate_state(1)[0]))


@torch.no_grad()
def accuracy_by_length(model: Seq2Seq, lengths, n: int, *, task: str = "reverse", beam_width: int | None = None,
                       seed: int = 0) -> dict:
    """Exact-match accuracy on ``n`` fresh strings of each length, greedy or with beam search.

    Args:
        lengths: the string lengths to test. n: strings per length.
        beam_width: None decodes greedily (batched); an int runs :func:`beam_search` per string.
        seed: the test strings' seed (:func:`held_out_strings`).

    Returns:
        ``{length: correct count}`` (ints, out of ``n``).
    """
    result = {}
    for length in lengths:
        data = held_out_strings(length, n, task=task, seed=seed)
        max_steps = length + 3
        if beam_width is None:
            sequences, _ = greedy_decode(model, data.src, data.src_lengths, max_steps)
        else:
            sequences = [beam_search(model, data.src[:, b : b + 1], data.src_lengths[b : b + 1], beam_width,
                                     max_steps)[0] for b in range(n)]
        result[int(length)] = int(exact_match(sequences, data).sum())
    return result


def reverse_task(min_len: int, max_len: int) -> Callable[..., Seq2SeqData]:
    """``(n, seed=...) -> Seq2SeqData`` of reversed digit strings with lengths in ``[min_len, max_len]``."""
    return functools.partial(digit_strings, min_len=min_len, max_len=max_len, task="reverse")
