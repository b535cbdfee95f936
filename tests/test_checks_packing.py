"""The checkers of the variable-length lab: padding, the masked mean and the bidirectional classifier.

Each wrong submission is written as a student would write it, independently of the mutants.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lstm_course import checks
from lstm_course.models import SequenceModel


def pad_batch(seqs, bug=None):
    if bug == "sorted":
        seqs = sorted(seqs, key=len, reverse=True)
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.int64)
    x = torch.zeros(int(lengths.max()), len(seqs), seqs[0].shape[1], dtype=seqs[0].dtype)
    for b, s in enumerate(seqs):
        x[: len(s), b] = s
    if bug == "batch_first":
        x = x.transpose(0, 1)
    if bug == "int32":
        lengths = lengths.int()
    return x, lengths


@pytest.mark.parametrize("bug, code", [(None, "ok"), ("sorted", "sorted_batch"), ("batch_first", "wrong_shape"),
                                       ("int32", "bad_return")])
def test_pad_batch(bug, code):
    res = checks.check_pad_batch(lambda seqs: pad_batch(seqs, bug), verbose=False)
    assert res.code == code, res.message


def test_pad_batch_with_torch_pad_sequence_passes():
    def pad(seqs):
        return nn.utils.rnn.pad_sequence(seqs), torch.tensor([len(x) for x in seqs])
    assert checks.check_pad_batch(pad, verbose=False).passed


def masked_mean(outputs, lengths, bug=None):
    steps = torch.arange(outputs.shape[0])[:, None]
    mask = (steps <= lengths[None, :] if bug == "<=" else steps < lengths[None, :]).to(outputs.dtype)
    total = (outputs * mask[..., None]).sum(dim=0)
    if bug == "sum":
        return total
    if bug == "T":
        return total / outputs.shape[0]
    if bug == "padding":
        return outputs.mean(dim=0)
    return total / lengths[:, None]


@pytest.mark.parametrize("bug, code", [(None, "ok"), ("<=", "mask_one_long"), ("sum", "sum_not_mean"),
                                       ("T", "divided_by_T"), ("padding", "mean_over_padding")])
def test_masked_mean(bug, code):
    res = checks.check_masked_mean(lambda o, l: masked_mean(o, l, bug), verbose=False)
    assert res.code == code, res.message


class BiLSTMClassifier(nn.Module):
    bug = None

    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, bidirectional=True)
        self.head = nn.Linear(2 * hidden_size, num_classes)

    def forward(self, x, lengths):
        B = x.shape[1]
        if self.bug == "unpacked_last":
            return self.head(self.lstm(x)[0][-1])
        packed = pack_padded_sequence(x, lengths, enforce_sorted=self.bug == "sorted")
        out, (h_n, _) = self.lstm(packed)
        if self.bug == "view":
            return self.head(h_n.view(B, -1))
        if self.bug == "last_valid":
            out, _ = pad_packed_sequence(out)
            return self.head(out[lengths - 1, torch.arange(B)])
        return self.head(torch.cat([h_n[0], h_n[1]], dim=1))


def _variant(bug):
    return type(f"BiLSTM_{bug}", (BiLSTMClassifier,), {"bug": bug})


@pytest.mark.parametrize("bug, code", [(None, "ok"), ("unpacked_last", "padded_last_step"), ("view", "h_n_view"),
                                       ("last_valid", "last_valid_both_halves"), ("sorted", "enforce_sorted")])
def test_bilstm_classifier(bug, code):
    res = checks.check_bilstm_classifier(_variant(bug), verbose=False)
    assert res.code == code, res.message


def test_bilstm_classifier_structure():
    class OneWay(BiLSTMClassifier):
        def __init__(self, D, H, C):
            super().__init__(D, H, C)
            self.lstm = nn.LSTM(D, H)
    res = checks.check_bilstm_classifier(OneWay, verbose=False)
    assert res.code == "bad_return" and "bidirectional=False" in res.message

    class Delegates(nn.Module):
        def __init__(self, D, H, C):
            super().__init__()
            self.model = SequenceModel("lstm", D, H, C)
            self.lstm, self.head = nn.LSTM(D, H, bidirectional=True), nn.Linear(2 * H, C)

        def forward(self, x, lengths):
            self.model(x.float(), lengths)
            return torch.zeros(x.shape[1], self.head.out_features, dtype=x.dtype)
    res = checks.check_bilstm_classifier(Delegates, verbose=False)  # the course's model brings a second LSTM
    assert res.code == "bad_return" and "holds 2 nn.LSTM" in res.message, res.message
