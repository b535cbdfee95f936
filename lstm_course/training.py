"""A small, readable training loop: Adam, gradient clipping, early stopping, a history, a progress bar."""
from __future__ import annotations

import copy
import math
import numbers
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ._validate import check_int
from .tasks import ADDING_TOLERANCE, TaskData

CLIP_MODES = ("norm", "value", None)


@dataclass
class History:
    """What happened during :func:`train`.

    Per training step (one entry each): ``step`` (0, 1, ...), ``loss`` and ``accuracy`` on
    that step's batch, ``grad_norm`` (the global 2-norm of all gradients *before* clipping).
    Per evaluation on the held-out batch: ``eval_step`` (the number of updates done when it
    was measured), ``eval_loss``, ``eval_accuracy``.

    Attributes:
        solved_step: the first ``eval_step`` at which the target was reached, else None.
        sequences_seen: number of training sequences used (updates times batch size).
        diverged: True when a loss became NaN or infinite (training stopped there).
    """

    step: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    eval_step: list = field(default_factory=list)
    eval_loss: list = field(default_factory=list)
    eval_accuracy: list = field(default_factory=list)
    solved_step: int | None = None
    sequences_seen: int = 0
    diverged: bool = False

    @property
    def solved(self) -> bool:
        """True when the target was reached on the held-out batch."""
        return self.solved_step is not None

    @property
    def final_eval_loss(self) -> float:
        return self.eval_loss[-1] if self.eval_loss else math.nan

    @property
    def final_eval_accuracy(self) -> float:
        return self.eval_accuracy[-1] if self.eval_accuracy else math.nan


def loss_and_accuracy(output: torch.Tensor, data: TaskData, tolerance: float = ADDING_TOLERANCE):
    """The loss to minimise and the fraction of sequences processed correctly.

    * regression (``y (n, O)`` float): mean squared error; a sequence is correct when every
      output is within ``tolerance`` of its target (the 1997 criterion, ``|error| < 0.04``).
    * classification (``y (n,)`` int): cross-entropy; correct when the arg-max is the class.
    * sequence (``y (T, n)`` int): cross-entropy averaged over all valid steps; a sequence is
      correct when the arg-max is right at *every* valid step.

    Args:
        output: ``(n, O)`` or, for sequence tasks, ``(T, n, O)`` from :class:`SequenceModel`.
        data: the batch.
        tolerance: the regression success threshold.

    Returns:
        ``(loss, accuracy)``: a scalar tensor in the graph and a float.
    """
    kind = data.kind
    if kind == "regression":
        loss = nn.functional.mse_loss(output, data.y)
        correct = ((output - data.y).abs() < tolerance).all(dim=1)
    elif kind == "classification":
        loss = nn.functional.cross_entropy(output, data.y)
        correct = output.argmax(dim=1) == data.y
    else:
        T, n = data.y.shape
        valid = torch.arange(T)[:, None] < data.lengths[None, :]  # (T, n)
        per_step = nn.functional.cross_entropy(output.reshape(T * n, -1), data.y.reshape(-1), reduction="none")
        loss = (per_step.reshape(T, n) * valid).sum() / valid.sum()
        correct = ((output.argmax(dim=2) == data.y) | ~valid).all(dim=0)
    return loss, correct.float().mean().item()


@torch.no_grad()
def evaluate(model: nn.Module, data: TaskData, tolerance: float = ADDING_TOLERANCE):
    """``(loss, accuracy)`` of ``model`` on ``data`` without gradients (floats)."""
    was_training = model.training
    model.eval()
    output = model(data.x, data.lengths, all_steps=data.kind == "sequence")
    model.train(was_training)
    loss, acc = loss_and_accuracy(output, data, tolerance)
    return loss.item(), acc


def batch_seed(seed: int, step: int) -> int:
    """The data seed of training step ``step`` (``step = -1``: the held-out batch); distinct
    streams for distinct ``(seed, step)``, via ``numpy.random.SeedSequence``."""
    return int(np.random.SeedSequence([seed, step + 1]).generate_state(1)[0])


def _check_number(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number; got {value!r}")
    return value


def train(
    model: nn.Module,
    task: Callable[..., TaskData],
    *,
    steps: int,
    batch_size: int = 32,
    lr: float = 1e-3,
    clip: float | None = 1.0,
    clip_mode: str | None = "norm",
    target: float | None = None,
    target_metric: str = "accuracy",
    tolerance: float = ADDING_TOLERANCE,
    eval_every: int = 50,
    eval_size: int = 256,
    optimizer: torch.optim.Optimizer | None = None,
    seed: int = 0,
    progress: bool = True,
    desc: str | None = None,
) -> History:
    r"""Train ``model`` on fresh batches of ``task`` and return the :class:`History`.

    Each step draws a new batch ``task(batch_size, seed=batch_seed(seed, step))`` (so every
    sequence is new, as in the 1997 experiments), computes the loss of
    :func:`loss_and_accuracy`, back-propagates through the whole sequence (full BPTT),
    clips and updates. Every ``eval_every`` steps and after the last step the model is
    evaluated on one held-out batch of ``eval_size`` sequences (drawn once, seed
    ``batch_seed(seed, -1)``); training stops early once the held-out metric reaches ``target``.

    Clipping (the gradient :math:`\mathbf{g}` of all parameters together):
    ``clip_mode="norm"`` rescales :math:`\mathbf{g} \leftarrow \mathbf{g}\,\min(1,
    \text{clip}/\lVert\mathbf{g}\rVert_2)` (Pascanu et al. 2013); ``"value"`` clamps every
    entry to ``[-clip, clip]`` (min-char-rnn's choice, which changes the direction);
    ``None`` (or ``clip=None``) does not clip.

    Args:
        model: a :class:`~lstm_course.models.SequenceModel` (or any module with the same
            ``forward(x, lengths, all_steps=...)``).
        task: a callable ``(n, seed=...) -> TaskData``, e.g.
            ``functools.partial(adding_problem, T=100)``.
        steps: maximum number of updates (``>= 1``).
        batch_size: sequences per update.
        lr: learning rate of the default optimiser, ``torch.optim.Adam``.
        clip: the clipping threshold (positive), or None.
        clip_mode: ``"norm"``, ``"value"`` or None.
        target: stop when the held-out metric reaches it (accuracy ``>=`` target, or loss
            ``<=`` target); None trains for all ``steps``.
        target_metric: ``"accuracy"`` or ``"loss"``.
        tolerance: regression success threshold (see :func:`loss_and_accuracy`).
        eval_every: evaluate every this many updates.
        eval_size: size of the held-out batch.
        optimizer: an optimiser over ``model.parameters()``; None builds Adam(lr).
        seed: seeds torch (``torch.manual_seed``) and every batch.
        progress: show a ``tqdm.auto`` progress bar.
        desc: the progress bar's label.

    Returns:
        History with per-step loss, accuracy, gradient norm and the evaluations.
    """
    steps, batch_size = check_int("steps", steps), check_int("batch_size", batch_size)
    eval_every, eval_size = check_int("eval_every", eval_every), check_int("eval_size", eval_size)
    seed = check_int("seed", seed, minimum=0)
    _check_number("lr", lr)
    if not callable(task):
        raise TypeError(f"task must be a callable (n, seed=...) -> TaskData; got {type(task).__name__}")
    if clip_mode not in CLIP_MODES:
        raise ValueError(f"clip_mode must be one of {CLIP_MODES}; got {clip_mode!r}")
    if clip is not None and (_check_number("clip", clip) <= 0):
        raise ValueError(f"clip must be positive or None; got {clip}")
    if target_metric not in ("accuracy", "loss"):
        raise ValueError(f"target_metric must be 'accuracy' or 'loss'; got {target_metric!r}")
    if target is not None:
        _check_number("target", target)

    torch.manual_seed(seed)
    opt = optimizer if optimizer is not None else torch.optim.Adam(model.parameters(), lr=lr)
    params = [p for p in model.parameters() if p.requires_grad]
    held_out = task(eval_size, seed=batch_seed(seed, -1))
    if not isinstance(held_out, TaskData):
        raise TypeError(f"task must return a TaskData; got {type(held_out).__name__}")
    all_steps = held_out.kind == "sequence"
    history = History()

    def reached(loss: float, acc: float) -> bool:
        if target is None:
            return False
        return acc >= target if target_metric == "accuracy" else loss <= target

    # Updated by hand, not iterated: a generator left by `break` closes its bar short of the total,
    # which tqdm paints red, after the loop and whatever it was told.
    bar = tqdm(total=steps, desc=desc, disable=not progress, leave=False)
    postfix: dict[str, str] = {}
    model.train()
    for step in range(steps):
        data = task(batch_size, seed=batch_seed(seed, step))
        output = model(data.x, data.lengths, all_steps=all_steps)
        loss, acc = loss_and_accuracy(output, data, tolerance)
        if not torch.isfinite(loss):
            history.diverged = True
            _finish(bar, {**postfix, "status": "diverged"})
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad for p in params if p.grad is not None]
        grad_norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])).item()
        if clip is not None and clip_mode == "norm":
            torch.nn.utils.clip_grad_norm_(params, clip)
        elif clip is not None and clip_mode == "value":
            torch.nn.utils.clip_grad_value_(params, clip)
        opt.step()
        history.step.append(step)
        history.loss.append(loss.item())
        history.accuracy.append(acc)
        history.grad_norm.append(grad_norm)
        history.sequences_seen += batch_size
        bar.update(1)
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            eval_loss, eval_acc = evaluate(model, held_out, tolerance)
            history.eval_step.append(step + 1)
            history.eval_loss.append(eval_loss)
            history.eval_accuracy.append(eval_acc)
            postfix = {"loss": f"{eval_loss:.3g}", "acc": f"{eval_acc:.2f}"}
            bar.set_postfix(postfix, refresh=False)
            if reached(eval_loss, eval_acc):
                history.solved_step = step + 1
                _finish(bar, {**postfix, "status": "solved"})
                break
    bar.close()
    return history


def _finish(bar, postfix: dict) -> None:
    """Show a run that stopped early, at its target or on divergence, as finished where it stopped.

    Without this, closing a bar short of its total paints it red (tqdm's sign of an interrupted
    loop), and a reader of the committed notebook takes a solved run for a failure.
    """
    done = bar.n
    bar.reset(total=done)
    bar.update(done)
    bar.set_postfix(postfix, refresh=True)


def task_gradient_norms(model: nn.Module, data: TaskData, tolerance: float = ADDING_TOLERANCE, *,
                        float64: bool = False) -> torch.Tensor:
    r"""Mean over the batch of :math:`\lVert \partial L / \partial \vh_t \rVert_2` for every step ``t``,
    with ``L`` a trained model's task loss (for a gradient placed on the last state of NumPy
    parameters, see :func:`lstm_course.gradients.hidden_gradient_norms`).

    The loss is that of :func:`loss_and_accuracy` on ``data``, computed with
    :meth:`~lstm_course.models.SequenceModel.unroll` so that the gradient with respect to
    each hidden state includes every path through later steps. Plot it against the
    distance ``T - 1 - t`` to the read-out to see how far back the training signal reaches.

    Args:
        model: a :class:`~lstm_course.models.SequenceModel`.
        data: the batch.
        tolerance: passed to :func:`loss_and_accuracy`.
        float64: run the computation in float64 on a copy of the model (``model`` is not
            changed). Use it when the gradients may fall below float32's smallest numbers
            (about 1e-38 to 1e-45), where they would otherwise round to exactly 0.

    Returns:
        ``(T,)`` float64 tensor (index ``t``), the norm of the gradient that one sequence's loss
        sends to :math:`\vh_t`, averaged over the batch (use equal-length data, e.g. the modern
        adding problem, for a clean picture).
    """
    if float64:
        model = copy.deepcopy(model).double()
        y = data.y.double() if data.y.is_floating_point() else data.y
        data = TaskData(data.x.double(), y, data.lengths)
    output, hs = model.unroll(data.x, data.lengths, all_steps=data.kind == "sequence")
    loss, _ = loss_and_accuracy(output, data, tolerance)
    grads = torch.autograd.grad(loss, hs)
    # the mean loss divides by n; multiply back so the norm is per sequence, not per batch
    n = data.x.shape[1]
    return torch.stack([g.double().norm(dim=1).mean() * n for g in grads]).detach()
