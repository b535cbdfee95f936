r"""Decoding a trained :class:`~lstm_course.seq2seq.Seq2Seq`: greedy, beam search, and scores.

A decoded sequence is a list of tokens that ends with ``EOS`` (or stops after ``max_steps``
tokens without one). Its **score** is its log-probability under the model,

.. math::

    \log p(y_1, \dots, y_L \mid x) = \sum_{t=1}^{L} \log p(y_t \mid y_{<t}, x),

``EOS`` included. Greedy decoding takes the most likely token at each step; beam search keeps
the ``beam_width`` best prefixes at each step and returns the best finished sequence. Neither is
guaranteed to find the most likely sequence, and beam search is not even guaranteed to beat
greedy decoding (its beam can drop the greedy prefix); with ``beam_width=1`` it *is* greedy
decoding.
"""
from __future__ import annotations

import torch

from ._validate import check_int
from .seq2seq import Encoded, Seq2Seq
from .seq2seq_tasks import BOS, EOS, Seq2SeqData


def _check_model(model) -> Seq2Seq:
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"model must be a lstm_course.seq2seq.Seq2Seq; got {type(model).__name__}")
    return model


def _trim(tokens: list) -> list:
    """Cut a token list just after its first ``EOS``."""
    return tokens[: tokens.index(EOS) + 1] if EOS in tokens else tokens


@torch.no_grad()
def greedy_decode(model: Seq2Seq, src: torch.Tensor, lengths: torch.Tensor, max_steps: int):
    """Decode a batch greedily: at each step feed back the most likely token.

    Args:
        model: a :class:`Seq2Seq`. src: ``(S, B)`` int64. lengths: ``(B,)`` int64.
        max_steps: the most tokens to emit per sequence, ``EOS`` included.

    Returns:
        ``(sequences, scores)``: ``B`` token lists (each cut after its ``EOS``) and a ``(B,)``
        float tensor of their log-probabilities.
    """
    _check_model(model)
    max_steps = check_int("max_steps", max_steps)
    out = model(src, lengths, steps=max_steps)
    logp = torch.log_softmax(out.logits, dim=-1).gather(2, out.tokens[..., None])[..., 0]  # (L, B)
    sequences, scores = [], []
    for b in range(src.shape[1]):
        seq = _trim(out.tokens[:, b].tolist())
        sequences.append(seq)
        scores.append(logp[: len(seq), b].sum())
    return sequences, torch.stack(scores)


@torch.no_grad()
def sequence_log_prob(model: Seq2Seq, src: torch.Tensor, lengths: torch.Tensor, sequence: list) -> float:
    """The model's log-probability of one output ``sequence`` (a token list) given one source.

    Args:
        src: ``(S, 1)`` int64. lengths: ``(1,)`` int64. sequence: tokens, ``EOS`` included if it ends.
    """
    _check_model(model)
    if src.dim() != 2 or src.shape[1] != 1:
        raise ValueError(f"src must have shape (S, 1), one sequence; got {tuple(src.shape)}")
    if not isinstance(sequence, list) or not sequence:
        raise ValueError(f"sequence must be a non-empty list of tokens; got {sequence!r}")
    targets = torch.tensor(sequence, dtype=torch.int64)[:, None]  # (L, 1)
    logits = model(src, lengths, targets=targets).logits  # (L, 1, V)
    return float(torch.log_softmax(logits, dim=-1)[:, 0].gather(1, targets).sum())


def _select(enc: Encoded, index: torch.Tensor) -> Encoded:
    keys = None if enc.keys is None else enc.keys[:, index]
    return Encoded(enc.states[:, index], enc.mask[:, index], enc.h[index], enc.c[index], keys)


@torch.no_grad()
def beam_search(model: Seq2Seq, src: torch.Tensor, lengths: torch.Tensor, beam_width: int, max_steps: int):
    r"""Beam search for one source sequence: keep the ``beam_width`` most likely prefixes.

    At each step every live prefix is extended by every token; of the extensions, the
    ``beam_width`` best that do not end in ``EOS`` stay live and the ones among the best
    ``beam_width`` that do end in ``EOS`` are set aside as finished. Scores are summed
    log-probabilities, which only fall as a prefix grows, so the search stops as soon as the best
    finished sequence scores at least as well as the best live prefix (no live prefix can overtake
    it), or after ``max_steps`` steps. Live prefixes at ``max_steps`` count as candidates too.

    Args:
        model: a :class:`Seq2Seq`. src: ``(S, 1)`` int64, one sequence. lengths: ``(1,)`` int64.
        beam_width: prefixes kept per step (``>= 1``; 1 is greedy decoding).
        max_steps: the most tokens to emit, ``EOS`` included.

    Returns:
        ``(sequence, score)``: the best token list and its log-probability (a float).
    """
    _check_model(model)
    k, max_steps = check_int("beam_width", beam_width), check_int("max_steps", max_steps)
    if not isinstance(src, torch.Tensor) or src.dim() != 2 or src.shape[1] != 1:
        raise ValueError(f"src must be a tensor of shape (S, 1), one sequence; got "
                         f"{tuple(src.shape) if isinstance(src, torch.Tensor) else type(src).__name__}")
    enc1 = model.encode(src, lengths)
    prefixes, scores = [[]], torch.zeros(1)  # live prefixes and their scores
    state, tokens = (enc1.h, enc1.c), torch.tensor([BOS])
    finished = []  # (score, sequence)
    for _ in range(max_steps):
        n = len(prefixes)
        enc = _select(enc1, torch.zeros(n, dtype=torch.int64))
        logits, state, _ = model.step(tokens, state, enc)
        total = scores[:, None] + torch.log_softmax(logits, dim=-1)  # (n, V)
        best, flat = total.flatten().topk(min(k, total.numel()))
        keep = []
        for score, index in zip(best.tolist(), flat.tolist()):
            row, token = divmod(index, total.shape[1])
            if token == EOS:
                finished.append((score, prefixes[row] + [EOS]))
            else:
                keep.append((score, row, token))
        if len(keep) < k:  # refill the beam from the next-best extensions that do not end in EOS
            ranked = total.flatten().argsort(descending=True).tolist()
            for index in ranked[len(best):]:
                row, token = divmod(index, total.shape[1])
                if token != EOS:
                    keep.append((float(total[row, token]), row, token))
                if len(keep) == k:
                    break
        if finished and max(s for s, _ in finished) >= max(s for s, _, _ in keep):
            break
        rows = torch.tensor([row for _, row, _ in keep])
        prefixes = [prefixes[row] + [token] for _, row, token in keep]
        scores = torch.tensor([score for score, _, _ in keep])
        tokens = torch.tensor([token for _, _, token in keep])
        state = (state[0][rows], state[1][rows])
    else:
        finished.extend(zip(scores.tolist(), prefixes))
    score, sequence = max(finished, key=lambda pair: pair[0])
    return sequence, float(score)


def exact_match(sequences: list, data: Seq2SeqData) -> torch.Tensor:
    """Which decoded sequences equal their target exactly, ``EOS`` included.

    Args:
        sequences: ``B`` token lists (as :func:`greedy_decode` returns them).
        data: the batch that was decoded.

    Returns:
        ``(B,)`` bool tensor.
    """
    if not isinstance(data, Seq2SeqData):
        raise TypeError(f"data must be a Seq2SeqData; got {type(data).__name__}")
    if not isinstance(sequences, list) or len(sequences) != data.tgt.shape[1]:
        raise ValueError(f"sequences must be a list of {data.tgt.shape[1]} token lists; got "
                         f"{len(sequences) if isinstance(sequences, list) else type(sequences).__name__}")
    targets = [data.tgt[: int(n), b].tolist() for b, n in enumerate(data.tgt_lengths)]
    return torch.tensor([seq == tgt for seq, tgt in zip(sequences, targets)])
