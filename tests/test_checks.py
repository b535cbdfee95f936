"""The exercise checkers: the reference passes, and each deliberately wrong implementation is
rejected with the right diagnosis.

The wrong implementations below are written the way a student would write them (np.split,
1/(1+exp), loops), independently of the mutants inside ``lstm_course.checks``.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm_course import checks
from lstm_course.checks import _lstm_variants

from ._reference import student_numpy

#: The reference as a student would type it: the package's own functions are traps inside a check.
lnp = student_numpy()


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def preact(x, h_prev, p, b_ih=True, b_hh=True):
    a = x @ p["W_ih"].T + h_prev @ p["W_hh"].T
    return a + (p["b_ih"] if b_ih else 0) + (p["b_hh"] if b_hh else 0)


# ---------------------------------------------------------------------------------------------
# LSTM step forward: a student's function with one mistake each
# ---------------------------------------------------------------------------------------------
def lstm_step(x, h_prev, c_prev, p, *, order="ifgo", acts=("s", "s", "t", "s"), update="standard",
              out="tanh_c", biases=(True, True), swap=False, shape_bug=False):
    a = preact(x, h_prev, p, *biases)
    blocks = dict(zip(order, np.split(a, 4, axis=1)))
    f_of = {"s": sigmoid, "t": np.tanh}
    i, f, g, o = (f_of[k](blocks[n]) for k, n in zip(acts, "ifgo"))
    c = {"standard": lambda: f * c_prev + i * g, "f_on_g": lambda: i * c_prev + f * g,
         "f_on_all": lambda: f * (c_prev + i * g), "no_f": lambda: c_prev + i * g,
         "no_c_prev": lambda: i * g}[update]()
    h = {"tanh_c": o * np.tanh(c), "c": o * c, "c_prev": o * np.tanh(c_prev)}[out]
    if shape_bug:
        h = h.T
    return (c, h, None) if swap else (h, c, None)


LSTM_FORWARD_BUGS = {
    "cs231n order": (dict(order="ifog"), "gate_order", {"order": "i, f, o, g"}),
    "order o,i,f,g": (dict(order="oifg"), "gate_order", {"order": "o, i, f, g"}),
    "order g,i,f,o": (dict(order="gifo"), "gate_order", {"order": "g, i, f, o"}),
    "no tanh on c": (dict(out="c"), "no_tanh_cell", {}),
    "sigmoid/tanh swapped": (dict(acts=("t", "t", "s", "t")), "swapped_activations", {}),
    "sigmoid candidate": (dict(acts=("s", "s", "s", "s")), "candidate_sigmoid", {}),
    "forget gate on candidate": (dict(update="f_on_g"), "forget_on_candidate", {}),
    "forget gate on everything": (dict(update="f_on_all"), "forget_on_whole", {}),
    "no forget gate": (dict(update="no_f"), "no_forget_gate", {}),
    "c_prev dropped": (dict(update="no_c_prev"), "no_c_prev", {}),
    "h from c_prev": (dict(out="c_prev"), "h_from_c_prev", {}),
    "b_hh missing": (dict(biases=(True, False)), "missing_bias", {"bias": "b_hh"}),
    "b_ih missing": (dict(biases=(False, True)), "missing_bias", {"bias": "b_ih"}),
    "h and c swapped": (dict(swap=True), "swapped_outputs", {}),
    "h transposed": (dict(shape_bug=True), "wrong_shape", {"quantity": "h", "expected": (3, 5), "received": (5, 3)}),
}


def test_lstm_step_forward_reference_passes():
    res = checks.check_lstm_step_forward(lnp.lstm_step_forward, verbose=False)
    assert res.passed and res.code == "ok" and "correct" in res.message
    assert checks.check_lstm_step_forward(lambda *a: lstm_step(*a), verbose=False).passed


@pytest.mark.parametrize("bug", LSTM_FORWARD_BUGS)
def test_lstm_step_forward_mistakes_named(bug):
    kwargs, code, detail = LSTM_FORWARD_BUGS[bug]

    def student(x, h_prev, c_prev, params):
        return lstm_step(x, h_prev, c_prev, params, **kwargs)
    res = checks.check_lstm_step_forward(student, verbose=False)
    assert not res.passed
    assert res.code == code, res.message
    for k, v in detail.items():
        assert res.detail[k] == v
    assert "Hint:" in res.message


def test_cs231n_is_named_in_the_message():
    res = checks.check_lstm_step_forward(lambda x, h, c, p: lstm_step(x, h, c, p, order="ifog"), verbose=False)
    assert "cs231n" in res.message and "i, f, g, o" in res.message


def test_not_implemented_raised_and_bad_returns(capsys):
    def stub(x, h_prev, c_prev, params):
        raise NotImplementedError()
    res = checks.check_lstm_step_forward(stub)
    assert (res.passed, res.code) == (False, "not_implemented")
    assert "not implemented yet" in capsys.readouterr().out

    def crashes(x, h_prev, c_prev, params):
        return x @ params["W_ih"]  # wrong orientation: shapes do not match
    res = checks.check_lstm_step_forward(crashes, verbose=False)
    assert res.code == "raised" and "ValueError" in res.message

    res = checks.check_lstm_step_forward(lambda x, h, c, p: None, verbose=False)
    assert res.code == "bad_return" and "returned None" in res.message
    res = checks.check_lstm_step_forward(lambda x, h, c, p: lstm_step(x, h, c, p)[:2], verbose=False)
    assert res.code == "bad_return" and "(h, c, cache)" in res.message


def test_messages_are_deterministic_and_short():
    student = lambda x, h, c, p: lstm_step(x, h, c, p, out="c")  # noqa: E731
    a = checks.check_lstm_step_forward(student, verbose=False)
    b = checks.check_lstm_step_forward(student, verbose=False)
    assert a.message == b.message and a == b
    assert len(a.message.splitlines()) == 3 and a.message.startswith("✘ <lambda>: not right yet")


def test_bad_arguments_to_checkers():
    with pytest.raises(TypeError, match="needs your function.*got int"):
        checks.check_lstm_step_forward(3)
    with pytest.raises(TypeError, match="needs your class itself.*got LSTMCell"):
        checks.check_torch_lstm_cell(torch.nn.LSTMCell(2, 3))
    with pytest.raises(TypeError, match="dict name -> relative error.*got list"):
        checks.check_gradcheck([1e-9])
    with pytest.raises(ValueError, match="empty dict"):
        checks.check_gradcheck({})
    with pytest.raises(TypeError, match="must be a number; got str"):
        checks.check_gradcheck({"W": "small"})


# ---------------------------------------------------------------------------------------------
# LSTM step backward
# ---------------------------------------------------------------------------------------------
def lstm_step_back(dh, dc, cache, *, order="ifgo", bug=None):
    i, f, g, o = (dict(zip(order, np.split(cache.gates, 4, axis=1)))[k] for k in "ifgo")
    t = cache.tanh_c
    dt = {"no_tanh_grad": 1.0, "no_square": 1.0 - t, "tanh_sign": t ** 2 - 1}.get(bug, 1 - t ** 2)
    dct = (0 if bug == "drop_dh_path" else dh * o * dt) + (0 if bug == "drop_dc" else dc)
    di, df, dg, do = dct * g, dct * cache.c_prev, dct * i, dh * t
    if bug == "di_dg":
        di, dg = dct * i, dct * g
    if bug != "no_gate_grads":
        di, df, dg, do = di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)
    if bug == "sign_o":
        do = -do
    parts = {"i": di, "f": df, "g": dg, "o": do}
    da = np.hstack([parts[k] for k in order])
    p = cache.params
    dc_prev = {"zero_dc_prev": np.zeros_like(dct), "no_f": dct}.get(bug, dct * f)
    db = da.sum(axis=0)
    grads = {"W_ih": da.T @ cache.x, "W_hh": da.T @ cache.h_prev, "b_ih": db, "b_hh": db}
    dx = da @ p["W_ih"]
    if bug == "all_negative":
        return -dx, -(da @ p["W_hh"]), -dc_prev, {k: -v for k, v in grads.items()}
    if bug == "dW_hh_from_x":
        grads["W_hh"] = da.T @ np.tanh(cache.h_prev)  # the right shape, the wrong input
    if bug == "db_mean":
        grads["b_hh"] = da.mean(axis=0)
    if bug == "db_no_sum":
        grads["b_ih"] = da
    if bug == "missing_key":
        del grads["b_hh"]
    return dx, da @ p["W_hh"], dc_prev, grads


LSTM_BACKWARD_BUGS = {
    "cs231n order": (dict(order="ifog"), "gate_order", {"order": "i, f, o, g"}),
    "upstream dc dropped": (dict(bug="drop_dc"), "dc_ignored", {}),
    "dh path dropped from dc": (dict(bug="drop_dh_path"), "dh_path_missing", {}),
    "dc_prev zero": (dict(bug="zero_dc_prev"), "dc_prev_missing", {}),
    "dc_prev without f": (dict(bug="no_f"), "dc_prev_no_forget", {}),
    "tanh' missing": (dict(bug="no_tanh_grad"), "tanh_grad_missing", {}),
    "tanh' unsquared": (dict(bug="no_square"), "tanh_grad_no_square", {}),
    "tanh' sign": (dict(bug="tanh_sign"), "tanh_grad_sign", {}),
    "di and dg swapped": (dict(bug="di_dg"), "di_dg_swapped", {}),
    "gate derivatives missing": (dict(bug="no_gate_grads"), "gate_grad_missing", {}),
    "sign of do": (dict(bug="sign_o"), "gate_sign", {"gate": "o"}),
    "everything negated": (dict(bug="all_negative"), "sign_error", {}),
    "dW_hh wrong": (dict(bug="dW_hh_from_x"), "param_grad", {"quantity": "dW_hh"}),
    "db_hh a mean": (dict(bug="db_mean"), "batch_mean", {"quantity": "db_hh"}),
    "db_ih not summed": (dict(bug="db_no_sum"), "wrong_shape", {"quantity": "db_ih", "expected": (20,),
                                                                "received": (3, 20)}),
    "grads key missing": (dict(bug="missing_key"), "bad_return", {}),
}


def test_lstm_step_backward_reference_passes():
    assert checks.check_lstm_step_backward(lnp.lstm_step_backward, verbose=False).passed
    assert checks.check_lstm_step_backward(lambda dh, dc, cache: lstm_step_back(dh, dc, cache), verbose=False).passed


@pytest.mark.parametrize("bug", LSTM_BACKWARD_BUGS)
def test_lstm_step_backward_mistakes_named(bug):
    kwargs, code, detail = LSTM_BACKWARD_BUGS[bug]
    res = checks.check_lstm_step_backward(lambda dh, dc, cache: lstm_step_back(dh, dc, cache, **kwargs),
                                          verbose=False)
    assert not res.passed and res.code == code, res.message
    for k, v in detail.items():
        assert res.detail[k] == v
    if code == "param_grad":
        assert "dW_hh" in res.message and "relative error" in res.message


def test_lstm_step_backward_with_the_students_forward():
    res = checks.check_lstm_step_backward(lnp.lstm_step_backward, forward=lnp.lstm_step_forward, verbose=False)
    assert res.passed


# ---------------------------------------------------------------------------------------------
# LSTM sequences
# ---------------------------------------------------------------------------------------------
def lstm_seq(xs, params, h0=None, c0=None, bug=None):
    T, B, _ = xs.shape
    H = params["W_hh"].shape[1]
    zeros = np.zeros((B, H))
    h = zeros if h0 is None or bug == "ignore_h0" else h0
    c = zeros if c0 is None or bug == "ignore_h0" else c0
    hs = []
    for t in range(T):
        if bug == "shift":
            hs.append(h)
        h_in = (zeros if h0 is None else h0) if bug == "no_carry_h" else h
        h, c, _ = lstm_step(xs[t], h_in, c, params, order="ifog" if bug == "cs231n" else "ifgo")
        if bug != "shift":
            hs.append(h)
    return np.stack(hs), (h, c), None


def test_lstm_forward_reference_and_mistakes():
    assert checks.check_lstm_forward(lnp.lstm_forward, verbose=False).passed
    assert checks.check_lstm_forward(lstm_seq, verbose=False).passed
    for bug, code in {"ignore_h0": "initial_state_ignored", "shift": "hs_shifted", "no_carry_h": "h_not_carried",
                      "cs231n": "gate_order"}.items():
        res = checks.check_lstm_forward(lambda *a, bug=bug: lstm_seq(*a, bug=bug), verbose=False)
        assert res.code == code, (bug, res.message)


def lstm_bptt(dhs, cache, dh_n=None, dc_n=None, bug=None):
    T, B, H = cache.hs.shape
    dh = np.zeros((B, H)) if dh_n is None or bug == "no_final" else dh_n.copy()
    dc = np.zeros((B, H)) if dc_n is None or bug == "no_final" else dc_n.copy()
    dxs = np.zeros_like(cache.xs)
    grads = {k: np.zeros_like(v) for k, v in cache.params.items()}
    for t in reversed(range(T)):
        step = lnp.LSTMStepCache(cache.xs[t], cache.hs[t - 1] if t else cache.h0, cache.cs[t - 1] if t else cache.c0,
                                 cache.gates[t], cache.tanh_cs[t], cache.params)
        dxs[t], dh, dc_new, g = lnp.lstm_step_backward(dhs[t] + dh, dc, step)
        dc = np.zeros_like(dc) if bug == "no_carry_dc" else dc_new
        for k in grads:
            grads[k] = g[k] if bug == "last_only" and k == "W_ih" else grads[k] + g[k]
    return dxs, dh, dc, grads


def test_lstm_backward_reference_and_mistakes():
    assert checks.check_lstm_backward(lnp.lstm_backward, verbose=False).passed
    assert checks.check_lstm_backward(lstm_bptt, verbose=False).passed
    for bug, code in {"no_final": "final_grads_ignored", "no_carry_dc": "dc_not_carried",
                      "last_only": "param_grad"}.items():
        res = checks.check_lstm_backward(lambda *a, bug=bug: lstm_bptt(*a, bug=bug), verbose=False)
        assert res.code == code, (bug, res.message)
    assert "dW_ih" in checks.check_lstm_backward(lambda *a: lstm_bptt(*a, bug="last_only"), verbose=False).message


# ---------------------------------------------------------------------------------------------
# RNN
# ---------------------------------------------------------------------------------------------
def rnn_step(x, h_prev, p, bug=None):
    W_hh = p["W_hh"] if bug == "untransposed" else p["W_hh"].T
    a = x @ p["W_ih"].T + p["b_ih"] + (0 if bug == "no_rec" else h_prev @ W_hh + p["b_hh"])
    return {"no_tanh": a, "sigmoid": sigmoid(a)}.get(bug, np.tanh(a)), None


def rnn_step_back(dh, cache, bug=None):
    da = dh * {"no_grad": 1.0, "one_minus_h": 1 - cache.h}.get(bug, 1 - cache.h ** 2)
    p = cache.params
    grads = {"W_ih": da.T @ cache.x, "W_hh": da.T @ cache.h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
    if bug == "dW_hh_T":
        grads["W_hh"] = cache.h_prev.T @ da
    if bug == "dW_hh_h":
        grads["W_hh"] = da.T @ cache.h
    return da @ p["W_ih"], da @ (p["W_hh"].T if bug == "untransposed" else p["W_hh"]), grads


def test_rnn_checkers():
    assert checks.check_rnn_step_forward(lambda *a: rnn_step(*a), verbose=False).passed
    for bug, code in {"untransposed": "W_hh_untransposed", "no_rec": "no_recurrence", "no_tanh": "no_tanh",
                      "sigmoid": "wrong_activation"}.items():
        res = checks.check_rnn_step_forward(lambda *a, bug=bug: rnn_step(*a, bug=bug), verbose=False)
        assert res.code == code, (bug, res.message)
    assert checks.check_rnn_step_backward(lambda *a: rnn_step_back(*a), verbose=False).passed
    for bug, code in {"no_grad": "rnn_tanh_grad_missing", "one_minus_h": "tanh_grad_from_h",
                      "untransposed": "W_hh_untransposed", "dW_hh_T": "transposed", "dW_hh_h": "param_grad"}.items():
        res = checks.check_rnn_step_backward(lambda *a, bug=bug: rnn_step_back(*a, bug=bug), verbose=False)
        assert res.code == code, (bug, res.message)
    assert checks.check_rnn_forward(lnp.rnn_forward, verbose=False).passed
    assert checks.check_rnn_backward(lnp.rnn_backward, verbose=False).passed

    def no_carry(dhs, cache, dh_n=None):  # BPTT that forgets the gradient arriving from step t + 1
        dhs = dhs.copy()
        if dh_n is not None:
            dhs[-1] += dh_n
        dxs, grads = np.zeros_like(cache.xs), {k: 0.0 for k in cache.params}
        for t in reversed(range(len(dhs))):
            step = lnp.RNNStepCache(cache.xs[t], cache.hs[t - 1] if t else cache.h0, cache.hs[t], cache.params)
            dxs[t], dh_prev, g = lnp.rnn_step_backward(dhs[t], step)
            grads = {k: grads[k] + g[k] for k in grads}
        return dxs, dh_prev, grads
    assert checks.check_rnn_backward(no_carry, verbose=False).code == "dh_not_carried"


# ---------------------------------------------------------------------------------------------
# Finite differences, gradient checks, Jacobians, gradient norms
# ---------------------------------------------------------------------------------------------
def fd(loss, x, eps, bug=None):
    g = np.zeros_like(x)
    for j in np.ndindex(x.shape):
        old = x[j]
        x[j] = old + eps
        up = loss()
        x[j] = old if bug == "forward" else old - eps
        down = loss()
        if bug != "no_restore":
            x[j] = old
        g[j] = (up - down) / (eps if bug in ("forward", "no_half") else 2 * eps)
    return g.ravel() if bug == "flat" else g


def test_numerical_gradient_checker():
    assert checks.check_numerical_gradient(lnp.numerical_gradient, verbose=False).passed
    assert checks.check_numerical_gradient(fd, verbose=False).passed
    for bug, code in {"forward": "forward_difference", "no_half": "missing_half", "no_restore": "modifies_input",
                      "flat": "wrong_shape"}.items():
        res = checks.check_numerical_gradient(lambda *a, bug=bug: fd(*a, bug=bug), verbose=False)
        assert res.code == code, (bug, res.message)


def test_gradcheck_checker_names_the_failing_array():
    assert checks.check_gradcheck(lnp.check_sequence_gradients("rnn"), verbose=False).passed
    res = checks.check_gradcheck({"W_ih": 2e-10, "W_hh": 0.41, "b_ih": 1e-9}, verbose=False)
    assert res.code == "gradcheck_failed" and res.detail["quantity"] == "W_hh" and "0.41" in res.message


def jacobian(x, h_prev, p, bug=None):
    h = np.tanh(preact(x, h_prev, p))
    s = 1 - h ** 2
    J = np.einsum("bj,jk->bjk", s, p["W_hh"])
    return {"T": J.transpose(0, 2, 1), "right": np.einsum("jk,bk->bjk", p["W_hh"], s)}.get(bug, J)


def grad_norms(xs, p, h0, bug=None):
    hs, _, _ = lnp.rnn_forward(xs, p, h0)
    dh = np.ones_like(hs[-1])
    out = [np.linalg.norm(dh)]
    for t in range(len(xs) - 1, -1, -1):
        dh = (dh * (1 - hs[t] ** 2)) @ (p["W_hh"].T if bug == "untransposed" else p["W_hh"])
        out.append(np.linalg.norm(dh))
    return np.array(out if bug == "reversed" else out[::-1])


def test_jacobian_and_gradient_norm_checkers():
    assert checks.check_rnn_step_jacobian(jacobian, verbose=False).passed
    assert checks.check_rnn_step_jacobian(lambda *a: jacobian(*a, bug="T"), verbose=False).code == "jacobian_transposed"
    res = checks.check_rnn_step_jacobian(lambda *a: jacobian(*a, bug="right"), verbose=False)
    assert res.code == "derivative_wrong_side"
    assert checks.check_hidden_gradient_norms(grad_norms, verbose=False).passed
    for bug, code in {"reversed": "reversed", "untransposed": "W_hh_untransposed"}.items():
        res = checks.check_hidden_gradient_norms(lambda *a, bug=bug: grad_norms(*a, bug=bug), verbose=False)
        assert res.code == code, (bug, res.message)


# ---------------------------------------------------------------------------------------------
# PyTorch modules
# ---------------------------------------------------------------------------------------------
class Cell(torch.nn.Module):
    order, bug = "ifgo", None

    def __init__(self, input_size, hidden_size):
        super().__init__()
        H = self.hidden_size = hidden_size
        self.weight_ih = torch.nn.Parameter(torch.randn(4 * H, input_size))
        self.weight_hh = torch.nn.Parameter(torch.randn(4 * H, H))
        self.bias_ih = torch.nn.Parameter(torch.randn(4 * H))
        self.bias_hh = torch.nn.Parameter(torch.randn(4 * H))

    def forward(self, x, hx=None):
        if hx is None:
            hx = (x.new_zeros(x.shape[0], self.hidden_size),) * 2
        h, c = hx
        a = x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh
        parts = dict(zip(self.order, a.chunk(4, dim=1)))
        i, f, o = (torch.sigmoid(parts[k]) for k in "ifo")
        g = torch.tanh(parts["g"])
        c = f * c + i * g
        h = o * (c if self.bug == "no_tanh" else torch.tanh(c))
        return (h.detach(), c) if self.bug == "detach" else (h, c)


class Layer(torch.nn.Module):
    cell_cls, bug = Cell, None

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.cell = self.cell_cls(input_size, hidden_size)

    def forward(self, x, hx=None):
        initial = state = None if hx is None else (hx[0][0], hx[1][0])
        outs = []
        for t in range(x.shape[0]):
            h, c = self.cell(x[t], state)
            state = initial if self.bug == "no_carry" else (h, c)
            outs.append(h)
        return torch.stack(outs), ((h, c) if self.bug == "no_layer_dim" else (h[None], c[None]))


def _sub(base, **attrs):
    return type(base.__name__, (base,), attrs)


def test_torch_checkers():
    assert checks.check_torch_lstm_cell(Cell, verbose=False).passed
    assert checks.check_torch_lstm(Layer, verbose=False).passed
    cases = {
        _sub(Cell, order="ifog"): "gate_order",
        _sub(Cell, bug="no_tanh"): "no_tanh_cell",
        _sub(Cell, bug="detach"): "detached",
        _sub(Cell, forward=lambda self, x, hx: Cell.forward(self, x, hx)): "hx_none",
        _sub(Cell, __init__=lambda self, D, H: torch.nn.Module.__init__(self)): "missing_parameter",
        _sub(Cell, forward=lambda self, x, hx=None: (_ for _ in ()).throw(NotImplementedError())): "not_implemented",
    }
    class NotAModule:
        def __init__(self, input_size, hidden_size):
            pass

    def transposed_init(self, D, H):
        Cell.__init__(self, D, H)
        self.weight_ih = torch.nn.Parameter(torch.randn(D, 4 * H))
    cases[NotAModule] = "not_module"
    cases[_sub(Cell, __init__=transposed_init)] = "wrong_shape"
    for cls, code in cases.items():
        assert checks.check_torch_lstm_cell(cls, verbose=False).code == code, code
    layers = {_sub(Layer, bug="no_carry"): "state_not_carried", _sub(Layer, bug="no_layer_dim"): "wrong_shape",
              _sub(Layer, cell_cls=_sub(Cell, order="ifog")): "gate_order"}
    for cls, code in layers.items():
        assert checks.check_torch_lstm(cls, verbose=False).code == code, code


# ---------------------------------------------------------------------------------------------
# Every built-in mutant is named as itself: no earlier mutant hides it
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", range(len(_lstm_variants.FORWARD_MUTANTS)))
def test_every_forward_mutant_is_distinguishable(k):
    code, detail, kw = _lstm_variants.FORWARD_MUTANTS[k]

    def student(x, h_prev, c_prev, params):
        out = _lstm_variants.step_forward(x, h_prev, c_prev, params, **kw)
        return out["h"], out["c"], None
    res = checks.check_lstm_step_forward(student, verbose=False)
    assert (res.code, res.detail) == (code, detail)


@pytest.mark.parametrize("k", range(len(_lstm_variants.BACKWARD_MUTANTS)))
def test_every_backward_mutant_is_distinguishable(k):
    code, detail, kw = _lstm_variants.BACKWARD_MUTANTS[k]

    def student(dh, dc, c):
        out = _lstm_variants.step_backward(dh, dc, c.x, c.h_prev, c.c_prev, c.gates, c.tanh_c, c.params, **kw)
        grads = {k: out["d" + k] for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
        return out["dx"], out["dh_prev"], out["dc_prev"], grads
    res = checks.check_lstm_step_backward(student, verbose=False)
    assert (res.code, res.detail) == (code, detail)


def test_unmutated_variants_equal_the_package():
    rng = np.random.default_rng(0)
    p = lnp.init_lstm_params(3, 4, rng=rng)
    xs, h0, c0 = rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    hs, (h_n, c_n), cache = lnp.lstm_forward(xs, p, h0, c0)
    out = _lstm_variants.forward(xs, p, h0, c0)
    assert np.allclose(out["hs"], hs, atol=1e-14) and np.allclose(out["c_n"], c_n, atol=1e-14)
    dhs = rng.standard_normal(hs.shape)
    dxs, dh0, dc0, grads = lnp.lstm_backward(dhs, cache, dc_n=c0)
    back = _lstm_variants.backward(dhs, cache, dc_n=c0)
    assert np.allclose(back["dxs"], dxs, atol=1e-13) and np.allclose(back["dc0"], dc0, atol=1e-13)
    assert all(np.allclose(back["d" + k], grads[k], atol=1e-13) for k in grads)


def test_every_code_has_a_message():
    assert all(isinstance(w, str) and isinstance(h, str) and h for w, h in checks.MESSAGES.values())


# ---------------------------------------------------------------------------------------------
# Experiments and the language model
# ---------------------------------------------------------------------------------------------
def test_baseline_checker():
    assert checks.check_baseline_mse(lambda y: ((y - y.mean()) ** 2).mean().item(), verbose=False).passed
    cases = {"baseline_zero": lambda y: (y ** 2).mean().item(), "baseline_unbiased": lambda y: y.var().item(),
             "baseline_std": lambda y: y.std(unbiased=False).item(), "bad_return": lambda y: (y - y.mean()) ** 2}
    for code, fn in cases.items():
        assert checks.check_baseline_mse(fn, verbose=False).code == code, code


def naive_softmax(z, tau):
    e = torch.exp(z / tau)
    return e / e.sum(dim=-1, keepdim=True)


def test_softmax_temperature_checker():
    assert checks.check_softmax_temperature(lambda z, t: torch.softmax(z / t, dim=-1),
                                            verbose=False).passed
    cases = {"softmax_overflow": naive_softmax,
             "temperature_inverted": lambda z, t: torch.softmax(z * t, dim=-1),
             "temperature_ignored": lambda z, t: torch.softmax(z, dim=-1),
             "wrong_axis": lambda z, t: torch.softmax(z / t, dim=0),
             "not_normalised": lambda z, t: torch.exp(z / t)}
    for code, fn in cases.items():
        assert checks.check_softmax_temperature(fn, verbose=False).code == code, code


def sampler(model, vocab, prompt, length, temperature=1.0, generator=None, bug=None):
    from lstm_course.text import softmax_with_temperature
    with torch.no_grad():
        ids = vocab.encode(prompt[-1] if bug == "last_char" else prompt)[:, None]
        logits, state = model(ids)
        out = []
        for _ in range(length):
            nxt = torch.multinomial(softmax_with_temperature(logits[-1], temperature), 1, generator=generator)
            out.append(nxt.item())
            logits, state = model(nxt, None if bug == "no_state" else state)
        text = vocab.decode(out)
        return {"with_prompt": prompt + text, "short": text[:-1]}.get(bug, text)


def test_generate_checker():
    from lstm_course.charlm import generate
    from lstm_course.checks.experiments import VOCAB, peaked_model
    model = peaked_model()
    outs = {generate(model, VOCAB, "abc", 12, 1.0, torch.Generator().manual_seed(s)) for s in range(20)}
    assert len(outs) == 1 and len(set(outs.pop())) >= 4, "a correct sampler's output is fixed, and varied"
    # the package's generate calls text.sample_next, which the check switches off: no credit
    assert checks.check_generate(generate, verbose=False).code == "delegated"
    assert checks.check_generate(sampler, verbose=False).passed
    for bug, code in {"last_char": "prompt_ignored", "no_state": "sample_state_not_carried",
                      "with_prompt": "prompt_returned", "short": "wrong_length"}.items():
        res = checks.check_generate(lambda *a, bug=bug: sampler(*a, bug=bug), verbose=False)
        assert res.code == code, (bug, res.message)


def test_not_implemented_names_the_function_that_raised():
    def step(x, h_prev, params):
        raise NotImplementedError()

    def forward(xs, params, h0=None):
        return step(xs[0], h0, params)
    res = checks.check_rnn_forward(forward, verbose=False)
    assert res.code == "not_implemented" and "it calls step, which still raises" in res.message
    res = checks.check_gradcheck(lambda: forward(np.zeros((1, 1, 1)), {}), verbose=False)
    assert res.code == "not_implemented"
