"""Tests for lstm_course.weights: save and load round trip, what is refused."""
import pickle

import pytest
import torch

from lstm_course.weights import load_weights, save_weights


def test_saved_weights_load_into_a_fresh_model_exactly(tmp_path):
    torch.manual_seed(0)
    trained = torch.nn.LSTM(3, 5)
    path = save_weights("toy_lstm", trained, tmp_path)
    assert path == tmp_path / "toy_lstm.pt"
    torch.manual_seed(1)
    fresh = torch.nn.LSTM(3, 5)
    assert not torch.equal(fresh.weight_hh_l0, trained.weight_hh_l0)
    assert load_weights("toy_lstm", fresh, tmp_path) is fresh
    for (key, a), (_, b) in zip(trained.state_dict().items(), fresh.state_dict().items()):
        assert torch.equal(a, b), key


def test_a_model_of_another_shape_or_a_file_with_objects_is_refused(tmp_path):
    save_weights("toy_lstm", torch.nn.LSTM(3, 5), tmp_path)
    with pytest.raises(RuntimeError, match="size mismatch"):
        load_weights("toy_lstm", torch.nn.LSTM(3, 6), tmp_path)
    torch.save({"weight": torch.ones(2), "payload": ValueError("not a tensor")}, tmp_path / "odd.pt")
    with pytest.raises(pickle.UnpicklingError):
        load_weights("odd", torch.nn.Linear(2, 1), tmp_path)


def test_bad_names_and_missing_weights_are_refused(tmp_path):
    with pytest.raises(ValueError, match="name must be"):
        save_weights("../escape", torch.nn.Linear(2, 1), tmp_path)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        save_weights("ok", {"weight": torch.ones(1)}, tmp_path)
    with pytest.raises(ValueError, match="no shipped weights named 'absent'"):
        load_weights("absent", torch.nn.Linear(2, 1))
