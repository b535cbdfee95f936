r"""An LSTM encoder-decoder, with or without additive attention (Bahdanau et al., 2015).

The **encoder** reads the source tokens :math:`x_1, \dots, x_S` with an ``nn.LSTM`` and keeps
every hidden state :math:`\mathbf{h}_1, \dots, \mathbf{h}_S` (``(S, B, H)``). Its final state
:math:`(\mathbf{h}_S, \mathbf{c}_S)`, read at each sequence's own last token, starts the decoder.

The **decoder** is an ``nn.LSTMCell`` that emits one token per step. At step :math:`t` it reads
the previous token :math:`y_{t-1}` (``BOS`` at :math:`t = 1`) and a context vector
:math:`\mathbf{z}_t`:

.. math::

    (\mathbf{s}_t, \mathbf{m}_t) = \mathrm{LSTMCell}\big([E y_{t-1}; \mathbf{z}_t],
    (\mathbf{s}_{t-1}, \mathbf{m}_{t-1})\big), \qquad
    p(y_t \mid y_{<t}, x) = \mathrm{softmax}\big(W_{out}[\mathbf{s}_t; \mathbf{z}_t] + \mathbf{b}_{out}\big)

Without attention the context is the encoder's final state, the same at every step:
:math:`\mathbf{z}_t = \mathbf{h}_S`. With additive attention it is a weighted mean of all encoder
states, with weights recomputed at every step from the decoder's previous state
(:func:`additive_attention`):

.. math::

    e_{t,j} = \mathbf{v}^\top \tanh(W_q \mathbf{s}_{t-1} + W_k \mathbf{h}_j), \quad
    \alpha_{t,j} = \frac{\exp e_{t,j}}{\sum_{k \le S} \exp e_{t,k}}, \quad
    \mathbf{z}_t = \sum_j \alpha_{t,j} \mathbf{h}_j

Padded source steps get weight exactly 0. Shapes: ``S`` source steps, ``L`` decoder steps, ``B``
sequences, ``E`` embedding size, ``H`` hidden size, ``A`` attention size, ``V`` vocabulary.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ._validate import check_int
from .seq2seq_tasks import BOS, PAD, VOCAB

ATTENTIONS = (None, "additive")


def _check_tensor(name: str, a, ndim: int, shape_names: str, dtype=None) -> torch.Tensor:
    if not isinstance(a, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape_names}; got {type(a).__name__}")
    if a.dim() != ndim:
        raise ValueError(f"{name} must have shape {shape_names}; got shape {tuple(a.shape)}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype}; got {a.dtype}")
    return a


def additive_attention(query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor, W_q: torch.Tensor,
                       W_k: torch.Tensor, v: torch.Tensor, projected_keys: torch.Tensor | None = None):
    r"""One step of additive attention: scores, masked softmax over the source, weighted mean.

    .. math::

        e_j = \mathbf{v}^\top \tanh(W_q \mathbf{q} + W_k \mathbf{k}_j), \quad
        \alpha_j = \frac{\exp e_j}{\sum_{k:\,\text{mask}_k} \exp e_k}\ (0 \text{ where masked out}), \quad
        \mathbf{z} = \sum_j \alpha_j \mathbf{k}_j

    Args:
        query: ``(B, H)`` the decoder's previous state :math:`\mathbf{s}_{t-1}`.
        keys: ``(S, B, H)`` the encoder states :math:`\mathbf{h}_j` (also the values).
        mask: ``(S, B)`` bool, True at real source steps (at least one per sequence).
        W_q: ``(A, H)``. W_k: ``(A, H)``. v: ``(A,)``.
        projected_keys: ``(S, B, A)``, :math:`W_k \mathbf{k}_j` computed once per source sequence
            (it is the same at every decoder step); None computes it here.

    Returns:
        ``(context, weights)``: ``(B, H)`` and ``(B, S)``, each row of ``weights`` summing to 1.
    """
    _check_tensor("query", query, 2, "(B, H)")
    _check_tensor("keys", keys, 3, "(S, B, H)")
    _check_tensor("mask", mask, 2, "(S, B)", torch.bool)
    S, B, H = keys.shape
    if query.shape != (B, H):
        raise ValueError(f"query must have shape (B, H) = {(B, H)} to match keys {tuple(keys.shape)}; "
                         f"got {tuple(query.shape)}")
    if mask.shape != (S, B):
        raise ValueError(f"mask must have shape (S, B) = {(S, B)}; got {tuple(mask.shape)}")
    if not bool(mask.any(0).all()):
        raise ValueError("mask must keep at least one source step of every sequence; a row is all False")
    if projected_keys is None:
        projected_keys = keys @ W_k.T  # (S, B, A)
    scores = torch.tanh(query @ W_q.T + projected_keys) @ v  # (S, B)
    scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=0).T  # (B, S)
    context = (weights.T[:, :, None] * keys).sum(0)  # (B, H)
    return context, weights


class Encoded(NamedTuple):
    r"""What the encoder hands to the decoder.

    Attributes:
        states: ``(S, B, H)`` every encoder hidden state, zero at padded steps.
        mask: ``(S, B)`` bool, True at real source steps.
        h, c: ``(B, H)`` the final state, at each sequence's last real step.
        keys: ``(S, B, A)`` the attention's projected keys :math:`W_k \mathbf{h}_j` (None without attention).
    """

    states: torch.Tensor
    mask: torch.Tensor
    h: torch.Tensor
    c: torch.Tensor
    keys: torch.Tensor | None = None


class Decoded(NamedTuple):
    """The decoder's output over ``L`` steps.

    Attributes:
        logits: ``(L, B, V)`` unnormalised scores of the next token.
        tokens: ``(L, B)`` the token fed at the next step (the target's under teacher forcing,
            the argmax otherwise).
        weights: ``(L, B, S)`` attention weights; without attention, 1 on the last real source step.
    """

    logits: torch.Tensor
    tokens: torch.Tensor
    weights: torch.Tensor


class Seq2Seq(nn.Module):
    """An LSTM encoder-decoder over the tokens of :mod:`lstm_course.seq2seq_tasks`.

    Args:
        hidden_size: ``H`` of encoder and decoder.
        embed_size: ``E``, the token embedding (separate tables for source and target).
        attention: ``None`` (the context is the encoder's final state) or ``"additive"``.
        attention_size: ``A``, the width of the additive scores' hidden layer (default ``H``).
        vocab: ``V``, the number of tokens.
    """

    def __init__(self, hidden_size: int = 64, embed_size: int = 16, attention: str | None = None,
                 attention_size: int | None = None, vocab: int = VOCAB):
        super().__init__()
        H, E = check_int("hidden_size", hidden_size), check_int("embed_size", embed_size)
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}; got {attention!r}")
        A = H if attention_size is None else check_int("attention_size", attention_size)
        self.hidden_size, self.attention, self.vocab = H, attention, check_int("vocab", vocab, minimum=4)
        self.src_embed = nn.Embedding(vocab, E, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(vocab, E, padding_idx=PAD)
        self.encoder = nn.LSTM(E, H)
        self.decoder = nn.LSTMCell(E + H, H)
        self.out = nn.Linear(2 * H, vocab)
        if attention == "additive":
            self.W_q = nn.Parameter(torch.randn(A, H) / H ** 0.5)
            self.W_k = nn.Parameter(torch.randn(A, H) / H ** 0.5)
            self.v = nn.Parameter(torch.randn(A) / A ** 0.5)

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        """Run the encoder over ``src`` ``(S, B)`` int64 with ``lengths`` ``(B,)`` (each ``>= 1``)."""
        _check_tensor("src", src, 2, "(S, B)", torch.int64)
        _check_tensor("lengths", lengths, 1, "(B,)", torch.int64)
        S, B = src.shape
        if lengths.shape != (B,) or int(lengths.min()) < 1 or int(lengths.max()) > S:
            raise ValueError(f"lengths must have shape ({B},) with entries in [1, {S}]; got {lengths.tolist()}")
        packed = pack_padded_sequence(self.src_embed(src), lengths, enforce_sorted=False)
        states, (h, c) = self.encoder(packed)
        states, _ = pad_packed_sequence(states, total_length=S)  # (S, B, H)
        mask = torch.arange(S)[:, None] < lengths[None, :]  # (S, B)
        keys = None if self.attention is None else states @ self.W_k.T  # (S, B, A)
        return Encoded(states, mask, h[0], c[0], keys)

    def step(self, token: torch.Tensor, state: tuple, enc: Encoded):
        """One decoder step: ``token`` ``(B,)`` and ``state = (s, m)`` ``(B, H)`` each.

        Returns:
            ``(logits (B, V), (s, m), weights (B, S))``.
        """
        s_prev, _ = state
        if self.attention is None:
            context = enc.h  # (B, H)
            last = enc.mask.sum(0) - 1  # (B,)
            weights = nn.functional.one_hot(last, enc.mask.shape[0]).to(context.dtype)  # (B, S)
        else:
            context, weights = additive_attention(s_prev, enc.states, enc.mask, self.W_q, self.W_k, self.v,
                                                  enc.keys)
        s, m = self.decoder(torch.cat([self.tgt_embed(token), context], dim=1), state)
        return self.out(torch.cat([s, context], dim=1)), (s, m), weights

    def forward(self, src: torch.Tensor, lengths: torch.Tensor, steps: int | None = None,
                targets: torch.Tensor | None = None) -> Decoded:
        """Encode, then decode ``L`` steps: teacher-forced when ``targets`` ``(L, B)`` is given,
        else free-running (each step reads the previous step's argmax) for ``steps`` steps.

        Returns:
            A :class:`Decoded`.
        """
        enc = self.encode(src, lengths)
        B = src.shape[1]
        if targets is not None:
            _check_tensor("targets", targets, 2, "(L, B)", torch.int64)
            if targets.shape[1] != B:
                raise ValueError(f"targets must have shape (L, {B}); got {tuple(targets.shape)}")
            steps = targets.shape[0]
        elif steps is None:
            raise ValueError("give targets (teacher forcing) or steps (free-running); got neither")
        steps = check_int("steps", steps)
        token, state = torch.full((B,), BOS, dtype=torch.int64), (enc.h, enc.c)
        logits, tokens, weights = [], [], []
        for t in range(steps):
            out, state, alpha = self.step(token, state, enc)
            token = targets[t] if targets is not None else out.argmax(1)
            logits.append(out)
            tokens.append(token)
            weights.append(alpha)
        return Decoded(torch.stack(logits), torch.stack(tokens), torch.stack(weights))


def sequence_loss(logits: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per target token, ``PAD`` positions left out.

    Args:
        logits: ``(L, B, V)``. tgt: ``(L, B)`` int64.
    """
    _check_tensor("logits", logits, 3, "(L, B, V)")
    _check_tensor("tgt", tgt, 2, "(L, B)", torch.int64)
    if logits.shape[:2] != tgt.shape:
        raise ValueError(f"logits (L, B, V) and tgt (L, B) must agree; got {tuple(logits.shape)} and "
                         f"{tuple(tgt.shape)}")
    return nn.functional.cross_entropy(logits.flatten(0, 1), tgt.flatten(), ignore_index=PAD)
