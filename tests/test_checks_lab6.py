"""The checkers of Lab 6: the reference passes, each known mistake and a pair of them is named,
a wrapper around the package's answer gets no credit, and bad input is refused clearly."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lstm_course import charlm, text
from lstm_course.checks import (
    check_generate, check_mean_log_prob, check_next_char_window, check_perplexity,
    check_softmax_temperature,
)
from lstm_course.checks import charlm_lab, experiments


# ------------------------------------------------------------------- student-like answers
def next_char_window(data, k, bptt, mistake=()):
    """Written by hand, with the mistakes of ``mistake`` (a tuple of codes)."""
    s = k * (1 if "window_stride_one" in mistake else
             bptt + 1 if "row_skipped" in mistake else bptt)
    if "last_row_without_target" in mistake:
        x, y = data[s: s + bptt], data[s + 1: s + 1 + bptt]
    else:
        T = max(0, min(bptt, len(data) - 1 - s))
        x, y = data[s: s + T], data[s + 1: s + 1 + T]
    if "batch_major" in mistake:
        return x.t(), y.t()
    return x, (x.clone() if "targets_not_shifted" in mistake else y)


def perplexity(model, data, bptt, mistake=()):
    if "train_mode" not in mistake:
        model.eval()
    total, count, means, state = 0.0, 0, [], None
    with torch.set_grad_enabled("grad_enabled" in mistake):
        for k in range(text.num_windows(data, bptt)):
            x, y = next_char_window(data, k, bptt)
            logits, state = model(x, None if "state_reset_each_window" in mistake else state)
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                  reduction="sum").item()
            total, count = total + nll, count + y.numel()
            means.append(nll / y.numel())
    h = sum(means) / len(means) if "mean_of_window_means" in mistake else total / count
    if "exp_missing" in mistake:
        return h
    if "bits_then_exp" in mistake:
        return math.exp(h / math.log(2))
    return 2.0 ** h if "pow2_of_nats" in mistake else math.exp(h)


@torch.no_grad()
def mean_log_prob(model, vocab, prompt, continuation, mistake=()):
    ids = vocab.encode(prompt + continuation)[:, None]  # (N, 1)
    if "prompt_state_dropped" in mistake:
        first, _ = model(vocab.encode(prompt)[:, None])
        rest, _ = model(vocab.encode(continuation)[:-1, None])
        logits = torch.cat([first, rest])
    else:
        logits = model(ids[:-1])[0]
    scores = logits if "log_softmax_missing" in mistake else torch.log_softmax(logits, -1)
    targets = ids[:-1] if "score_not_shifted" in mistake else ids[1:]
    picked = scores[:, 0].gather(1, targets).flatten()
    if "prompt_scored" not in mistake:
        picked = picked[len(prompt) - 1:]
    return picked.sum().item() if "log_prob_sum" in mistake else picked.mean().item()


def softmax_with_temperature(logits, temperature, mistake=()):
    z = logits * temperature if "temperature_inverted" in mistake else (
        logits if {"temperature_ignored", "temperature_after_softmax"} & set(mistake)
        else logits / temperature)
    dim = 0 if "wrong_axis" in mistake else -1
    z = z - z.max(dim=dim, keepdim=True).values
    e = torch.exp(z)
    p = e if "not_normalised" in mistake else e / e.sum(dim=dim, keepdim=True)
    return p / temperature if "temperature_after_softmax" in mistake else p


def with_mistake(fn, mistake):
    mistake = (mistake,) if isinstance(mistake, str) else tuple(mistake)

    def student(*args):
        return fn(*args, mistake=mistake)
    student.__name__ = fn.__name__
    return student


# ------------------------------------------------------------------------- the references
@pytest.mark.parametrize("check, fn", [
    (check_next_char_window, next_char_window), (check_perplexity, perplexity),
    (check_mean_log_prob, mean_log_prob), (check_softmax_temperature, softmax_with_temperature),
], ids=["window", "perplexity", "mean_log_prob", "softmax"])
def test_hand_written_solutions_pass(check, fn):
    result = check(fn, verbose=False)
    assert result.passed and result.code == "ok", result.message


def test_the_package_answers_agree_with_the_hand_written_ones():
    torch.manual_seed(0)
    data = torch.randint(0, 6, (23, 2))
    model = charlm.CharLM(6, 4, embedding_dim=3).double()
    assert math.isclose(charlm.perplexity(model, data, 5), perplexity(model, data, 5), rel_tol=1e-12)
    for k in range(text.num_windows(data, 5)):
        assert all(torch.equal(a, b) for a, b in zip(text.tbptt_window(data, k, 5),
                                                     next_char_window(data, k, 5)))
    vocab, model = charlm_lab.SCORE_VOCAB, charlm_lab.score_model()
    assert math.isclose(charlm.continuation_log_prob(model, vocab, "ab", "c. d"),
                        mean_log_prob(model, vocab, "ab", "c. d"), rel_tol=1e-12)


# -------------------------------------------------------------------- each mistake, named
SINGLES = [
    (check_next_char_window, next_char_window, charlm_lab.WINDOW_MISTAKES + ("batch_major",)),
    (check_perplexity, perplexity, charlm_lab.PERPLEXITY_MISTAKES + ("grad_enabled", "train_mode")),
    (check_mean_log_prob, mean_log_prob, charlm_lab.SCORE_MISTAKES),
    (check_softmax_temperature, softmax_with_temperature, experiments.SOFTMAX_MISTAKES),
]


@pytest.mark.parametrize("check, fn, mistake",
                         [(c, f, m) for c, f, ms in SINGLES for m in ms],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_each_mistake_is_named(check, fn, mistake):
    result = check(with_mistake(fn, mistake), verbose=False)
    assert not result.passed and result.code == mistake, result.message


PAIRS = [
    (check_next_char_window, next_char_window, ("targets_not_shifted", "row_skipped")),
    (check_next_char_window, next_char_window, ("window_stride_one", "targets_not_shifted")),
    (check_next_char_window, next_char_window, ("targets_not_shifted", "last_row_without_target")),
    (check_perplexity, perplexity, ("state_reset_each_window", "exp_missing")),
    (check_perplexity, perplexity, ("mean_of_window_means", "bits_then_exp")),
    (check_mean_log_prob, mean_log_prob, ("prompt_scored", "log_prob_sum")),
    (check_mean_log_prob, mean_log_prob, ("score_not_shifted", "log_softmax_missing")),
    (check_softmax_temperature, softmax_with_temperature, ("temperature_inverted", "wrong_axis")),
]


@pytest.mark.parametrize("check, fn, pair", PAIRS, ids=lambda v: "+".join(v)
                         if isinstance(v, tuple) else "")
def test_two_mistakes_are_both_named(check, fn, pair):
    result = check(with_mistake(fn, pair), verbose=False)
    assert not result.passed and result.code == "two_mistakes", result.message
    assert {code for code, _ in result.detail["mistakes"]} == set(pair)


def test_a_sampler_that_takes_the_arg_max_is_named():
    @torch.no_grad()
    def greedy(model, vocab, prompt, length, temperature=1.0, generator=None):
        logits, state = model(vocab.encode(prompt)[:, None])
        out = []
        for _ in range(length):
            nxt = logits[-1].argmax(dim=-1, keepdim=True)  # (1, 1)
            out.append(nxt.item())
            logits, state = model(nxt, state)
        return vocab.decode(out)
    result = check_generate(greedy, verbose=False)
    assert result.code == "sampled_argmax", result.message


# ----------------------------------------------------------------- no credit for wrappers
WRAPPERS = [
    (check_next_char_window, lambda d, k, b: text.tbptt_window(d, k, b), "text.tbptt_window"),
    (check_perplexity, lambda m, d, b: charlm.perplexity(m, d, b), "charlm.perplexity"),
    (check_mean_log_prob, lambda m, v, p, c: charlm.continuation_log_prob(m, v, p, c),
     "charlm.continuation_log_prob"),
    (check_softmax_temperature, lambda z, t: text.softmax_with_temperature(z, t),
     "text.softmax_with_temperature"),
    (check_generate, lambda m, v, p, n, t=1.0, g=None: v.decode([
        int(text.sample_next(m(v.encode(p)[:, None])[0][-1], t, g))] * n), "text.sample_next"),
]


@pytest.mark.parametrize("check, fn, name", WRAPPERS, ids=[w[2] for w in WRAPPERS])
def test_a_wrapper_around_the_package_gets_no_credit(check, fn, name):
    result = check(fn, verbose=False)
    assert not result.passed and result.code == "delegated", result.message
    assert name in result.message and "no credit" in result.message


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("check", [c for c, _, _ in SINGLES])
def test_a_checker_needs_a_function(check):
    with pytest.raises(TypeError, match="needs your function"):
        check("not a function", verbose=False)


def test_the_score_refuses_bad_input():
    model, vocab = charlm_lab.score_model(), charlm_lab.SCORE_VOCAB
    with pytest.raises(ValueError, match="non-empty"):
        charlm.continuation_log_prob(model, vocab, "ab", "")
    with pytest.raises(TypeError, match="Vocab"):
        charlm.continuation_log_prob(model, "abc", "ab", "c")
    with pytest.raises(TypeError, match="CharLM"):
        charlm.continuation_log_prob(torch.nn.Linear(2, 2), vocab, "ab", "c")


def test_a_window_that_is_not_a_pair_is_told_what_to_return():
    result = check_next_char_window(lambda d, k, b: d[k * b: k * b + b], verbose=False)
    assert result.code == "bad_return" and "(x, y)" in result.message
