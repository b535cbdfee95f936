"""Tests for SequenceModel.from_layer: any layer with torch.nn.LSTM's contract in the same harness."""
import pytest
import torch
from torch import nn

from lstm_course.models import SequenceModel
from lstm_course.torch import GRU, LSTM, RNN


def test_builtin_construction_keeps_its_random_draws():
    """The refactoring must not move a draw: nn layer first, then the read-out."""
    torch.manual_seed(0)
    model = SequenceModel("lstm", 2, 6, 1)
    torch.manual_seed(0)
    layer, readout = nn.LSTM(2, 6), nn.Linear(6, 1)
    assert torch.equal(model.rnn.weight_hh_l0, layer.weight_hh_l0)
    assert torch.equal(model.readout.weight, readout.weight) and torch.equal(model.readout.bias, readout.bias)


@pytest.mark.parametrize("cell, package_type", [("rnn", RNN), ("lstm", LSTM), ("gru", GRU)])
def test_from_layer_matches_the_builtin_model_and_unrolls(cell, package_type):
    torch.manual_seed(1)
    builtin = SequenceModel(cell, 3, 5, 2).double()
    layer = package_type.from_torch(builtin.rnn)
    model = SequenceModel.from_layer(layer, 2).double()
    model.readout.load_state_dict(builtin.readout.state_dict())
    assert model.rnn is layer and model.cell is None
    assert (model.input_size, model.hidden_size, model.output_size) == (3, 5, 2)
    assert model.num_parameters() == builtin.num_parameters()
    x = torch.randn(7, 4, 3, dtype=torch.float64)
    lengths = torch.tensor([7, 2, 5, 1])
    torch.testing.assert_close(model(x, lengths), builtin(x, lengths), atol=1e-12, rtol=0)
    assert model(x, all_steps=True).shape == (7, 4, 2)
    # unroll: same output, and dL/dh_t through every later step, as the built-in path gives
    out, hs = model.unroll(x, lengths)
    out_ref, hs_ref = builtin.unroll(x, lengths)
    torch.testing.assert_close(out, out_ref, atol=1e-12, rtol=0)
    grads = torch.autograd.grad(out.pow(2).sum(), hs)
    grads_ref = torch.autograd.grad(out_ref.pow(2).sum(), hs_ref)
    for g, g_ref in zip(grads, grads_ref):
        torch.testing.assert_close(g, g_ref, atol=1e-12, rtol=0)
    assert grads[0].abs().sum() > 0  # the first step's gradient arrives through all later steps


def test_from_layer_takes_a_variant_and_trains():
    torch.manual_seed(0)
    model = SequenceModel.from_layer(LSTM(2, 4, coupled=True), 1)
    x, y = torch.randn(5, 3, 2), torch.randn(3, 1)
    nn.functional.mse_loss(model(x), y).backward()
    assert model.rnn.weight_hh_l0.grad is not None and model.readout.weight.grad is not None
    assert "from_layer" in repr(model) and SequenceModel.from_layer(GRU(2, 4, reset_after=False), 3)(x).shape == (3, 3)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: SequenceModel.from_layer("lstm", 1), TypeError, "layer must be a torch.nn.Module"),
        (lambda: SequenceModel.from_layer(nn.Linear(2, 3), 1), TypeError, "int attribute input_size"),
        (lambda: SequenceModel.from_layer(nn.LSTM(2, 3, batch_first=True), 1), ValueError, "batch_first"),
        (lambda: SequenceModel.from_layer(nn.LSTM(2, 3, num_layers=2), 1), ValueError, "num_layers"),
        (lambda: SequenceModel.from_layer(nn.GRU(2, 3, bidirectional=True), 1), ValueError, "bidirectional"),
        (lambda: SequenceModel.from_layer(nn.LSTM(2, 3), 0), ValueError, "output_size must be at least 1"),
        (lambda: SequenceModel.from_layer(nn.LSTM(2, 3), 1.0), TypeError, "output_size must be an int"),
    ],
)
def test_from_layer_bad_arguments(call, error, words):
    with pytest.raises(error, match=words) as info:
        call()
    assert "got" in str(info.value)
