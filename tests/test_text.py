"""Tests for lstm_course.text and lstm_course.plots_text: corpus, vocabulary, TBPTT batching, sampling, features."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lstm_course.plots_text import NEWLINE_GLYPH, char_heatmap, text_grid  # noqa: E402
from lstm_course.text import (  # noqa: E402
    TEXTS,
    Vocab,
    batchify,
    char_features,
    load_text,
    num_windows,
    sample_next,
    softmax_with_temperature,
    tbptt_window,
    train_val_split,
)


# --- the shipped text ---------------------------------------------------------------------------

def test_load_text_ships_the_public_domain_novel():
    text = load_text()
    assert text.startswith("PRIDE AND PREJUDICE\n")
    assert "It is a truth universally acknowledged" in text
    assert 150_000 < len(text) < 300_000  # a few hundred kB at most
    assert text.isascii() and "\r" not in text
    assert load_text(max_chars=100) == text[:100]
    assert TEXTS == ("pride_and_prejudice",)


@pytest.mark.parametrize("kwargs, err, match", [
    ({"name": "moby_dick"}, ValueError, "one of"),
    ({"max_chars": 0}, ValueError, "at least 1"),
    ({"max_chars": 1.5}, TypeError, "int"),
])
def test_load_text_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        load_text(**kwargs)


# --- vocabulary ---------------------------------------------------------------------------------

def test_vocab_round_trip_and_order():
    text = load_text(max_chars=5000)
    vocab = Vocab.from_text(text)
    assert list(vocab.chars) == sorted(set(text))
    ids = vocab.encode(text)
    assert ids.dtype == torch.int64 and ids.shape == (len(text),)
    assert vocab.decode(ids) == text
    assert vocab.decode(ids.numpy()) == text and vocab.decode(ids.tolist()) == text
    assert vocab.decode([]) == ""
    assert len(vocab) == len(set(text)) and "characters" in repr(vocab)


def test_vocab_bad_input():
    vocab = Vocab("abc")
    with pytest.raises(ValueError, match="'z' is not in the vocabulary"):
        vocab.encode("abz")
    with pytest.raises(TypeError, match="str"):
        vocab.encode(b"abc")
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        vocab.decode([0, 3])
    with pytest.raises(ValueError, match="1-D"):
        vocab.decode(torch.zeros(2, 2, dtype=torch.int64))
    with pytest.raises(TypeError, match="integers"):
        vocab.decode(np.array([0.5]))
    with pytest.raises(ValueError, match="distinct"):
        Vocab("aba")
    with pytest.raises(ValueError, match="at least one"):
        Vocab("")
    with pytest.raises(TypeError, match="str"):
        Vocab.from_text(["a", "b"])


# --- splitting and batching ---------------------------------------------------------------------

def test_train_val_split_is_contiguous():
    ids = torch.arange(1000)
    train, val = train_val_split(ids, 0.1)
    assert len(train) == 900 and len(val) == 100
    assert torch.equal(torch.cat([train, val]), ids)


@pytest.mark.parametrize("fraction, err", [(0.0, ValueError), (1.0, ValueError), (True, TypeError), ("0.1", TypeError)])
def test_train_val_split_bad_fraction(fraction, err):
    with pytest.raises(err, match="val_fraction"):
        train_val_split(torch.arange(100), fraction)


def test_train_val_split_bad_ids():
    with pytest.raises(TypeError, match="int64"):
        train_val_split(torch.arange(10.0), 0.5)
    with pytest.raises(TypeError, match="LongTensor"):
        train_val_split(list(range(10)), 0.5)
    with pytest.raises(ValueError, match="at least 2"):
        train_val_split(torch.arange(3), 0.1)


def test_batchify_columns_are_contiguous_slices():
    ids = torch.arange(103)
    data = batchify(ids, 4)
    assert data.shape == (25, 4) and data.dtype == torch.int64  # 3 characters dropped
    for b in range(4):
        assert torch.equal(data[:, b], ids[b * 25:(b + 1) * 25])
    assert torch.equal(batchify(ids, 4), data)  # deterministic


def test_batchify_bad_input():
    with pytest.raises(ValueError, match="at least 1"):
        batchify(torch.arange(10), 0)
    with pytest.raises(TypeError, match="int"):
        batchify(torch.arange(10), 2.0)
    with pytest.raises(ValueError, match="fewer than 2"):
        batchify(torch.arange(10), 6)
    with pytest.raises(ValueError, match=r"\(N,\)"):
        batchify(torch.zeros(4, 4, dtype=torch.int64), 2)


@pytest.mark.parametrize("L, bptt", [(25, 8), (25, 6), (25, 24), (25, 100), (2, 1)])
def test_tbptt_windows_tile_the_stream(L, bptt):
    data = batchify(torch.arange(L * 3), 3)  # (L, 3)
    n = num_windows(data, bptt)
    xs, ys = zip(*(tbptt_window(data, k, bptt) for k in range(n)))
    assert all(x.shape == y.shape and x.shape[0] <= bptt and x.shape[1] == 3 for x, y in zip(xs, ys))
    assert torch.equal(torch.cat(xs), data[:-1])  # every input row once, in order
    assert torch.equal(torch.cat(ys), data[1:])  # targets: the next character
    assert all(x.shape[0] == bptt for x in xs[:-1])


def test_tbptt_window_bad_input():
    data = batchify(torch.arange(30), 3)  # (10, 3): 9 input rows
    assert num_windows(data, 4) == 3
    with pytest.raises(ValueError, match="below num_windows = 3"):
        tbptt_window(data, 3, 4)
    with pytest.raises(ValueError, match="at least 0"):
        tbptt_window(data, -1, 4)
    with pytest.raises(ValueError, match="at least 1"):
        num_windows(data, 0)
    with pytest.raises(ValueError, match=r"\(L, B\)"):
        num_windows(torch.arange(10), 2)


# --- sampling -----------------------------------------------------------------------------------

def test_softmax_with_temperature_limits():
    logits = torch.tensor([[1.0, 2.0, 0.5, -1.0]], dtype=torch.float64)
    p1 = softmax_with_temperature(logits, 1.0)
    torch.testing.assert_close(p1, torch.softmax(logits, -1))
    cold = softmax_with_temperature(logits, 1e-3)
    torch.testing.assert_close(cold, torch.tensor([[0.0, 1.0, 0.0, 0.0]], dtype=torch.float64))
    hot = softmax_with_temperature(logits, 1e6)
    torch.testing.assert_close(hot, torch.full_like(hot, 0.25), atol=1e-5, rtol=0)
    # a lower temperature sharpens: the most likely character gets more probability
    assert softmax_with_temperature(logits, 0.5)[0, 1] > p1[0, 1] > softmax_with_temperature(logits, 2.0)[0, 1]


@pytest.mark.parametrize("tau, err", [(0.0, ValueError), (-1.0, ValueError), (float("inf"), ValueError),
                                      (True, TypeError), ("1", TypeError)])
def test_softmax_with_temperature_bad_temperature(tau, err):
    with pytest.raises(err, match="temperature"):
        softmax_with_temperature(torch.zeros(1, 3), tau)


def test_softmax_with_temperature_bad_logits():
    with pytest.raises(TypeError, match="floating-point"):
        softmax_with_temperature(torch.zeros(1, 3, dtype=torch.int64), 1.0)


def test_sample_next_is_reproducible_and_follows_the_distribution():
    logits = torch.log(torch.tensor([[0.1, 0.6, 0.3]])).expand(4000, 3)
    a = sample_next(logits, 1.0, torch.Generator().manual_seed(0))
    b = sample_next(logits, 1.0, torch.Generator().manual_seed(0))
    assert a.shape == (4000,) and a.dtype == torch.int64 and torch.equal(a, b)
    freq = torch.bincount(a, minlength=3).double() / 4000
    torch.testing.assert_close(freq, torch.tensor([0.1, 0.6, 0.3], dtype=torch.float64), atol=0.03, rtol=0)
    with pytest.raises(ValueError, match=r"\(B, V\)"):
        sample_next(torch.zeros(3), 1.0)


# --- features -----------------------------------------------------------------------------------

def test_char_features_on_a_small_text():
    text = 'ab "cd" e\n"f\n\ng_h_'
    feats = char_features(text)
    assert all(v.shape == (len(text),) and v.dtype == np.float64 for v in feats.values())
    np.testing.assert_array_equal(feats["position in line"], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 0, 0, 1, 2, 3])
    # opening quote counts as inside, closing one as outside; a blank line closes an open quote
    np.testing.assert_array_equal(feats["inside quotes"], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(feats["inside italics"], [0] * 15 + [1, 1, 0])
    np.testing.assert_array_equal(feats["word boundary"], [0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(feats["vowel"], [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(feats["position in word"], [1, 2, 0, 0, 1, 2, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0])
    with pytest.raises(TypeError, match="non-empty str"):
        char_features("")


# --- character heat maps ------------------------------------------------------------------------

def test_text_grid_rows_follow_lines_and_wrap():
    rows, cols, n_rows, n_cols = text_grid("abc\nde\nfghij", max_cols=4)
    np.testing.assert_array_equal(rows, [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3])
    np.testing.assert_array_equal(cols, [0, 1, 2, 3, 0, 1, 2, 0, 1, 2, 3, 0])
    assert (n_rows, n_cols) == (4, 4)
    with pytest.raises(ValueError, match="max_cols"):
        text_grid("abc", max_cols=0)


def test_char_heatmap_draws_every_character():
    text = "ab\ncd"
    fig = char_heatmap(text, np.array([-1.0, 0.0, 0.5, 1.0, 0.2]), title="unit 0")
    drawn = [t.get_text() for t in fig.axes[0].texts]
    assert drawn == ["a", "b", NEWLINE_GLYPH, "c", "d"]
    assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()
    plt.close(fig)
    with pytest.raises(ValueError, match=r"shape \(len\(text\),\) = \(5,\)"):
        char_heatmap(text, np.zeros(4))
