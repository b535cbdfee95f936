"""Tests for lstm_course.models and lstm_course.training: read-out, clipping, early stopping, seeding."""
import functools

import pytest
import torch

from lstm_course.models import SequenceModel, count_parameters, matched_hidden_size
from lstm_course.tasks import adding_baseline_mse, adding_problem, copy_task, temporal_order
from lstm_course.training import History, batch_seed, evaluate, task_gradient_norms, loss_and_accuracy, train

CELLS = ("rnn", "lstm", "gru")


def model(cell="lstm", D=2, H=8, O=1, seed=0, **kw):
    torch.manual_seed(seed)
    return SequenceModel(cell, D, H, O, **kw)


@pytest.mark.parametrize("cell", CELLS)
def test_forward_shapes_parameters_and_unroll(cell):
    m = model(cell, D=3, H=5, O=4)
    assert m.num_parameters() == count_parameters(cell, 3, 5, 4)
    x = torch.randn(9, 6, 3)
    lengths = torch.tensor([9, 1, 4, 9, 7, 2])
    out = m(x, lengths)
    assert out.shape == (6, 4)
    assert m(x, all_steps=True).shape == (9, 6, 4)
    out2, hs = m.unroll(x, lengths)
    assert len(hs) == 9 and hs[0].shape == (6, 5)
    torch.testing.assert_close(out, out2, atol=1e-6, rtol=1e-5)
    # the read-out at the last valid step equals running the truncated sequence alone
    for i, L in enumerate(lengths.tolist()):
        alone = m(x[:L, i : i + 1])
        torch.testing.assert_close(out[i : i + 1], alone, atol=1e-6, rtol=1e-5)


def test_forget_and_input_bias_set_the_total_gate_biases():
    m = model("lstm", H=4, forget_bias=2.5)
    b = m.rnn.bias_ih_l0 + m.rnn.bias_hh_l0
    assert torch.equal(b[4:8], torch.full((4,), 2.5))
    assert not torch.equal(b[:4], torch.full((4,), 2.5))
    m = model("lstm", H=4, forget_bias=1.0, input_bias=-3.0)
    b = m.rnn.bias_ih_l0 + m.rnn.bias_hh_l0
    assert torch.equal(b[:4], torch.full((4,), -3.0)) and torch.equal(b[4:8], torch.ones(4))
    assert "input_bias=-3.0" in repr(m)


def test_matched_hidden_size():
    budget = count_parameters("lstm", 2, 32, 1)
    for cell in CELLS:
        H = matched_hidden_size(cell, 2, 1, budget)
        here = count_parameters(cell, 2, H, 1)
        assert abs(here - budget) <= min(abs(count_parameters(cell, 2, h, 1) - budget) for h in (H - 1, H + 1))
    assert matched_hidden_size("lstm", 2, 1, budget) == 32


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: SequenceModel("lsmt", 2, 4, 1), ValueError, "cell must be one of"),
        (lambda: SequenceModel("lstm", 2, 0, 1), ValueError, "hidden_size must be at least 1"),
        (lambda: SequenceModel("lstm", 2.0, 4, 1), TypeError, "input_size must be an int"),
        (lambda: SequenceModel("gru", 2, 4, 1, forget_bias=1.0), ValueError, "forget_bias applies"),
        (lambda: SequenceModel("lstm", 2, 4, 1, forget_bias="1"), TypeError, "forget_bias must be"),
        (lambda: SequenceModel("rnn", 2, 4, 1, input_bias=-3.0), ValueError, "input_bias applies"),
        (lambda: SequenceModel("lstm", 2, 4, 1, input_bias=float("nan")), TypeError, "input_bias must be"),
        (lambda: model()(torch.zeros(5, 3, 4)), ValueError, r"x must be a tensor of shape \(T, B, 2\)"),
        (lambda: model()(torch.zeros(5, 3, 2), torch.tensor([5, 6, 1])), ValueError, "lengths must"),
        (lambda: count_parameters("rnn", 2, 0, 1), ValueError, "hidden_size"),
    ],
)
def test_model_bad_arguments(call, error, words):
    with pytest.raises(error, match=words) as info:
        call()
    assert "got" in str(info.value)


def test_loss_and_accuracy_for_each_kind():
    reg = adding_problem(6, 10, seed=0)
    loss, acc = loss_and_accuracy(reg.y.clone(), reg)
    assert loss.item() == 0 and acc == 1.0
    cls = temporal_order(8, 20, seed=0)
    logits = torch.nn.functional.one_hot(cls.y, 4).float() * 10
    logits[0] = -logits[0]  # one sequence wrong
    assert loss_and_accuracy(logits, cls)[1] == pytest.approx(7 / 8)
    seq = copy_task(4, 5, seed=0)
    logits = torch.nn.functional.one_hot(seq.y, 9).float() * 10  # (T, n, 9)
    logits[-1, 2] = -logits[-1, 2]  # the last symbol of sequence 2 wrong
    loss, acc = loss_and_accuracy(logits, seq)
    assert acc == pytest.approx(3 / 4) and loss.item() > 0


def test_train_is_deterministic_and_records_history():
    task = functools.partial(adding_problem, T=20)
    runs = [train(model(seed=1), task, steps=30, batch_size=16, eval_every=10, seed=4, progress=False) for _ in range(2)]
    a, b = runs
    assert isinstance(a, History) and a.loss == b.loss and a.grad_norm == b.grad_norm
    assert a.step == list(range(30)) and a.eval_step == [10, 20, 30]
    assert len(a.loss) == len(a.accuracy) == len(a.grad_norm) == 30 and a.sequences_seen == 480
    c = train(model(seed=1), task, steps=30, batch_size=16, eval_every=10, seed=5, progress=False)
    assert c.loss != a.loss
    assert batch_seed(0, 0) != batch_seed(0, 1) != batch_seed(1, 0)


def test_lstm_learns_short_adding_problem_and_stops_early():
    task = functools.partial(adding_problem, T=10)
    h = train(model(H=16), task, steps=800, batch_size=32, lr=1e-2, target=0.01, target_metric="loss",
              eval_every=20, progress=False)
    assert h.solved and h.solved_step < 800 and h.eval_step[-1] == h.solved_step
    assert h.final_eval_loss <= 0.01 < adding_baseline_mse() / 10
    assert len(h.loss) == h.solved_step  # stopped right after the successful evaluation


def test_norm_clipping_bounds_the_update():
    task = functools.partial(adding_problem, T=15)
    m = model(H=8)
    before = torch.cat([p.detach().flatten().clone() for p in m.parameters()])
    opt = torch.optim.SGD(m.parameters(), lr=1.0)
    h = train(m, task, steps=1, batch_size=8, clip=1e-3, clip_mode="norm", optimizer=opt, progress=False)
    after = torch.cat([p.detach().flatten() for p in m.parameters()])
    step = after - before
    assert h.grad_norm[0] > 1e-3  # the recorded norm is the one before clipping
    assert step.norm().item() == pytest.approx(1e-3, rel=1e-3)


def test_value_clipping_bounds_each_entry():
    task = functools.partial(adding_problem, T=15)
    m = model(H=8)
    before = torch.cat([p.detach().flatten().clone() for p in m.parameters()])
    opt = torch.optim.SGD(m.parameters(), lr=1.0)
    train(m, task, steps=1, batch_size=8, clip=1e-4, clip_mode="value", optimizer=opt, progress=False)
    step = torch.cat([p.detach().flatten() for p in m.parameters()]) - before
    assert step.abs().max().item() == pytest.approx(1e-4, rel=1e-3)
    assert step.norm().item() > 1e-4  # not the same as norm clipping


def test_evaluate_leaves_mode_and_matches_loss():
    data = temporal_order(16, 20, seed=1)
    m = model(D=8, O=4)
    loss, acc = evaluate(m, data)
    assert m.training
    ref, ref_acc = loss_and_accuracy(m(data.x, data.lengths), data)
    assert loss == pytest.approx(ref.item()) and acc == ref_acc


def test_hidden_gradient_norms():
    data = adding_problem(4, 12, seed=2)
    m = model("rnn", H=6)
    norms = task_gradient_norms(m, data)
    assert norms.shape == (12,) and (norms > 0).all()
    # at the last step only the read-out path exists: dL/dh = 2 (y_hat - y) W_out / n per sequence
    out = m(data.x)
    direct = (2 * (out - data.y) * m.readout.weight).norm(dim=1).mean()
    assert norms[-1].item() == pytest.approx(direct.item(), rel=1e-5)
    assert norms.dtype == torch.float64
    exact = task_gradient_norms(m, data, float64=True)
    assert next(m.parameters()).dtype == torch.float32  # the float64 path works on a copy
    torch.testing.assert_close(exact, norms, rtol=1e-5, atol=0)


def test_hidden_gradient_norms_do_not_underflow():
    torch.manual_seed(0)
    m = SequenceModel("rnn", 2, 8, 1)
    with torch.no_grad():
        m.rnn.weight_hh_l0.mul_(0.05)  # a strongly contracting RNN: the signal dies fast
    data = adding_problem(4, 60, seed=0)
    assert task_gradient_norms(m, data)[0].item() == 0  # float32 underflows ...
    norms = task_gradient_norms(m, data, float64=True)
    assert 0 < norms[0].item() < 1e-40  # ... float64 resolves it


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(steps=0), ValueError, "steps must be at least 1"),
        (dict(steps=2.5), TypeError, "steps must be an int"),
        (dict(steps=2, clip_mode="l2"), ValueError, "clip_mode must be one of"),
        (dict(steps=2, clip=-1.0), ValueError, "clip must be positive"),
        (dict(steps=2, target_metric="mse"), ValueError, "target_metric must be"),
        (dict(steps=2, batch_size=0), ValueError, "batch_size must be at least 1"),
        (dict(steps=2, seed=-2), ValueError, "seed must be at least 0"),
    ],
)
def test_train_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words) as info:
        train(model(), functools.partial(adding_problem, T=10), progress=False, **kwargs)
    assert "got" in str(info.value)


def test_train_rejects_a_task_that_is_not_callable():
    with pytest.raises(TypeError, match="task must be a callable"):
        train(model(), adding_problem(4, 10), steps=1, progress=False)


def test_a_run_that_stops_at_its_target_closes_its_notebook_bar_as_finished(monkeypatch):
    """tqdm paints a bar closed short of its total red ("danger"): a solved run must not look failed."""
    import tqdm.notebook

    import lstm_course.training as training

    bars = []

    class Recording(tqdm.notebook.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(training, "tqdm", Recording)
    task = functools.partial(adding_problem, T=10)
    h = train(model(H=16), task, steps=800, batch_size=32, lr=1e-2, target=0.01, target_metric="loss",
              eval_every=20)
    assert h.solved and h.solved_step < 800
    (bar,) = bars
    assert bar.n == bar.total == h.solved_step
    assert bar.container.children[1].bar_style != "danger"
    assert "status=solved" in str(bar.container.children[2].value)
