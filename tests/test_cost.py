"""Tests of lstm_course.cost: the FLOP formula against torch's counter, timing, cache bytes, slopes."""
import math

import pytest
import torch

from lstm_course.cost import (backward_with_recomputation, count_flops, loglog_slope, lstm_flops, saved_tensor_bytes,
                               time_calls)
from lstm_course.torch import LSTM


@pytest.mark.parametrize("T, B, D, H", [(1, 1, 1, 1), (7, 3, 5, 4), (4, 2, 16, 8)])
def test_lstm_flops_equals_counted_forward_products(T, B, D, H):
    torch.manual_seed(0)
    model = LSTM(D, H, dtype=torch.float64)
    x = torch.randn(T, B, D, dtype=torch.float64)
    assert lstm_flops(T, B, D, H) == 8 * T * B * H * (D + H)
    assert count_flops(lambda: model(x)) == lstm_flops(T, B, D, H)


def test_backward_costs_two_forwards_minus_the_first_state_gradient():
    T, B, D, H = 6, 2, 3, 5
    model = LSTM(D, H, dtype=torch.float64)
    x = torch.randn(T, B, D, dtype=torch.float64, requires_grad=True)
    total = count_flops(lambda: model(x)[0].sum().backward())
    # every forward product has two backward products, except dh_0 (h_0 is no leaf of the graph)
    assert total == 3 * lstm_flops(T, B, D, H) - 8 * B * H * H


def test_count_flops_sees_plain_matrix_products():
    a, b = torch.randn(3, 4), torch.randn(4, 5)
    assert count_flops(lambda: a @ b) == 2 * 3 * 4 * 5


def test_saved_tensor_bytes_counts_each_storage_once_and_excludes():
    x = torch.randn(10, 3, dtype=torch.float64, requires_grad=True)
    (_, n) = saved_tensor_bytes(lambda: torch.sigmoid(x))  # sigmoid saves its output
    assert n == 10 * 3 * 8
    y = torch.randn(10, 3, dtype=torch.float64, requires_grad=True)
    # x * y saves both operands; excluding one leaves the other
    _, n_both = saved_tensor_bytes(lambda: x * y)
    _, n_one = saved_tensor_bytes(lambda: x * y, exclude=[y])
    assert (n_both, n_one) == (2 * 240, 240)
    # the same tensor saved twice (x * x) is one storage
    _, n_same = saved_tensor_bytes(lambda: x * x)
    assert n_same == 240


def test_saved_tensor_bytes_of_the_hand_bptt_lstm_is_seven_activations_per_step():
    T, B, D, H = 9, 4, 3, 5
    model = LSTM(D, H, backward="bptt")
    x = torch.randn(T, B, D)
    h0, c0 = torch.zeros(1, B, H), torch.zeros(1, B, H)
    _, n = saved_tensor_bytes(lambda: model(x, (h0, c0)), exclude=[x, h0, c0, *model.parameters()])
    assert n == 4 * 7 * T * B * H  # gates (4H), hs, cs, tanh(cs): 7H floats per step and sequence


def test_no_grad_saves_nothing():
    model = LSTM(3, 4)
    x = torch.randn(5, 2, 3)
    with torch.no_grad():
        _, n = saved_tensor_bytes(lambda: model(x))
    assert n == 0


def test_time_call_and_time_calls_run_every_function_the_right_number_of_times():
    calls = {"a": 0, "b": 0}

    def make(name):
        def fn():
            calls[name] += 1
        return fn

    result = time_calls({"a": make("a"), "b": make("b")}, repeats=3, warmup=2)
    assert list(result) == ["a", "b"]
    assert calls == {"a": 5, "b": 5}
    assert all(t >= 0 for t in result.values())
    count = []
    assert time_calls({"f": lambda: count.append(1)}, repeats=4, warmup=0, idle=0.001)["f"] >= 0
    assert len(count) == 4


def test_time_calls_runs_before_untimed_and_returns_the_chosen_statistic():
    """`before` runs right before every call of its name (warm-up included) and is not timed;
    stat="min" returns the fastest repetition, "median" the middle one."""
    log, clock_values = [], iter([0.0, 3.0, 10.0, 11.0, 20.0, 22.0])  # durations 3, 1, 2
    result = time_calls({"a": lambda: log.append("a")}, repeats=3, warmup=1, stat="min",
                        before={"a": lambda: log.append("reset")}, clock=lambda: next(clock_values))
    assert log == ["reset", "a"] * 4
    assert result == {"a": 1.0}
    clock_values = iter([0.0, 3.0, 10.0, 11.0, 20.0, 22.0])
    assert time_calls({"a": lambda: None}, repeats=3, warmup=0, clock=lambda: next(clock_values)) == {"a": 2.0}
    with pytest.raises(ValueError, match="stat must be one of"):
        time_calls({"a": lambda: None}, stat="mean")
    with pytest.raises(ValueError, match="before must be a mapping whose names are among those of fns"):
        time_calls({"a": lambda: None}, before={"b": lambda: None})


def test_time_calls_varies_who_runs_first_and_who_runs_before_whom():
    """Each round starts with the next function of the list, and the rest follow in a shuffled
    order: every function runs first once in len(fns) rounds, and no function always follows
    the same neighbour (with a plain rotation each would follow its predecessor in the list)."""
    log = []
    names = "abcde"
    time_calls({n: (lambda n=n: log.append(n)) for n in names}, repeats=10, warmup=0)
    rounds = [log[k : k + 5] for k in range(0, 50, 5)]
    assert [r[0] for r in rounds] == list(names * 2)
    assert all(sorted(r) == list(names) for r in rounds)
    predecessors = {n: {log[k - 1] for k in range(1, 50) if log[k] == n} for n in names}
    assert all(len(p) >= 2 for p in predecessors.values()), predecessors


@pytest.mark.parametrize("p", [1.0, 2.0, 0.5])
def test_loglog_slope_recovers_a_power_law(p):
    x = [1, 2, 4, 8, 16]
    assert loglog_slope(x, [3.0 * v**p for v in x]) == pytest.approx(p, abs=1e-12)


@pytest.mark.parametrize("call, error, words", [
    (lambda: lstm_flops(0, 1, 1, 1), ValueError, "T must be at least 1; got 0"),
    (lambda: lstm_flops(1, 2.0, 1, 1), TypeError, "B must be an int; got float"),
    (lambda: count_flops(3), TypeError, "fn must be a callable"),
    (lambda: time_calls({"f": lambda: None}, repeats=0), ValueError, "repeats must be at least 1; got 0"),
    (lambda: time_calls({"f": lambda: None}, idle=-1), ValueError, "idle must be a number of seconds >= 0; got -1"),
    (lambda: time_calls({}), TypeError, "fns must be a non-empty mapping"),
    (lambda: time_calls({"a": 1}), TypeError, "fns['a'] must be a callable"),
    (lambda: time_calls({"f": lambda: None}, clock=3), TypeError, "clock must be a callable"),
    (lambda: saved_tensor_bytes(lambda: None, exclude=[1]), TypeError, "exclude must hold torch.Tensors; got int"),
    (lambda: loglog_slope([1, 2], [1, 0]), ValueError, "finite and positive"),
    (lambda: loglog_slope([1, 2, 3], [1, 2]), ValueError, "same length"),
    (lambda: loglog_slope([2, 2], [1, 2]), ValueError, "two distinct values"),
    (lambda: loglog_slope([1, math.inf], [1, 2]), ValueError, "finite and positive"),
])
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace("[", r"\[").replace("]", r"\]")):
        call()


@pytest.mark.parametrize("T, chunk", [(10, 3), (10, 5), (10, 1), (10, 10), (7, 20)])
@pytest.mark.parametrize("module", ["nn", "scratch"])
def test_backward_with_recomputation_gives_exact_gradients(T, chunk, module):
    torch.manual_seed(0)
    B, D, H = 2, 3, 4
    ref = torch.nn.LSTM(D, H, dtype=torch.float64)
    model = ref if module == "nn" else LSTM.from_torch(ref, backward="bptt")
    x = torch.randn(T, B, D, dtype=torch.float64, requires_grad=True)
    dout = torch.randn(T, B, H, dtype=torch.float64)
    model(x)[0].backward(dout)
    expected = [p.grad.clone() for p in model.parameters()] + [x.grad.clone()]
    model.zero_grad()
    x.grad = None
    stats = backward_with_recomputation(model, x, dout, chunk)
    got = [p.grad for p in model.parameters()] + [x.grad]
    assert all(torch.allclose(a, b, atol=1e-12) for a, b in zip(expected, got))
    n_chunks = -(-T // chunk)
    assert stats.boundary_bytes == n_chunks * 2 * B * H * 8
    if module == "scratch":  # the hand-BPTT cache: 7H numbers per step and sequence
        assert stats.chunk_cache_bytes == 7 * min(chunk, T) * B * H * 8


def test_backward_with_recomputation_refuses_bad_input():
    model = torch.nn.LSTM(3, 4)
    x = torch.randn(5, 2, 3)
    with pytest.raises(ValueError, match=r"dout must have the output's shape \(T, B, H\) = \(5, 2, 4\); got \(5, 2, 3\)"):
        backward_with_recomputation(model, x, torch.randn(5, 2, 3), 2)
    with pytest.raises(ValueError, match="chunk must be at least 1; got 0"):
        backward_with_recomputation(model, x, torch.randn(5, 2, 4), 0)
    with pytest.raises(ValueError, match=r"x must be a \(T, B, D\) tensor; got torch.Size\(\[2, 3\]\)"):
        backward_with_recomputation(model, x[0], torch.randn(5, 2, 4), 2)
