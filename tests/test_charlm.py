"""Tests for lstm_course.charlm: shapes, TBPTT state, perplexity, training, sampling, traces, saving."""
import math
import pickle

import numpy as np
import pytest
import torch

from lstm_course.charlm import (
    CharLM,
    LMHistory,
    detach_state,
    generate,
    load_charlm,
    lstm_trace,
    perplexity,
    save_charlm,
    train_charlm,
    unit_correlations,
)
from lstm_course.models import count_parameters, matched_hidden_size
from lstm_course.text import Vocab, batchify

V = 11


@pytest.fixture(autouse=True)
def one_thread():
    """Small recurrent models gain nothing from intra-op threads, and lose a lot on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make(cell="lstm", H=8, seed=0, **kw):
    torch.manual_seed(seed)
    return CharLM(V, H, cell, embedding_dim=5, **kw)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_forward_shapes_and_state(cell):
    model = make(cell)
    x = torch.randint(0, V, (7, 3), generator=torch.Generator().manual_seed(1))
    logits, state = model(x)
    assert logits.shape == (7, 3, V)
    states = state if cell == "lstm" else (state,)
    assert all(s.shape == (1, 3, 8) for s in states)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_carried_state_continues_the_sequence(cell):
    """TBPTT's premise: two windows with the state carried give what one long run gives."""
    model = make(cell)
    x = torch.randint(0, V, (10, 2), generator=torch.Generator().manual_seed(2))
    full, _ = model(x)
    first, state = model(x[:4])
    second, _ = model(x[4:], detach_state(state))
    torch.testing.assert_close(torch.cat([first, second]), full)
    # without the carried state the second window is a different computation
    fresh, _ = model(x[4:])
    assert not torch.allclose(fresh, full[4:])


def test_detach_state_keeps_values_and_cuts_the_graph():
    model = make("lstm")
    _, (h, c) = model(torch.zeros(3, 2, dtype=torch.int64))
    assert h.grad_fn is not None
    h2, c2 = detach_state((h, c))
    assert h2.grad_fn is None and c2.grad_fn is None and torch.equal(h2, h) and torch.equal(c2, c)
    assert detach_state(None) is None
    assert detach_state(h).grad_fn is None


def test_gradient_stops_at_the_window_start():
    """The loss of window 2 sends no gradient into window 1's computation once the state is detached."""
    model = make("lstm")
    x = torch.randint(0, V, (6, 2), generator=torch.Generator().manual_seed(3))
    emb = model.embedding(x).detach().requires_grad_(True)  # (6, 2, D), a leaf we can inspect
    out1, state = model.rnn(emb[:3])
    out2, _ = model.rnn(emb[3:], detach_state(state))
    out2.sum().backward()
    assert torch.count_nonzero(emb.grad[:3]) == 0 and torch.count_nonzero(emb.grad[3:]) > 0


def test_bad_input():
    model = make("lstm")
    with pytest.raises(ValueError, match=r"\[0, 10\]"):
        model(torch.full((2, 1), V, dtype=torch.int64))
    with pytest.raises(TypeError, match="int64"):
        model(torch.zeros(2, 1))
    with pytest.raises(ValueError, match=r"\(T, B\)"):
        model(torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="cell must be one of"):
        CharLM(V, 8, "transformer")
    with pytest.raises(ValueError, match="at least 1"):
        CharLM(V, 0)
    with pytest.raises(TypeError, match="int"):
        CharLM(V, 8.0)
    with pytest.raises(ValueError, match="forget_bias"):
        CharLM(V, 8, "gru", forget_bias=1.0)
    data = batchify(torch.arange(40) % V, 2)
    with pytest.raises(TypeError, match="CharLM"):
        train_charlm(torch.nn.LSTM(3, 4), data, data, steps=1)
    with pytest.raises(TypeError, match="CharLM"):
        lstm_trace(torch.nn.LSTM(3, 4), torch.arange(5))
    with pytest.raises(TypeError, match="CharLM"):
        generate(torch.nn.LSTM(3, 4), Vocab("ab"), "a", 2)


def test_forget_bias_sets_the_total_bias():
    model = make("lstm", forget_bias=2.0)
    total = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
    torch.testing.assert_close(total[8:16], torch.full((8,), 2.0))


@pytest.mark.parametrize("cell, G", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_parameter_count_formula_and_matching(cell, G):
    H, D = 13, 5
    model = CharLM(V, H, cell, embedding_dim=D)
    assert model.num_parameters() == V * D + G * (H * D + H * H + 2 * H) + H * V + V
    assert model.num_parameters() == count_parameters(cell, D, H, V, embedding_rows=V)
    target = CharLM(V, 20, "lstm", embedding_dim=D).num_parameters()
    Hm = matched_hidden_size(cell, D, V, target, embedding_rows=V)
    counts = {h: CharLM(V, h, cell, embedding_dim=D).num_parameters() for h in (Hm - 1, Hm, Hm + 1)}
    assert abs(counts[Hm] - target) <= min(abs(counts[Hm - 1] - target), abs(counts[Hm + 1] - target))
    with pytest.raises(ValueError, match="cell must be one of"):
        matched_hidden_size("cnn", D, V, 100)


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    model = make("lstm")
    with torch.no_grad():
        model.readout.weight.zero_()
        model.readout.bias.zero_()
    data = batchify(torch.randint(0, V, (300,), generator=torch.Generator().manual_seed(4)), 3)
    assert perplexity(model, data) == pytest.approx(V, rel=1e-6)


def test_perplexity_does_not_depend_on_the_window_when_the_state_is_carried():
    model = make("gru")
    data = batchify(torch.randint(0, V, (400,), generator=torch.Generator().manual_seed(5)), 4)
    assert perplexity(model, data, bptt=7) == pytest.approx(perplexity(model, data, bptt=1000), rel=1e-5)
    assert model.training  # perplexity restores the mode it found


def test_training_lowers_loss_and_is_deterministic():
    text = "the cat sat on the mat. " * 40
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)
    train, val = batchify(ids[:800], 4), batchify(ids[800:], 2)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = CharLM(len(vocab), 16, "lstm", embedding_dim=8)
        runs.append(train_charlm(model, train, val, steps=60, bptt=10, lr=1e-2, eval_every=20, progress=False))
    h = runs[0]
    assert isinstance(h, LMHistory) and len(h.loss) == 60  # 60 steps wrap around the 20 windows
    assert h.eval_step == [0, 20, 40, 60] and len(h.val_perplexity) == 4
    assert h.val_perplexity[-1] < 0.5 * h.val_perplexity[0] and h.loss[-1] < h.loss[0]
    assert runs[0].loss == runs[1].loss and runs[0].val_perplexity == runs[1].val_perplexity
    with pytest.raises(ValueError, match="lr must be a number > 0"):
        train_charlm(model, train, val, steps=1, lr=0.0)
    with pytest.raises(ValueError, match="at least 1"):
        train_charlm(model, train, val, steps=0)


def test_generate_is_reproducible_and_greedy_when_cold():
    vocab = Vocab("abcdefghijk")
    model = make("lstm")
    g = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
    a = generate(model, vocab, "abc", 30, 1.0, g(0))
    assert len(a) == 30 and set(a) <= set(vocab.chars)
    assert a == generate(model, vocab, "abc", 30, 1.0, g(0))
    assert a != generate(model, vocab, "abc", 30, 1.0, g(1))
    # a very low temperature picks the most likely character at every step
    cold = generate(model, vocab, "abc", 10, 1e-4, g(0))
    ids, greedy = vocab.encode("abc"), []
    for _ in range(10):
        logits, _ = model(ids[:, None])
        nxt = int(logits[-1, 0].argmax())
        greedy.append(nxt)
        ids = torch.cat([ids, torch.tensor([nxt])])
    assert cold == vocab.decode(greedy)
    with pytest.raises(ValueError, match="expects 11"):
        generate(model, Vocab("ab"), "a", 3)
    with pytest.raises(ValueError, match="prompt"):
        generate(model, vocab, "", 3)
    with pytest.raises(TypeError, match="Vocab"):
        generate(model, "abc", "a", 3)


def test_lstm_trace_matches_nn_lstm_step_by_step():
    model = make("lstm", H=6)
    ids = torch.randint(0, V, (25,), generator=torch.Generator().manual_seed(6))
    trace = lstm_trace(model, ids)
    assert trace.h.shape == (25, 6) and trace.c.shape == (25, 6) and trace.gates.shape == (25, 24)
    state, hs, cs = None, [], []
    with torch.no_grad():
        for t in range(25):
            _, state = model.rnn(model.embedding(ids[t:t + 1, None]), state)
            hs.append(state[0][0, 0])
            cs.append(state[1][0, 0])
    torch.testing.assert_close(trace.h, torch.stack(hs))
    torch.testing.assert_close(trace.c, torch.stack(cs))
    i, f, g, o = trace.gates.split(6, dim=1)
    assert (i > 0).all() and (i < 1).all() and (f > 0).all() and (f < 1).all() and (g.abs() < 1).all()
    with pytest.raises(ValueError, match="needs an LSTM"):
        lstm_trace(make("gru"), ids)


def test_unit_correlations_match_numpy():
    rng = np.random.default_rng(0)
    acts = rng.normal(size=(200, 4))
    feat = acts[:, 2] * 2.0 + rng.normal(size=200)
    acts[:, 3] = 1.0  # a constant unit
    r = unit_correlations(acts, feat)
    for j in range(3):
        assert r[j] == pytest.approx(np.corrcoef(acts[:, j], feat)[0, 1], abs=1e-12)
    assert r[3] == 0.0
    with pytest.raises(ValueError, match=r"\(N, H\)"):
        unit_correlations(acts, feat[:10])


def test_save_and_load_give_identical_outputs(tmp_path):
    vocab = Vocab("abcdefghijk")
    model = make("lstm", forget_bias=1.0)
    path = tmp_path / "model.pt"
    save_charlm(model, vocab, path)
    loaded, vocab2 = load_charlm(path)
    assert vocab2.chars == vocab.chars and loaded.config == model.config
    x = torch.randint(0, V, (9, 2), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        assert torch.equal(loaded(x)[0], model(x)[0])


def test_load_refuses_other_files(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="save_charlm"):
        load_charlm(path)
    evil = tmp_path / "evil.pt"
    torch.save({"format": "lstm_course.charlm/1", "payload": Vocab("ab")}, evil)  # an arbitrary object
    with pytest.raises(pickle.UnpicklingError):
        load_charlm(evil)  # weights_only=True refuses to rebuild it
    with pytest.raises(TypeError, match="CharLM and a Vocab"):
        save_charlm(make(), "abc", tmp_path / "x.pt")


def test_perplexity_is_exp_of_mean_cross_entropy():
    model = make("rnn")
    data = batchify(torch.randint(0, V, (60,), generator=torch.Generator().manual_seed(8)), 2)  # (30, 2)
    with torch.no_grad():
        logits, _ = model(data[:-1])
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, V), data[1:].reshape(-1))
    assert perplexity(model, data, bptt=5) == pytest.approx(math.exp(ce.item()), rel=1e-5)
