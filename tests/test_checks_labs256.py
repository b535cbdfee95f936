"""The checkers of Labs 2 and 5's new exercises: the reference passes, each known mistake and a
pair of them is named, a wrapper around the package's answer gets no credit."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lstm_course import gradients, studies
from lstm_course.checks import (
    check_bound_factor, check_cell_path_norms, check_decay_factor, check_matched_model,
    check_summarize_seeds, check_wilson_interval,
)
from lstm_course.checks import decay, seeds
from lstm_course.models import SequenceModel, matched_hidden_size
from lstm_course.numpy import lstm_backward, lstm_forward


# ------------------------------------------------------------------- student-like answers
def wilson_interval95(k, n, mistake=None):
    return tuple(float(v) for v in seeds._wilson(k, n, mistake)["interval"])


def summarize_seeds(histories, mistake=None):
    out = seeds._summary(histories, mistake)
    median = float(out["median_steps"])
    return dict(k=float(out["k"]), n=int(out["n"]), low=float(out["low"]),
                high=float(out["high"]), median_steps=None if median < 0 else median)


def matched_model(cell, num_parameters, seed, mistake=None):
    return seeds._model(cell, num_parameters, seed, mistake)


def cell_path_norms(xs, params, mistake=None):
    return decay._cell_path(xs, params, mistake)["norms"]


def decay_factor(norms, mistake=None):
    return float(decay._decay(norms, mistake)["factor"])


def bound_factor(W, mistake=None):
    return float(decay._bound(W, mistake)["s_max"])


def with_mistake(fn, mistake):
    def student(*args):
        return fn(*args, mistake=mistake)
    student.__name__ = fn.__name__
    return student


# ------------------------------------------------------------------------- the references
def test_hand_written_solutions_pass():
    def wilson(k, n):
        z, p = 1.96, k / n
        c = (p + z * z / (2 * n)) / (1 + z * z / n)
        h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, c - h), min(1.0, c + h)

    def summary(histories):
        steps = [h.solved_step for h in histories if h.solved]
        low, high = wilson(len(steps), len(histories))
        return dict(k=len(steps), n=len(histories), low=low, high=high,
                    median_steps=float(np.median(steps)) if steps else None)

    def model(cell, budget, seed):
        H = matched_hidden_size(cell, 2, 1, budget)
        torch.manual_seed(seed)
        return SequenceModel(cell, 2, H, 1, forget_bias=1.0 if cell == "lstm" else None)

    def path(xs, params):
        _, _, cache = lstm_forward(xs, params)
        H = params["W_hh"].shape[1]
        dc = np.ones(cache.cs.shape[1:])
        norms = [np.linalg.norm(dc)]
        for t in reversed(range(len(xs))):
            dc = cache.gates[t][:, H:2 * H] * dc
            norms.append(np.linalg.norm(dc))
        return np.array(norms[::-1])

    def rate(norms):
        return float(np.exp(np.polyfit(np.arange(len(norms)), np.log(norms), 1)[0]))

    for check, fn in ((check_wilson_interval, wilson), (check_summarize_seeds, summary),
                      (check_matched_model, model), (check_cell_path_norms, path),
                      (check_decay_factor, rate),
                      (check_bound_factor, lambda W: np.linalg.norm(W, 2))):
        result = check(fn, verbose=False)
        assert result.passed and result.code == "ok", result.message


# -------------------------------------------------------------------- each mistake, named
SINGLES = [
    (check_wilson_interval, wilson_interval95, seeds._WILSON_MISTAKES),
    (check_summarize_seeds, summarize_seeds, seeds._SUMMARY_MISTAKES),
    (check_matched_model, matched_model, ("forget_bias_missing", "seed_ignored")),
    (check_cell_path_norms, cell_path_norms, [c for c, _ in decay._CELL_MISTAKES]),
    (check_decay_factor, decay_factor, decay._DECAY_MISTAKES),
    (check_bound_factor, bound_factor, ("spectral_radius", "frobenius", "max_row_sum",
                                        "max_entry")),
]


@pytest.mark.parametrize("check, fn, mistake",
                         [(c, f, m) for c, f, ms in SINGLES for m in ms],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_each_mistake_is_named(check, fn, mistake):
    result = check(with_mistake(fn, mistake), verbose=False)
    assert not result.passed and result.code == mistake, result.message


PAIRS = [
    (check_wilson_interval, wilson_interval95, ("wald_interval", "z_90")),
    (check_wilson_interval, wilson_interval95, ("no_denominator", "variance_term_missing")),
    (check_summarize_seeds, summarize_seeds, ("k_as_fraction", "unsolved_in_median")),
    (check_summarize_seeds, summarize_seeds, ("mean_not_median", "wald_interval")),
    (check_matched_model, matched_model, ("forget_bias_missing", "seed_ignored")),
    (check_cell_path_norms, cell_path_norms, ("one_minus_f", "norm_mean_over_batch")),
    (check_decay_factor, decay_factor, ("endpoint_ratio", "slope_not_exponentiated")),
]


@pytest.mark.parametrize("check, fn, pair", PAIRS, ids=lambda v: "+".join(v)
                         if isinstance(v, tuple) else "")
def test_two_mistakes_are_both_named(check, fn, pair):
    result = check(with_mistake(fn, pair), verbose=False)
    assert not result.passed and result.code == "two_mistakes", result.message
    assert {code for code, _ in result.detail["mistakes"]} == set(pair)


def test_unseeded_and_unmatched_models_are_named():
    def unseeded(cell, budget, seed):
        return SequenceModel(cell, 2, matched_hidden_size(cell, 2, 1, budget), 1,
                             forget_bias=1.0 if cell == "lstm" else None)

    def same_size(cell, budget, seed):
        torch.manual_seed(seed)
        return SequenceModel(cell, 2, 16, 1, forget_bias=1.0 if cell == "lstm" else None)
    assert check_matched_model(unseeded, verbose=False).code == "not_seeded"
    result = check_matched_model(same_size, verbose=False)
    assert result.code == "parameters_not_matched" and "H = 16" in result.message


def test_a_summary_without_the_keys_is_told_what_to_return():
    result = check_summarize_seeds(lambda hs: (1, 2), verbose=False)
    assert result.code == "bad_return" and "median_steps" in result.message


# ----------------------------------------------------------------- no credit for wrappers
WRAPPERS = [
    (check_wilson_interval, lambda k, n: studies.wilson_interval(k, n),
     "studies.wilson_interval"),
    (check_summarize_seeds, lambda hs: studies.summarize(
        [dict(solved=h.solved, solved_step=h.solved_step, relative_loss=None) for h in hs]),
     "studies.summarize"),
    (check_matched_model, lambda cell, budget, seed: studies.make_model(cell, "adding", seed),
     "studies.make_model"),
    (check_cell_path_norms, lambda xs, p: lstm_backward(np.ones((len(xs), xs.shape[1],
                                                                 p["W_hh"].shape[1])),
                                                        lstm_forward(xs, p)[2])[2],
     "lstm_backward"),
    (check_decay_factor, lambda n: math.exp(gradients.fit_log_slope(np.arange(len(n)), n)),
     "fit_log_slope"),
    (check_bound_factor, lambda W: gradients.spectral_norm(W), "spectral_norm"),
]


@pytest.mark.parametrize("check, fn, name", WRAPPERS, ids=[w[2] for w in WRAPPERS])
def test_a_wrapper_around_the_package_gets_no_credit(check, fn, name):
    result = check(fn, verbose=False)
    assert not result.passed and result.code == "delegated"
    assert name in result.message and "no credit" in result.message


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("check", [c for c, _, _ in SINGLES])
def test_a_checker_needs_a_function(check):
    with pytest.raises(TypeError, match="needs your function"):
        check("not a function", verbose=False)


def test_fake_history_refuses_bad_input():
    assert seeds.fake_history(50, 100).solved_step == 50
    assert seeds.fake_history(None, 100).eval_step[-1] == 100
    with pytest.raises(ValueError, match="at most budget"):
        seeds.fake_history(200, 100)
    with pytest.raises(TypeError, match="budget must be an int"):
        seeds.fake_history(None, 1.5)
