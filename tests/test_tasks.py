"""Tests for lstm_course.tasks (adding, temporal order, copy, last marked value): shapes, dtypes, determinism, the task rules, baselines, bad arguments."""
import functools
import math

import numpy as np
import pytest
import torch

from lstm_course.tasks import (
    ADDING_TOLERANCE,
    TEMPORAL_ORDER_SYMBOLS,
    TaskData,
    adding_baseline_accuracy,
    adding_baseline_mse,
    adding_problem,
    copy_baseline_accuracy,
    copy_baseline_loss,
    copy_task,
    last_marked_baseline_accuracy,
    last_marked_baseline_mse,
    last_marked_value,
    temporal_order,
    temporal_order_baseline_accuracy,
    temporal_order_baseline_loss,
)

TASKS = {
    "adding-modern": functools.partial(adding_problem, form="modern"),
    "adding-1997": functools.partial(adding_problem, form="1997"),
    "temporal-order": temporal_order,
    "copy": copy_task,
    "last-marked": last_marked_value,
}


@pytest.mark.parametrize("name", TASKS)
def test_shapes_dtypes_and_padding(name):
    n, T = 7, 40
    data = TASKS[name](n, T, seed=3)
    assert isinstance(data, TaskData)
    x, y, lengths = data  # three fields, unpackable
    assert x.dtype == torch.float32 and x.dim() == 3 and x.shape[1] == n
    assert lengths.dtype == torch.int64 and lengths.shape == (n,)
    assert int(lengths.max()) <= x.shape[0] and int(lengths.min()) >= T
    steps = torch.arange(x.shape[0])[:, None]
    assert (x[steps >= lengths[None, :]] == 0).all()  # zero after each sequence's end
    if name.startswith("adding") or name == "last-marked":
        assert data.kind == "regression" and y.dtype == torch.float32 and y.shape == (n, 1)
    elif name == "temporal-order":
        assert data.kind == "classification" and y.dtype == torch.int64 and y.shape == (n,)
    else:
        assert data.kind == "sequence" and y.dtype == torch.int64 and y.shape == (x.shape[0], n)


@pytest.mark.parametrize("name", TASKS)
def test_deterministic_given_seed(name):
    a, b, c = (TASKS[name](5, 30, seed=s) for s in (11, 11, 12))
    for u, v in zip(a, b):
        assert torch.equal(u, v)
    assert not torch.equal(a.x, c.x)


def test_adding_modern_rules():
    data = adding_problem(500, 50, seed=0)
    values, markers = data.x[..., 0], data.x[..., 1]
    assert ((values >= 0) & (values <= 1)).all()
    assert (markers.sum(0) == 2).all()
    assert (markers[:25].sum(0) == 1).all() and (markers[25:].sum(0) == 1).all()
    assert torch.allclose((values * markers).sum(0), data.y[:, 0], atol=1e-6)


def test_adding_1997_rules():
    T = 100
    data = adding_problem(2000, T, form="1997", seed=1)
    x, y, lengths = data
    assert x.shape[0] == T + T // 10
    assert set(lengths.tolist()) == set(range(T, T + T // 10 + 1))
    values, markers = x[..., 0], x[..., 1]
    marked = markers == 1
    assert (marked.sum(0) == 2).all()
    positions = [torch.nonzero(marked[:, i])[:, 0].tolist() for i in range(x.shape[1])]
    first, second = zip(*positions)
    # one marker among the first ten steps, both within the first T/2 steps
    assert all(p < 10 for p in first) and all(p < T // 2 for p in second)
    # the second marker is uniform over the T/2 - 1 other slots of the first half
    assert set(second) | set(first) >= set(range(1, T // 2))
    # -1 at the first and the last valid step unless marked there; zero elsewhere
    cols = torch.arange(x.shape[1])
    last = markers[lengths - 1, cols]
    assert (last == -1).all()
    assert ((markers[0] == -1) | (markers[0] == 1)).all()
    inside = markers[1:].clone()
    inside[lengths - 2, cols] = 0
    assert set(inside.unique().tolist()) <= {0.0, 1.0}
    # X1 is zero when the first marker falls on step 0 (the paper's rule names X1 only): of
    # the sequences marked at step 0, that is a fraction 0.1 / (0.1 + 0.9 / (T/2 - 1)) = 0.845
    zero_share = (values[0][marked[0]] == 0).double().mean().item()
    assert abs(zero_share - 0.1 / (0.1 + 0.9 / (T // 2 - 1))) < 0.05
    assert (values[0][~marked[0]] != 0).all()
    X = (values * marked).sum(0)
    assert torch.allclose(y[:, 0], 0.5 + X / 4, atol=1e-6)
    assert (y >= 0).all() and (y <= 1).all()


def test_adding_baselines_measured():
    for form in ("modern", "1997"):
        y = adding_problem(200_000, 20, form=form, seed=5).y[:, 0].double()
        const = 1.0 if form == "modern" else 0.5
        assert abs(((y - const) ** 2).mean().item() - adding_baseline_mse(form)) < 0.002
        assert abs(y.var().item() - adding_baseline_mse(form)) < 0.002  # the mean is the best constant
        hit = ((y - const).abs() < ADDING_TOLERANCE).double().mean().item()
        assert abs(hit - adding_baseline_accuracy(form)) < 0.005
    assert adding_baseline_mse("modern") == pytest.approx(1 / 6)


def test_1997_success_criterion_is_strict_below_tolerance():
    data = adding_problem(4, 20, form="1997", seed=0)
    from lstm_course.training import loss_and_accuracy

    just_in = data.y + torch.tensor([[0.0399], [-0.0399], [0.0], [0.02]])
    just_out = data.y + torch.tensor([[0.0401], [-0.0401], [0.05], [-0.1]])
    assert loss_and_accuracy(just_in, data)[1] == 1.0
    assert loss_and_accuracy(just_out, data)[1] == 0.0


def test_temporal_order_rules():
    T = 100
    data = temporal_order(1000, T, seed=2)
    x, y, lengths = data
    symbols = x.argmax(-1)
    on = x.sum(-1)
    steps = torch.arange(x.shape[0])[:, None]
    assert torch.equal(on, (steps < lengths[None, :]).float())  # one-hot inside, zero outside
    sym = {s: i for i, s in enumerate(TEMPORAL_ORDER_SYMBOLS)}
    assert (symbols[0] == sym["E"]).all()
    assert (symbols[lengths - 1, torch.arange(1000)] == sym["B"]).all()
    for i in range(1000):
        seq = symbols[: lengths[i], i]
        where = torch.nonzero((seq == sym["X"]) | (seq == sym["Y"]))[:, 0]
        assert len(where) == 2
        t1, t2 = where.tolist()
        assert 10 <= t1 <= 20 and 50 <= t2 <= 60
        cls = 2 * int(seq[t1] == sym["Y"]) + int(seq[t2] == sym["Y"])
        assert cls == y[i]
    counts = torch.bincount(y, minlength=4).double() / 1000
    assert (counts - temporal_order_baseline_accuracy()).abs().max() < 0.06
    assert temporal_order_baseline_loss() == pytest.approx(math.log(4))


def test_copy_rules_and_baseline():
    T, K, S = 30, 10, 8
    data = copy_task(300, T, seed=4)
    x, y, lengths = data
    assert x.shape == (T + 2 * K, 300, S + 2)
    inputs = x.argmax(-1)
    assert ((inputs[:K] >= 1) & (inputs[:K] <= S)).all()
    assert (inputs[K : K + T - 1] == 0).all() and (inputs[K + T - 1] == S + 1).all()
    assert (inputs[K + T :] == 0).all()
    assert (y[: T + K] == 0).all() and torch.equal(y[T + K :], inputs[:K])
    # the memoryless strategy: blank until the delimiter, then uniform over the S symbols
    logp = torch.full((T + 2 * K, 300, S + 1), -1e9)
    logp[: T + K, :, 0] = 0.0
    logp[T + K :, :, 1:] = -math.log(S)
    ce = torch.nn.functional.cross_entropy(logp.reshape(-1, S + 1), y.reshape(-1))
    assert ce.item() == pytest.approx(copy_baseline_loss(T), rel=1e-6)
    assert copy_baseline_loss(T) == pytest.approx(10 * math.log(8) / (T + 20))
    assert copy_baseline_accuracy() == pytest.approx(8.0 ** -10)


def test_last_marked_value_rules():
    T, K = 20, 6
    x, y, lengths = last_marked_value(500, T, seed=7, markers=K)
    values, markers = x[..., 0], x[..., 1]
    assert x.shape == (T, 500, 2) and (lengths == T).all()
    assert ((values >= 0) & (values <= 1)).all()
    assert set(markers.unique().tolist()) == {0.0, 1.0}
    assert (markers.sum(0) == K).all() and (markers[T - 1] == 0).all()  # K distinct steps before the last
    last = T - 1 - torch.flip(markers, [0]).argmax(0)  # (n,) the latest marked step
    assert torch.equal(y[:, 0], values[last, torch.arange(500)])
    # every step before the last is marked sometimes, uniformly: K/(T-1) of the sequences each
    share = markers[: T - 1].mean(1)
    assert (share - K / (T - 1)).abs().max() < 0.08
    # edge cases: a single marker; every step but the last marked
    one = last_marked_value(50, 2, seed=0, markers=1)
    assert (one.x[0, :, 1] == 1).all() and torch.equal(one.y[:, 0], one.x[0, :, 0])
    full = last_marked_value(50, 5, seed=0, markers=4)
    assert torch.equal(full.y[:, 0], full.x[3, :, 0])


def test_last_marked_baselines_measured():
    y = last_marked_value(200_000, 20, seed=5).y[:, 0].double()
    assert abs(((y - 0.5) ** 2).mean().item() - last_marked_baseline_mse()) < 0.001
    assert abs(y.mean().item() - 0.5) < 0.005  # 1/2 is the best constant
    hit = ((y - 0.5).abs() < ADDING_TOLERANCE).double().mean().item()
    assert abs(hit - last_marked_baseline_accuracy()) < 0.003
    assert last_marked_baseline_mse() == pytest.approx(1 / 12)
    assert last_marked_baseline_accuracy() == pytest.approx(0.08)
    assert last_marked_baseline_accuracy(0.7) == 1.0


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: adding_problem(0, 10), ValueError, "n must be at least 1"),
        (lambda: adding_problem(2.0, 10), TypeError, "n must be an int"),
        (lambda: adding_problem(True, 10), TypeError, "n must be an int"),
        (lambda: adding_problem(4, 1), ValueError, "T must be at least 2"),
        (lambda: adding_problem(4, 19, form="1997"), ValueError, "first ten steps"),
        (lambda: adding_problem(4, 50, form="modrn"), ValueError, "form must be one of"),
        (lambda: adding_problem(4, 50, seed=-1), ValueError, "seed must be at least 0"),
        (lambda: adding_problem(4, "50"), TypeError, "T must be an int"),
        (lambda: temporal_order(4, 9), ValueError, "T must be at least 10"),
        (lambda: temporal_order(4, 20, seed=1.5), TypeError, "seed must be an int"),
        (lambda: copy_task(4, 0), ValueError, "T must be at least 1"),
        (lambda: copy_task(4, 10, n_symbols=1), ValueError, "n_symbols must be at least 2"),
        (lambda: copy_task(4, 10, copy_length=0), ValueError, "copy_length must be at least 1"),
        (lambda: adding_baseline_mse("1998"), ValueError, "form must be one of"),
        (lambda: adding_baseline_accuracy("modern", tolerance=0), ValueError, "tolerance"),
        (lambda: copy_baseline_loss(0), ValueError, "T must be at least 1"),
        (lambda: last_marked_value(0, 20), ValueError, "n must be at least 1"),
        (lambda: last_marked_value(4, 1), ValueError, "T must be at least 2"),
        (lambda: last_marked_value(4, 20.0), TypeError, "T must be an int"),
        (lambda: last_marked_value(4, 20, markers=0), ValueError, "markers must be at least 1"),
        (lambda: last_marked_value(4, 20, markers=20), ValueError, r"markers must be at most T - 1 = 19"),
        (lambda: last_marked_value(4, 20, markers=2.5), TypeError, "markers must be an int"),
        (lambda: last_marked_value(4, 20, seed=-3), ValueError, "seed must be at least 0"),
        (lambda: last_marked_baseline_accuracy(0.0), ValueError, "tolerance"),
    ],
)
def test_bad_arguments(call, error, words):
    with pytest.raises(error, match=words) as info:
        call()
    assert "got" in str(info.value)


def test_numpy_integers_accepted():
    data = adding_problem(np.int64(3), np.int32(20), seed=np.uint8(1))
    assert data.x.shape == (20, 3, 2)


def test_first_and_last_rules_padding_and_baseline():
    from lstm_course.tasks import first_and_last, first_and_last_baseline_accuracy
    d = first_and_last(4000, 12, seed=3)
    assert d.x.shape == (12, 4000, 3) and d.y.dtype == torch.int64 and d.kind == "classification"
    lengths = d.lengths.numpy()
    assert lengths.min() == 2 and lengths.max() == 12
    x = d.x.numpy()
    valid = np.arange(12)[:, None] < lengths[None, :]
    assert np.all(x.sum(-1) == valid)  # one-hot where valid, zero padding after
    cols = np.arange(4000)
    first_a, last_a = x[0, :, 0] == 1, x[lengths - 1, cols, 0] == 1
    assert np.array_equal(d.y.numpy(), 2 * first_a + last_a)
    assert abs(np.mean(d.y.numpy() == 0) - first_and_last_baseline_accuracy()) < 0.03
    assert torch.equal(first_and_last(5, 6, seed=1).x, first_and_last(5, 6, seed=1).x)
    with pytest.raises(ValueError, match="min_length"):
        first_and_last(5, 1, min_length=2)
