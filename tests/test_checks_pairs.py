"""The checkers name two mistakes made at once, and only when two known mistakes explain the answer.

The students below make their mistakes the way test_checks.py's do (np.split, 1/(1+exp),
loops), independently of the mutants inside ``lstm_course.checks``.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from lstm_course import checks
from lstm_course.checks import _engine as E
from lstm_course.checks import _lstm_variants as V
from lstm_course.checks import lstm as L

from .test_checks import Cell, lnp, lstm_step, rnn_step_back


def mistakes(res) -> set:
    """The codes a two-mistake diagnosis names."""
    return {code for code, _ in res.detail["mistakes"]}


def test_gate_order_and_missing_b_hh_are_both_named():
    def student(x, h_prev, c_prev, params):
        return lstm_step(x, h_prev, c_prev, params, order="ifog", biases=(True, False))
    res = checks.check_lstm_step_forward(student, verbose=False)
    assert res.code == "two_mistakes", res.message
    assert res.detail["mistakes"] == (("gate_order", {"order": "i, f, o, g", "note": " (cs231n's order)"}),
                                      ("missing_bias", {"bias": "b_hh"}))
    lines = res.message.splitlines()
    assert lines[0] == "✘ student: not right yet (test case 1 of 3: B = 3, D = 4, H = 5)."
    assert lines[1].startswith("  What I see: two mistakes at once")
    # each mistake with its own explanation, as the single-mistake message gives it
    for k, (code, detail) in enumerate(res.detail["mistakes"], 1):
        what, hint = checks.MESSAGES[code]
        assert f"  {k}. {what.format(**{'note': '', **detail})}" in lines
        assert f"     Hint: {hint.format(**detail)}" in lines
    assert "cs231n" in res.message and "b_hh" in res.message


def test_the_same_pair_in_the_sequence_forward():
    def student(xs, params, h0=None, c0=None):
        T, B, _ = xs.shape
        H = params["W_hh"].shape[1]
        h = np.zeros((B, H)) if h0 is None else h0
        c = np.zeros((B, H)) if c0 is None else c0
        hs = []
        for t in range(T):
            h, c, _ = lstm_step(xs[t], h, c, params, order="ifog", biases=(True, False))
            hs.append(h)
        return np.stack(hs), (h, c), None
    res = checks.check_lstm_forward(student, verbose=False)
    assert res.code == "two_mistakes", res.message
    assert mistakes(res) == {"gate_order", "missing_bias"}


def test_rnn_backward_pair():
    def student(dhs, cache, dh_n=None):  # BPTT that drops the gradient from step t + 1, with tanh' = 1 − h
        dhs = dhs.copy()
        if dh_n is not None:
            dhs[-1] += dh_n
        dxs, grads = np.zeros_like(cache.xs), {k: 0.0 for k in cache.params}
        for t in reversed(range(len(dhs))):
            step = lnp.RNNStepCache(cache.xs[t], cache.hs[t - 1] if t else cache.h0, cache.hs[t], cache.params)
            dxs[t], dh_prev, g = rnn_step_back(dhs[t], step, bug="one_minus_h")
            grads = {k: grads[k] + g[k] for k in grads}
        return dxs, dh_prev, grads
    res = checks.check_rnn_backward(student, verbose=False)
    assert res.code == "two_mistakes", res.message
    assert mistakes(res) == {"dh_not_carried", "tanh_grad_from_h"}


def lstm_step_back(dh, dc, cache, bugs=()):
    """A student's LSTM step backward with any of a few mistakes at once."""
    i, f, g, o = np.split(cache.gates, 4, axis=1)
    t = cache.tanh_c
    dct = dh * o * (1 - t ** 2) + (0 if "drop_dc" in bugs else dc)
    di, df, dg, do = dct * g, dct * cache.c_prev, dct * i, dh * t
    di, df, dg, do = di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)
    if "sign_o" in bugs:
        do = -do
    if "sign_f" in bugs:
        df = -df
    da = np.hstack([di, df, dg, do])
    p = cache.params
    db = da.sum(axis=0)
    grads = {"W_ih": da.T @ cache.x, "W_hh": da.T @ cache.h_prev, "b_ih": db, "b_hh": db}
    return da @ p["W_ih"], da @ p["W_hh"], (dct if "no_f" in bugs else dct * f), grads


def test_lstm_step_backward_pair():
    res = checks.check_lstm_step_backward(lambda dh, dc, c: lstm_step_back(dh, dc, c, ("drop_dc", "sign_o")),
                                          verbose=False)
    assert res.code == "two_mistakes", res.message
    assert res.detail["mistakes"] == (("dc_ignored", {}), ("gate_sign", {"gate": "o"}))


def test_lstm_backward_pair():
    def student(dhs, cache, dh_n=None, dc_n=None):  # dc not carried, and the wrong sign in do
        T, B, H = cache.hs.shape
        dh = np.zeros((B, H)) if dh_n is None else dh_n
        dc = np.zeros((B, H)) if dc_n is None else dc_n
        dxs, grads = np.zeros_like(cache.xs), {k: 0.0 for k in cache.params}
        for t in reversed(range(T)):
            step = lnp.LSTMStepCache(cache.xs[t], cache.hs[t - 1] if t else cache.h0,
                                     cache.cs[t - 1] if t else cache.c0, cache.gates[t], cache.tanh_cs[t],
                                     cache.params)
            dxs[t], dh, dc_prev, g = lstm_step_back(dhs[t] + dh, dc, step, ("sign_o",))
            dc = dc_prev if t == 0 else np.zeros((B, H))
            grads = {k: grads[k] + g[k] for k in grads}
        return dxs, dh, dc, grads
    res = checks.check_lstm_backward(student, verbose=False)
    assert res.code == "two_mistakes", res.message
    assert mistakes(res) == {"dc_not_carried", "gate_sign"}


def test_torch_cell_pair():
    class Student(Cell):  # cs231n's gate order, and bias_hh left out of the pre-activation
        order = "ifog"

        def forward(self, x, hx=None):
            h, c = hx if hx is not None else (x.new_zeros(x.shape[0], self.hidden_size),) * 2
            a = x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T
            parts = dict(zip(self.order, a.chunk(4, dim=1)))
            i, f, o = (parts[k].sigmoid() for k in "ifo")
            c = f * c + i * parts["g"].tanh()
            return o * c.tanh(), c
    res = checks.check_torch_lstm_cell(Student, verbose=False)
    assert res.code == "two_mistakes", res.message
    assert mistakes(res) == {"gate_order", "missing_bias"}


def test_three_mistakes_fall_back_to_the_first_differing_quantity():
    def student(x, h_prev, c_prev, params):
        return lstm_step(x, h_prev, c_prev, params, order="ifog", biases=(True, False), out="c")
    res = checks.check_lstm_step_forward(student, verbose=False)
    assert res.code == "mismatch", res.message
    assert res.message.splitlines()[1].startswith("  What I see: h differs from the reference (relative error")


@pytest.mark.parametrize("kwargs, code", [(dict(order="ifog"), "gate_order"),
                                          (dict(biases=(True, False)), "missing_bias"),
                                          (dict(acts=("s", "s", "s", "s")), "candidate_sigmoid")])
def test_one_mistake_keeps_its_single_diagnosis(kwargs, code):
    res = checks.check_lstm_step_forward(lambda x, h, c, p: lstm_step(x, h, c, p, **kwargs), verbose=False)
    assert res.code == code and len(res.message.splitlines()) == 3, res.message


def test_a_pair_that_fits_only_the_first_case_is_not_named():
    """On the batch of one (case 2) this student makes a third mistake: no pair explains every case."""
    def student(x, h_prev, c_prev, params):
        return lstm_step(x, h_prev, c_prev, params, order="ifog", biases=(True, False),
                         out="c" if x.shape[0] == 1 else "tanh_c")
    res = checks.check_lstm_step_forward(student, verbose=False)
    assert res.code == "mismatch", res.message


def test_indistinguishable_pairs_are_all_listed():
    """With a sigmoid candidate the i and g blocks play symmetric roles, so reading them swapped is
    invisible: cs231n's order i, f, o, g and the order g, f, o, i give the same numbers."""
    def student(x, h_prev, c_prev, params):
        return lstm_step(x, h_prev, c_prev, params, order="ifog", acts=("s", "s", "s", "s"))
    res = checks.check_lstm_step_forward(student, verbose=False)
    assert res.code == "ambiguous_mistakes", res.message
    orders = {detail["order"] for pair in res.detail["options"] for code, detail in pair if code == "gate_order"}
    assert orders == {"i, f, o, g", "g, f, o, i"}
    assert all({code for code, _ in pair} == {"gate_order", "candidate_sigmoid"} for pair in res.detail["options"])
    assert "more than one pair" in res.message


def test_two_versions_of_one_equation_do_not_compose():
    d = L._step_cases()[0].data
    singles = {m.code: m for m in L._step_forward_mutants(d)}
    with pytest.raises(E.Incompatible):
        E.compose(singles["no_forget_gate"], singles["no_c_prev"]).outputs()
    gate_orders = [m for m in L._step_forward_mutants(d) if m.code == "gate_order"]
    assert E.compose(gate_orders[0], gate_orders[1]) is None  # two gate orders at once
    assert E.compose(singles["no_tanh_cell"], singles["swapped_outputs"]) is not None


def _key(code, detail):
    return code, tuple(sorted(detail.items()))


def test_every_pair_of_step_forward_mistakes_is_named_as_itself():
    """Every pair of the mistakes other than gate orders, and each of them with cs231n's order: the
    check names that pair (alone, or among the pairs that give the same numbers), or, when one
    mistake hides the other, the one that shows."""
    d = L._step_cases()[0].data
    chosen = [m for m in L._step_forward_mutants(d) if "order" not in m.kw or m.detail.get("note")]
    named = 0
    for a, b in combinations(chosen, 2):
        pair = E.compose(a, b)
        try:
            pair.outputs()
        except E.Incompatible:
            continue

        def student(x, h_prev, c_prev, params, kw=pair.kw):
            out = V.step_forward(x, h_prev, c_prev, params, **kw)
            return out["h"], out["c"], None
        res = checks.check_lstm_step_forward(student, verbose=False)
        want = {_key(a.code, a.detail), _key(b.code, b.detail)}
        if res.code == "two_mistakes":
            assert {_key(*m) for m in res.detail["mistakes"]} == want, res.message
            named += 1
        elif res.code == "ambiguous_mistakes":
            assert want in [{_key(*m) for m in option} for option in res.detail["options"]], res.message
            named += 1
        else:
            assert _key(res.code, res.detail) in want, (want, res.message)
    assert named >= 40
