"""lstm_course.gate_bias: one forget/input-bias initialiser for NumPy dicts and torch modules."""
import numpy as np
import pytest
import torch

import lstm_course.torch as lt
from lstm_course.charlm import CharLM
from lstm_course.gate_bias import set_gate_bias
from lstm_course.models import SequenceModel
from lstm_course.numpy import init_lstm_params

H = 3


@pytest.mark.parametrize("make", [
    lambda: init_lstm_params(2, H, rng=0),
    lambda: torch.nn.LSTM(2, H),
    lambda: torch.nn.LSTMCell(2, H),
    lambda: lt.LSTM(2, H),
], ids=["numpy", "nn.LSTM", "nn.LSTMCell", "lstm_course.torch.LSTM"])
@pytest.mark.parametrize("gate,block", [("i", 0), ("f", 1), ("o", 3)])
def test_the_gate_rows_sum_to_the_value_and_nothing_else_moves(make, gate, block):
    target = make()

    def biases():
        if isinstance(target, dict):
            return target["b_ih"].copy(), target["b_hh"].copy()
        suffix = "_l0" if hasattr(target, "bias_ih_l0") else ""
        return (getattr(target, "bias_ih" + suffix).detach().numpy().copy(),
                getattr(target, "bias_hh" + suffix).detach().numpy().copy())
    b_ih, b_hh = biases()
    set_gate_bias(target, gate, 2.5, H)
    new_ih, new_hh = biases()
    rows = slice(block * H, (block + 1) * H)
    assert np.all(new_ih[rows] == 2.5) and np.all(new_hh[rows] == 0.0)
    rest = np.ones(4 * H, bool)
    rest[rows] = False
    assert np.array_equal(new_ih[rest], b_ih[rest]) and np.array_equal(new_hh[rest], b_hh[rest])


def test_every_model_uses_it():
    """The four places that take a forget bias all set the same rows the same way."""
    expected = np.r_[np.zeros(H), np.full(H, 1.5)]  # [b_ih + b_hh] of the i and f blocks, i left as is
    models = {"numpy": init_lstm_params(2, H, rng=0, forget_bias=1.5),
              "SequenceModel": SequenceModel("lstm", 2, H, 1, forget_bias=1.5).rnn,
              "CharLM": CharLM(5, H, "lstm", forget_bias=1.5).rnn,
              "lstm_course.torch.LSTM": lt.LSTM(2, H, forget_bias=1.5)}
    for name, m in models.items():
        if isinstance(m, dict):
            total = m["b_ih"] + m["b_hh"]
        else:
            total = (m.bias_ih_l0 + m.bias_hh_l0).detach().numpy()
        np.testing.assert_array_equal(total[H:2 * H], expected[H:], err_msg=name)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"gate must be one of \['f', 'g', 'i', 'n', 'o', 'r', 'z'\]; got 'x'"):
        set_gate_bias(init_lstm_params(2, H, rng=0), "x", 1.0, H)
    with pytest.raises(TypeError, match="the f gate's bias must be None or a finite number; got nan"):
        set_gate_bias(init_lstm_params(2, H, rng=0), "f", float("nan"), H)
    with pytest.raises(TypeError, match="target must be a parameter dict or a recurrent module with biases; got Linear"):
        set_gate_bias(torch.nn.Linear(2, 2), "f", 1.0, H)
    with pytest.raises(TypeError, match="forget_bias must be None or a finite number; got True"):
        init_lstm_params(2, H, forget_bias=True)
