"""No credit for delegating: a submission that hands its work to the package's reference fails, and
the checker says which function it called; the reference typed out by the student passes, and the
traps leave the package as they found it.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

import lstm_course.numpy as real
from lstm_course import charlm, checks, tasks
from lstm_course import torch as ltorch
from lstm_course.checks import _traps
from lstm_course.numpy import fast
from lstm_course.numpy import lstm_step_forward as renamed_before_the_check

from ._reference import student_copy


def _assert_delegated(result, function: str):
    assert not result.passed and result.code == "delegated", result.message
    assert "no credit" in result.message and function in result.message, result.message


def _wrapper(x, h_prev, c_prev, params):
    return renamed_before_the_check(x, h_prev, c_prev, params)


def _outer(*args):  # a wrapper around a wrapper
    return _wrapper(*args)


def _swallows(x, h_prev, c_prev, params):
    """Tries the reference, and falls back on a wrong answer when it fails: still delegating."""
    try:
        return real.lstm_step_forward(x, h_prev, c_prev, params)
    except BaseException:  # noqa: BLE001 - the point of the test
        return np.zeros_like(h_prev), np.zeros_like(c_prev), None


NUMPY_DELEGATES = {
    "a one-line wrapper": (checks.check_lstm_step_forward, _wrapper, "lstm_course.numpy.lstm_step_forward"),
    "a wrapper of a wrapper": (checks.check_lstm_step_forward, _outer, "lstm_step_forward"),
    "a partial": (checks.check_lstm_step_forward, functools.partial(real.lstm_step_forward), "lstm_step_forward"),
    "the exception swallowed": (checks.check_lstm_step_forward, _swallows, "lstm_step_forward"),
    "the step through the sequence": (
        checks.check_lstm_step_forward,
        lambda x, h, c, p: (lambda hs, hc, cache: (hs[0], hc[1], cache))(*real.lstm_forward(x[None], p, h, c)),
        "lstm_course.numpy.lstm_forward"),
    "the tuned LSTM": (checks.check_lstm_forward, lambda *a: fast.lstm_forward(*a),
                       "lstm_course.numpy.fast.lstm_forward"),
    "the LSTM backward": (checks.check_lstm_backward, lambda *a: real.lstm_backward(*a), "lstm_backward"),
    "the LSTM step backward": (checks.check_lstm_step_backward, lambda *a: real.lstm_step_backward(*a),
                               "lstm_step_backward"),
    "the RNN step": (checks.check_rnn_step_forward, lambda *a: real.rnn_step_forward(*a), "rnn_step_forward"),
    "the RNN sequence": (checks.check_rnn_forward, lambda *a: real.rnn_forward(*a), "rnn_forward"),
    "the RNN step backward": (checks.check_rnn_step_backward, lambda *a: real.rnn_step_backward(*a),
                              "rnn_step_backward"),
    "BPTT": (checks.check_rnn_backward, lambda *a: real.rnn_backward(*a), "lstm_course.numpy.rnn_backward"),
    "central differences": (checks.check_numerical_gradient, lambda *a: real.numerical_gradient(*a),
                            "numerical_gradient"),
    "the Jacobian from the backward pass": (
        checks.check_rnn_step_jacobian,
        lambda x, h, p: np.stack([np.stack([real.rnn_step_backward(
            np.eye(h.shape[1])[j][None].repeat(h.shape[0], 0), real.rnn_step_forward(x, h, p)[1])[1]
            for j in range(h.shape[1])], axis=1)]).squeeze(0),
        "rnn_step_backward"),
    "the adding problem's baseline": (checks.check_baseline_mse, lambda y: tasks.adding_baseline_mse(),
                                      "lstm_course.tasks.adding_baseline_mse"),
}


@pytest.mark.parametrize("case", NUMPY_DELEGATES)
def test_a_function_that_calls_the_reference_gets_no_credit(case):
    checker, submission, function = NUMPY_DELEGATES[case]
    _assert_delegated(checker(submission, verbose=False), function)


def test_the_reference_typed_out_passes_and_allowed_helpers_stay_allowed():
    copy = student_copy("lstm_course.numpy.lstm")
    assert checks.check_lstm_step_forward(copy.lstm_step_forward, verbose=False).passed
    assert checks.check_lstm_backward(copy.lstm_backward, verbose=False).passed
    # Lab 2 lets the Jacobian call the package's forward step: only the answer's own functions are traps.
    def jacobian(x, h_prev, params):
        h, _ = real.rnn_step_forward(x, h_prev, params)
        return (1.0 - h ** 2)[:, :, None] * params["W_hh"][None]
    assert checks.check_rnn_step_jacobian(jacobian, verbose=False).passed


def test_a_gradient_check_on_the_package_backward_gets_no_credit():
    def gradient_check():
        gen = np.random.default_rng(0)
        params = real.init_lstm_params(3, 4, rng=gen)
        xs = gen.standard_normal((3, 2, 3))
        hs, _, cache = real.lstm_forward(xs, params)
        grads = real.lstm_backward(np.ones_like(hs), cache)[3]
        return real.gradcheck(lambda: float(real.lstm_forward(xs, params)[0].sum()), params, grads)
    _assert_delegated(checks.check_gradcheck(gradient_check, verbose=False), "lstm_forward")


class WrapsTorchCell(torch.nn.Module):
    """An 'LSTM cell' that is torch's own."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.cell = torch.nn.LSTMCell(input_size, hidden_size)

    def forward(self, x, hx=None):
        return self.cell(x, hx)


class SubclassOfTheCourse(ltorch.LSTMCell):
    """The course's own cell, renamed."""


class CallsTheFunctional(WrapsTorchCell):
    def forward(self, x, hx=None):
        hx = hx if hx is not None else (x.new_zeros(x.shape[0], self.cell.hidden_size),) * 2
        return torch.lstm_cell(x, hx, self.cell.weight_ih, self.cell.weight_hh, self.cell.bias_ih, self.cell.bias_hh)


class LayerOnTorchLSTM(torch.nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size, hidden_size)

    def forward(self, x, hx=None):
        return self.lstm(x, hx)


@pytest.mark.parametrize("cls, function", [
    (WrapsTorchCell, "torch.nn.LSTMCell.forward"), (CallsTheFunctional, "torch.lstm_cell"),
    (SubclassOfTheCourse, "LSTMCell.forward")], ids=["nn.LSTMCell", "torch.lstm_cell", "course cell"])
def test_a_torch_cell_that_is_torch_or_the_course_gets_no_credit(cls, function):
    _assert_delegated(checks.check_torch_lstm_cell(cls, verbose=False), function)


def test_a_torch_layer_that_is_nn_lstm_gets_no_credit():
    _assert_delegated(checks.check_torch_lstm(LayerOnTorchLSTM, verbose=False), "torch.nn.LSTM.forward")


def test_generate_that_calls_the_package_gets_no_credit():
    def generate(model, vocab, prompt, length, temperature=1.0, generator=None):
        return charlm.generate(model, vocab, prompt, length, temperature, generator)
    _assert_delegated(checks.check_generate(generate, verbose=False), "lstm_course.charlm.generate")


def test_the_traps_are_removed_afterwards_even_when_the_code_raises():
    rng = np.random.default_rng(0)
    params = real.init_lstm_params(3, 4, rng=rng)
    xs = rng.standard_normal((2, 1, 3))
    before = real.lstm_forward(xs, params)[0]

    def raises(*a):
        raise ValueError("a student's bug")
    with pytest.raises(ValueError, match="a student's bug"):
        with _traps.trapped(_traps.forbidden("lstm", "rnn")):
            raises()
    assert np.array_equal(real.lstm_forward(xs, params)[0], before)
    assert torch.lstm_cell is not None and torch.nn.LSTMCell(3, 4)(torch.zeros(1, 3))[0].shape == (1, 4)
    with _traps.trapped(_traps.forbidden("lstm")) as calls:
        with pytest.raises(_traps.Delegated, match="lstm_forward"):
            real.lstm_forward(xs, params)
    assert calls == ["lstm_course.numpy.lstm_forward"]
    assert np.array_equal(real.lstm_forward(xs, params)[0], before)


def test_every_trapped_name_resolves():
    """A renamed package function would silently stop being a trap: every lstm_course name resolves."""
    for family in _traps.FAMILIES:
        for spec in _traps.forbidden(family):
            if spec.startswith("lstm_course"):
                assert _traps._resolve(spec) is not None, spec
    with pytest.raises(ValueError, match="unknown family 'lsmt'"):
        _traps.forbidden("lsmt")
