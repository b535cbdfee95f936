"""Tests for lstm_course.probes: clamping a cell unit, and forget-gate time scales."""
import math

import numpy as np
import pytest
import torch

from lstm_course.charlm import CharLM, lstm_trace
from lstm_course.probes import clamped_next_char_probs, forget_time_scales


def _model(seed=0):
    torch.manual_seed(seed)
    return CharLM(7, 5, "lstm", embedding_dim=3)


def test_without_a_clamp_the_probabilities_are_the_models():
    model = _model()
    ids = torch.tensor([1, 4, 2, 0, 6, 3, 3, 5])
    with torch.no_grad():
        expected = torch.softmax(model(ids[:, None])[0][:, 0], dim=-1)  # (N, V)
    got = clamped_next_char_probs(model, ids)
    assert got.shape == (8, 7) and torch.allclose(got, expected, atol=1e-6, rtol=0)


def test_clamping_a_units_cell_to_zero_silences_its_output():
    model = _model(1)
    j = 2
    with torch.no_grad():  # the read-out sees only unit j
        model.readout.weight.zero_()
        model.readout.weight[:, j] = torch.arange(7.0)
    ids = torch.tensor([3, 1, 4, 1, 5])
    p = clamped_next_char_probs(model, ids, unit=j, value=0.0)  # h_j = o_j tanh(0) = 0
    assert torch.allclose(p, torch.softmax(model.readout.bias, dim=0).expand(5, 7), atol=1e-6)
    p_other = clamped_next_char_probs(model, ids, unit=0, value=0.0)  # unit 0 reaches the read-out
    p_free = clamped_next_char_probs(model, ids)  # only through the next steps' gates
    assert torch.allclose(p_other[0], p_free[0], atol=1e-6) and not torch.allclose(p_other, p_free)


def test_time_scales_from_constant_forget_gates():
    H, N = 3, 10
    gates = torch.full((N, 4 * H), 0.3)
    gates[:, H:2 * H] = torch.tensor([0.5, math.exp(-1 / 100), 1.0])
    tau = forget_time_scales(gates)
    np.testing.assert_allclose(tau[:2], [1 / math.log(2), 100.0], rtol=1e-6)
    assert tau[2] == np.inf


def test_time_scales_of_a_traced_model_are_positive():
    model = _model(2)
    tau = forget_time_scales(lstm_trace(model, torch.tensor([1, 2, 3, 4, 5, 6, 0])).gates)
    assert tau.shape == (5,) and np.all(tau > 0)


def test_bad_input_is_refused():
    model = _model()
    ids = torch.tensor([1, 2])
    with pytest.raises(ValueError, match=r"unit must be None or an integer in \[0, 4\]; got 5"):
        clamped_next_char_probs(model, ids, unit=5)
    with pytest.raises(TypeError, match="value must be a finite number; got nan"):
        clamped_next_char_probs(model, ids, unit=0, value=float("nan"))
    with pytest.raises(ValueError, match="needs an LSTM model; got cell='gru'"):
        clamped_next_char_probs(CharLM(7, 5, "gru"), ids)
    with pytest.raises(ValueError, match=r"gates must be a \(N, 4H\) tensor"):
        forget_time_scales(torch.zeros(3, 6))
