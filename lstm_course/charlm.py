r"""A character-level language model: embedding, one recurrent layer (RNN, LSTM or GRU), linear read-out.

.. math::

    \mathbf{e}_t = E[u_t], \qquad
    \vh_t = \operatorname{cell}(\mathbf{e}_t, \vh_{t-1}), \qquad
    p(u_{t+1} = k \mid u_{\le t}) = \operatorname{softmax}(W_{out}\vh_t + \mathbf{b}_{out})_k

where :math:`u_t` is the id of character ``t``, :math:`E` the ``(V, D)`` embedding table, ``cell``
``torch.nn.RNN`` (tanh), ``torch.nn.LSTM`` or ``torch.nn.GRU`` (which also carries
:math:`\vc_t`), and :math:`W_{out}` ``(V, H)``. Training is truncated BPTT over one long stream:
each window starts from the state the previous window ended in, detached from its graph, so
information flows forward across windows while gradients stop at the window's start.
Perplexity is :math:`\exp` of the mean negative log-likelihood per character (in nats).
"""
from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from .gate_bias import set_gate_bias
from .models import LAYERS
from .text import Vocab, _check_ids, _check_int, num_windows, sample_next, tbptt_window

FORMAT = "lstm_course.charlm/1"


class CharLM(nn.Module):
    """Character-level language model (time-major).

    Args:
        vocab_size: ``V``. hidden_size: ``H``. cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        embedding_dim: ``D``, the size of each character's learned vector.
        forget_bias: LSTM only. None keeps PyTorch's initial biases; a number ``b`` sets the
            forget gate's total bias to ``b`` (``bias_ih[H:2H] = b``, ``bias_hh[H:2H] = 0``).

    Shapes: ``forward(x, state=None)`` takes ``x (T, B)`` ids and returns logits ``(T, B, V)``
    and the last state: ``h_n (1, B, H)``, or ``(h_n, c_n)`` for the LSTM (PyTorch's layout).
    """

    def __init__(self, vocab_size: int, hidden_size: int, cell: str = "lstm", embedding_dim: int = 32,
                 forget_bias: float | None = None):
        super().__init__()
        if cell not in LAYERS:
            raise ValueError(f"cell must be one of {tuple(LAYERS)}; got {cell!r}")
        V, H, D = (_check_int(n, v, 1) for n, v in
                   (("vocab_size", vocab_size), ("hidden_size", hidden_size), ("embedding_dim", embedding_dim)))
        if forget_bias is not None and (cell != "lstm" or isinstance(forget_bias, bool)
                                        or not isinstance(forget_bias, numbers.Real)):
            raise ValueError(f"forget_bias must be None or a number, and only for cell='lstm'; "
                             f"got {forget_bias!r} with cell={cell!r}")
        self.config = {"vocab_size": V, "hidden_size": H, "cell": cell, "embedding_dim": D,
                       "forget_bias": None if forget_bias is None else float(forget_bias)}
        self.cell = cell
        self.embedding = nn.Embedding(V, D)
        self.rnn = LAYERS[cell](D, H)
        self.readout = nn.Linear(H, V)
        if forget_bias is not None:
            set_gate_bias(self.rnn, "f", forget_bias, H)

    def num_parameters(self) -> int:
        """Number of trainable parameters: :func:`lstm_course.models.count_parameters` with
        ``embedding_rows = V``, ``input_size = D`` and ``output_size = V`` (tested equal)."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, x: torch.Tensor, state=None):
        _check_ids("x", x, 2, "(T, B)")
        V = self.config["vocab_size"]
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= V):
            raise ValueError(f"x must hold ids in [0, {V - 1}]; got values from {int(x.min())} to {int(x.max())}")
        out, state = self.rnn(self.embedding(x), state)  # (T, B, H)
        return self.readout(out), state  # (T, B, V)


def _check_model(model) -> "CharLM":
    if not isinstance(model, CharLM):
        raise TypeError(f"model must be a lstm_course.charlm.CharLM; got {type(model).__name__}")
    return model


def detach_state(state):
    """Cut the graph behind a state (keep its values): a tensor, a tuple of them, or None."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


@torch.no_grad()
def perplexity(model: CharLM, data: torch.Tensor, bptt: int = 256) -> float:
    r"""Perplexity :math:`\exp\big(-\frac{1}{n}\sum_t \log p(u_{t+1} \mid u_{\le t})\big)` of ``(L, B)``
    data, every column read from a zero state to its end (state carried across windows)."""
    n_win = num_windows(data, bptt)
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    for k in range(n_win):
        x, y = tbptt_window(data, k, bptt)
        logits, state = model(x, state)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    model.train(was_training)
    return math.exp(total / count)


@dataclass
class LMHistory:
    """What :func:`train_charlm` did: the training loss (nats per character) of every step,
    validation perplexity at ``eval_step`` (updates done; 0 = before training), and the time
    taken: ``seconds`` on the wall clock, ``cpu_seconds`` of this process's CPU time (with one
    thread, what the wall clock shows on an otherwise idle machine)."""

    loss: list = field(default_factory=list)
    eval_step: list = field(default_factory=list)
    val_perplexity: list = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def train_charlm(model: CharLM, train_data: torch.Tensor, val_data: torch.Tensor, *, steps: int,
                 bptt: int = 64, lr: float = 3e-3, clip: float = 1.0, eval_every: int = 50,
                 progress: bool = True) -> LMHistory:
    """Truncated BPTT with Adam over a stream, the hidden state carried across windows.

    Each step takes the next window of ``bptt`` rows of ``train_data`` (``(L, B)``, from
    :func:`~lstm_course.text.batchify`), starts from the previous window's final state
    *detached* (values kept, graph cut), and takes one Adam step on the mean cross-entropy,
    the gradient's global norm clipped to ``clip``. At the end of the stream it starts again
    from row 0 with a zero state. Deterministic: no randomness is used.
    """
    _check_model(model)
    steps, bptt, eval_every = (_check_int(n, v, 1) for n, v in
                               (("steps", steps), ("bptt", bptt), ("eval_every", eval_every)))
    n_win = num_windows(train_data, bptt)
    num_windows(val_data, bptt)  # validates val_data
    for name, value in (("lr", lr), ("clip", clip)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
            raise ValueError(f"{name} must be a number > 0; got {value!r}")
    history = LMHistory(eval_step=[0], val_perplexity=[perplexity(model, val_data)])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    start, cpu_start, state, k = time.perf_counter(), time.process_time(), None, 0
    model.train()
    bar = tqdm(range(1, steps + 1), disable=not progress, desc=f"training {model.cell}", leave=False)
    for step in bar:
        if k == n_win:
            k, state = 0, None
        x, y = tbptt_window(train_data, k, bptt)  # (T, B), (T, B)
        k += 1
        logits, state = model(x, detach_state(state))  # carried values, no graph behind them
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        history.loss.append(loss.item())
        if step % eval_every == 0 or step == steps:
            history.eval_step.append(step)
            history.val_perplexity.append(perplexity(model, val_data))
    history.seconds = time.perf_counter() - start
    history.cpu_seconds = time.process_time() - cpu_start
    return history


@torch.no_grad()
def generate(model: CharLM, vocab: Vocab, prompt: str, length: int, temperature: float = 1.0,
             generator: torch.Generator | None = None) -> str:
    """Continue ``prompt`` by ``length`` characters sampled one at a time at ``temperature``
    (pass a seeded ``torch.Generator`` for a reproducible sample). Returns the new characters."""
    _check_model(model)
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a lstm_course.text.Vocab; got {type(vocab).__name__}")
    if len(vocab) != model.config["vocab_size"]:
        raise ValueError(f"vocab has {len(vocab)} characters but the model expects {model.config['vocab_size']}")
    length = _check_int("length", length, 0)
    if not isinstance(prompt, str) or not prompt:
        raise ValueError(f"prompt must be a non-empty str; got {prompt!r}")
    logits, state = model(vocab.encode(prompt)[:, None])  # (T, 1, V)
    out = []
    for _ in range(length):
        nxt = sample_next(logits[-1], temperature, generator)  # (1,)
        out.append(int(nxt))
        logits, state = model(nxt[None, :], state)
    return vocab.decode(out)


@torch.no_grad()
def continuation_log_prob(model: CharLM, vocab: Vocab, prompt: str, continuation: str) -> float:
    r"""Mean log-probability per character (nats) that ``model`` at :math:`\tau = 1` gives to
    ``continuation`` after ``prompt``: :math:`\frac{1}{n}\sum_{t} \log p(u_{t+1} \mid u_{\le t})`
    over the ``n`` characters of the continuation only, each predicted from everything before it.
    """
    _check_model(model)
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a lstm_course.text.Vocab; got {type(vocab).__name__}")
    if not isinstance(prompt, str) or not prompt or not isinstance(continuation, str) or not continuation:
        raise ValueError(f"prompt and continuation must be non-empty strs; got {prompt!r} and {continuation!r}")
    ids = vocab.encode(prompt + continuation)[:, None]  # (N, 1)
    log_probs = torch.log_softmax(model(ids[:-1])[0], dim=-1)  # (N - 1, 1, V): predicts ids[1:]
    scores = log_probs[:, 0].gather(1, ids[1:]).flatten()  # (N - 1,)
    return scores[len(prompt) - 1:].mean().item()


class LSTMTrace(NamedTuple):
    """The LSTM's inner values after each character: ``h``, ``c`` ``(N, H)``; ``gates`` ``(N, 4H)``
    in the order i, f, g, o."""

    h: torch.Tensor
    c: torch.Tensor
    gates: torch.Tensor


@torch.no_grad()
def lstm_trace(model: CharLM, ids: torch.Tensor) -> LSTMTrace:
    """Read ``ids`` ``(N,)`` from a zero state and return the LSTM's ``h``, ``c`` and gates at every step.

    ``nn.LSTM`` returns only ``h_t``; the gates are recomputed from its inputs ``(e_t, h_{t-1})``
    and ``c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t`` is rebuilt, checked against ``h_t = o_t ⊙ tanh(c_t)``.
    """
    if _check_model(model).cell != "lstm":
        raise ValueError(f"lstm_trace needs an LSTM model; got cell={model.cell!r}")
    _check_ids("ids", ids, 1, "(N,)")
    e = model.embedding(ids[:, None])  # (N, 1, D)
    h, _ = model.rnn(e)  # (N, 1, H)
    h = h[:, 0]
    H = h.shape[1]
    h_prev = torch.cat([torch.zeros(1, H), h[:-1]])  # (N, H)
    r = model.rnn
    a = e[:, 0] @ r.weight_ih_l0.T + r.bias_ih_l0 + h_prev @ r.weight_hh_l0.T + r.bias_hh_l0  # (N, 4H)
    gates = torch.cat([torch.sigmoid(a[:, :2 * H]), torch.tanh(a[:, 2 * H:3 * H]), torch.sigmoid(a[:, 3 * H:])], 1)
    i, f, g, o = gates.split(H, dim=1)
    c = torch.empty_like(h)
    c_prev = torch.zeros(H)
    for t in range(len(ids)):
        c_prev = c[t] = f[t] * c_prev + i[t] * g[t]
    if not torch.allclose(o * torch.tanh(c), h, atol=1e-5):
        raise RuntimeError("rebuilt cell states do not reproduce nn.LSTM's outputs")
    return LSTMTrace(h, c, gates)


def unit_correlations(acts, feature) -> np.ndarray:
    """Pearson correlation of each unit's activation ``acts (N, H)`` with a feature ``(N,)``;
    0 for a constant unit or feature. Returns ``(H,)``."""
    A = np.asarray(acts.detach() if isinstance(acts, torch.Tensor) else acts, dtype=np.float64)
    x = np.asarray(feature, dtype=np.float64)
    if A.ndim != 2 or x.shape != (A.shape[0],):
        raise ValueError(f"acts must be (N, H) and feature (N,); got shapes {A.shape} and {x.shape}")
    A, x = A - A.mean(0), x - x.mean()
    denom = np.sqrt((A * A).sum(0) * (x * x).sum())
    return np.divide(A.T @ x, denom, out=np.zeros(A.shape[1]), where=denom > 0)


def save_charlm(model: CharLM, vocab: Vocab, path) -> None:
    """Save a model safely: plain data only (its config, its vocabulary, its ``state_dict``)."""
    if not isinstance(model, CharLM) or not isinstance(vocab, Vocab):
        raise TypeError(f"need a CharLM and a Vocab; got {type(model).__name__} and {type(vocab).__name__}")
    torch.save({"format": FORMAT, "config": dict(model.config), "vocab": vocab.chars,
                "state_dict": model.state_dict()}, path)


def load_charlm(path):
    """Load what :func:`save_charlm` wrote with ``torch.load(..., weights_only=True)``, which
    unpickles only tensors and plain containers, never arbitrary code. Returns ``(model, vocab)``."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    found = blob.get("format") if isinstance(blob, dict) else None
    if found != FORMAT:
        raise ValueError(f"expected a file written by save_charlm (format {FORMAT!r}); "
                         f"got a {type(blob).__name__} with format {found!r}")
    model = CharLM(**blob["config"])
    model.load_state_dict(blob["state_dict"])
    return model, Vocab(blob["vocab"])
