"""Checker for the sequence-to-sequence exercise: the student's additive attention step.

Import it from here: ``from lstm_course.checks.seq2seq import check_attention_step``.
"""
from __future__ import annotations

import torch

from ..seq2seq import additive_attention
from . import _feedback as F

#: The mistakes the checker recognises: code -> (what it sees, hint).
ATTENTION_MISTAKES = {
    "mask_ignored": ("the padded source steps get weight, as if the mask were not there.",
                     "Set the scores of masked-out steps to -inf before the softmax (scores.masked_fill(~mask, "
                     "float('-inf'))), so that their weights are exactly 0."),
    "softmax_batch": ("the weights of each source step sum to 1 over the batch, not over the source.",
                      "Take the softmax over the source steps S: the dimension of length S, not B."),
    "no_tanh": ("the scores are v^T (W_q q + W_k k_j), without the tanh.",
                "Additive attention squashes the sum with tanh before the dot product with v."),
    "context_unweighted": ("the context is the plain mean of the keys, not their weighted mean.",
                           "Multiply each key by its weight before summing over the source."),
}


def _cases():
    g = torch.Generator().manual_seed(2015)
    cases = []
    for S, B, H, A, lengths in ((5, 3, 4, 6, (5, 2, 3)), (1, 2, 3, 3, (1, 1)), (7, 4, 5, 2, (7, 7, 1, 4))):
        mask = torch.arange(S)[:, None] < torch.tensor(lengths)[None, :]
        cases.append(dict(query=torch.randn(B, H, generator=g, dtype=torch.float64),
                          keys=torch.randn(S, B, H, generator=g, dtype=torch.float64), mask=mask,
                          W_q=torch.randn(A, H, generator=g, dtype=torch.float64),
                          W_k=torch.randn(A, H, generator=g, dtype=torch.float64),
                          v=torch.randn(A, generator=g, dtype=torch.float64)))
    return cases


def _mutant(code: str, d: dict):
    q, k, mask, W_q, W_k, v = d["query"], d["keys"], d["mask"], d["W_q"], d["W_k"], d["v"]
    pre = q @ W_q.T + k @ W_k.T  # (S, B, A)
    scores = (pre if code == "no_tanh" else torch.tanh(pre)) @ v  # (S, B)
    if code != "mask_ignored":
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=1 if code == "softmax_batch" else 0).T  # (B, S)
    if code == "context_unweighted":
        return (k * mask[..., None]).sum(0) / mask.sum(0)[:, None], weights
    return (weights.T[..., None] * k).sum(0), weights


def _result(name: str, passed: bool, code: str, message: str, verbose: bool, **detail) -> F.CheckResult:
    result = F.CheckResult(name, passed, code, message, detail)
    if verbose:
        print(message)
    return result


def check_attention_step(fn, verbose: bool = True) -> F.CheckResult:
    """Check a student's ``attention(query, keys, mask, W_q, W_k, v) -> (context, weights)``.

    Arguments and results as in :func:`lstm_course.seq2seq.additive_attention`: ``query (B, H)``,
    ``keys (S, B, H)``, ``mask (S, B)`` bool, ``W_q, W_k (A, H)``, ``v (A,)``; ``context (B, H)``
    and ``weights (B, S)``. Three cases, with padded sequences and a source of one step, in float64;
    both outputs must match the package's function to 1e-10. Recognised mistakes: the mask
    ignored, the softmax over the batch, no tanh, an unweighted mean.
    """
    name = getattr(fn, "__name__", "your function")
    if not callable(fn):
        raise TypeError(f"fn must be a function; got {type(fn).__name__}")
    for n_case, d in enumerate(_cases(), 1):
        where = f"case {n_case} of 3: S={d['keys'].shape[0]}, B={d['keys'].shape[1]}"
        try:
            out = fn(**{k: v.clone() for k, v in d.items()})
        except NotImplementedError:
            return _result(name, False, "not_implemented", f"✘ {name}: not implemented yet.", verbose)
        except Exception as error:  # noqa: BLE001 - any failure is reported to the student
            return _result(name, False, "error", f"✘ {name} raised {type(error).__name__}: {error} ({where}).",
                           verbose)
        expected = additive_attention(**d)
        if not (isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out)):
            return _result(name, False, "bad_return", f"✘ {name}: return a pair of tensors (context, weights); "
                           f"got {type(out).__name__}.", verbose)
        for got, want, what in zip(out, expected, ("context", "weights")):
            if got.shape != want.shape:
                return _result(name, False, "shape", f"✘ {name}: {what} should have shape {tuple(want.shape)}; "
                               f"got {tuple(got.shape)} ({where}).", verbose)
        if all(torch.allclose(g.double(), w, atol=1e-10, rtol=1e-10) for g, w in zip(out, expected)):
            continue
        for code, (what, hint) in ATTENTION_MISTAKES.items():
            mutant = _mutant(code, d)
            if all(torch.allclose(g.double(), w, atol=1e-10) for g, w in zip(out, mutant)):
                return _result(name, False, code, f"✘ {name}: not right yet ({where}).\n  What I see: {what}\n"
                               f"  Hint: {hint}", verbose)
        worst = max(float((g.double() - w).abs().max()) for g, w in zip(out, expected))
        return _result(name, False, "mismatch", f"✘ {name}: not right yet ({where}): the outputs differ from "
                       f"additive_attention by up to {worst:.2g}.", verbose, max_abs_error=worst)
    return F.passed(name, "context and weights match additive_attention on 3 cases, padding included.", verbose)
