"""The truncated-BPTT checkers: a correct loop passes, and each classic mistake is named."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lstm_course import checks, text


def batchify(ids, B, bug=None):
    L = len(ids) // B
    return ids[: L * B].reshape(L, B) if bug else ids[: L * B].reshape(B, L).t()


def train_window(model, opt, x, y, state, max_norm, bug=()):
    logits, state = model(x, None if "reset" in bug else state)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                           reduction="sum" if "sum" in bug else "mean")
    if "no_zero" not in bug:
        opt.zero_grad()
    loss.backward()
    if "no_clip" not in bug:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    opt.step()
    return loss.item(), (state if "no_detach" in bug else tuple(s.detach() for s in state))


def evaluate(model, data, bptt, bug=None):
    total, count, state = 0.0, 0, None
    with torch.enable_grad() if bug == "grad" else torch.no_grad():
        for k in range(text.num_windows(data, bptt)):
            x, y = text.tbptt_window(data, k, bptt)
            logits, state = model(x, None if bug == "reset" else state)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
            count += y.numel()
    return total / count


def test_batchify():
    assert checks.check_batchify(batchify, verbose=False).passed
    assert checks.check_batchify(lambda i, B: batchify(i, B, "interleaved"), verbose=False).code == "interleaved"
    res = checks.check_batchify(lambda i, B: text.batchify(i, B), verbose=False)
    assert res.code == "delegated" and "lstm_course.text.batchify" in res.message


@pytest.mark.parametrize("bug, code", [((), "ok"), (("no_detach",), "state_not_detached"),
                                       (("reset",), "window_state_not_carried"), (("no_clip",), "no_clipping"),
                                       (("no_zero",), "no_zero_grad"), (("sum",), "loss_sum")])
def test_train_window(bug, code):
    res = checks.check_train_window(lambda *a: train_window(*a, bug=bug), verbose=False)
    assert res.code == code, res.message


def test_train_window_two_mistakes():
    res = checks.check_train_window(lambda *a: train_window(*a, bug=("reset", "no_clip")), verbose=False)
    assert res.code == "two_mistakes", res.message
    assert {c for c, _ in res.detail["mistakes"]} == {"window_state_not_carried", "no_clipping"}


@pytest.mark.parametrize("bug, code", [(None, "ok"), ("reset", "state_reset_each_window"), ("grad", "grad_enabled")])
def test_evaluate(bug, code):
    res = checks.check_evaluate(lambda m, d, b: evaluate(m, d, b, bug), verbose=False)
    assert res.code == code, res.message


def test_evaluate_mean_of_means():
    def student(model, data, bptt):
        means, state = [], None
        with torch.no_grad():
            for k in range(text.num_windows(data, bptt)):
                x, y = text.tbptt_window(data, k, bptt)
                logits, state = model(x, state)
                means.append(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item())
        return sum(means) / len(means)
    assert checks.check_evaluate(student, verbose=False).code == "mean_of_window_means"
