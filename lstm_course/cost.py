r"""What an LSTM costs: its FLOP count, fair wall-clock timing, the memory kept for backward, log-log slopes.

The forward pass of one LSTM layer computes, at every step and for every sequence of the
batch, the pre-activations of its four gates,

.. math::

    \mathbf{a}_t = W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + W_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh},
    \qquad W_{ih} \in \mathbb{R}^{4H\times D},\ W_{hh} \in \mathbb{R}^{4H\times H},

that is :math:`4H(D + H)` multiply-adds, :math:`8H(D+H)` floating-point operations (FLOPs).
The gates' element-wise work is :math:`O(H)` per step and is not counted. Backward needs two
products of the same size per forward product (one for the weights, one for the inputs or
the previous state), so a training step costs about three forward passes.

Functions:
    lstm_flops          the matrix-product FLOPs of a forward pass, ``8·T·B·H·(D + H)``
    count_flops         the FLOPs torch actually runs in a call (``FlopCounterMode``)
    time_calls          several calls timed side by side, in rotating order, with idle gaps
    saved_tensor_bytes  the bytes that autograd keeps for the backward pass of a call
    backward_with_recomputation  BPTT that stores one state per chunk and recomputes the rest
    loglog_slope        the slope of a straight line fitted to ``log y`` against ``log x``
"""
from __future__ import annotations

import math
import numbers
import statistics
import time
from typing import Callable, Iterable, Mapping, NamedTuple

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from ._validate import check_int as _check_int
from .gradients import fit_log_slope


def _check_seconds(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number of seconds >= 0; got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0; got {value}")
    return float(value)


def _check_callable(name: str, fn) -> None:
    if not callable(fn):
        raise TypeError(f"{name} must be a callable taking no arguments; got {type(fn).__name__}")


def lstm_flops(T: int, B: int, D: int, H: int) -> int:
    r"""Floating-point operations of the matrix products in one LSTM forward pass.

    .. math::

        \text{FLOPs} = 8\,T\,B\,H\,(D + H) = T \cdot B \cdot 2 \cdot 4H(D + H)

    Each of the ``T·B`` (step, sequence) pairs multiplies :math:`W_{ih}` ``(4H, D)`` by
    :math:`\mathbf{x}_t` and :math:`W_{hh}` ``(4H, H)`` by :math:`\mathbf{h}_{t-1}`:
    :math:`4H(D+H)` multiply-adds of two FLOPs each. Biases and gates (``O(H)`` each) are
    left out; they are a fraction of about :math:`1/(D+H)` of the total.

    Args:
        T: sequence length. B: batch size. D: input size. H: hidden size (all ``>= 1``).

    Returns:
        The FLOP count (an int).
    """
    T, B, D, H = (_check_int(k, v) for k, v in (("T", T), ("B", B), ("D", D), ("H", H)))
    return 8 * T * B * H * (D + H)


def count_flops(fn: Callable[[], object]) -> int:
    """Run ``fn()`` and return the FLOPs of the matrix products torch executed meanwhile.

    Uses :class:`torch.utils.flop_counter.FlopCounterMode`, which sees every ``mm``,
    ``addmm``, ``bmm`` (and convolution) at the ATen level, inside ``torch.autograd.Function``
    and backward passes included. Operations without a registered formula (for example the
    fused oneDNN kernel behind ``nn.LSTM`` in float32 on a CPU) count as zero.

    Args:
        fn: a callable without arguments, e.g. ``lambda: model(x)[0].sum().backward()``.

    Returns:
        The total FLOP count (an int).
    """
    _check_callable("fn", fn)
    counter = FlopCounterMode(display=False)  # note: in-place ``addmm_`` has no formula and counts 0
    with counter:
        fn()
    return int(counter.get_total_flops())


#: The statistics :func:`time_calls` can return over its repetitions.
TIME_STATS = {"median": statistics.median, "min": min}


def time_calls(fns: Mapping[str, Callable[[], object]], *, repeats: int = 5, warmup: int = 1,
               idle: float = 0.0, clock: Callable[[], float] = time.perf_counter, stat: str = "median",
               before: Mapping[str, Callable[[], object]] | None = None) -> dict:
    """Time several calls side by side and return the median (or fastest) time of each, in seconds.

    Round ``r`` calls every function once: first the one at position ``r`` of the list
    (wrapping around), so that no function always runs first, then the others in a shuffled
    order (seeded, so every run shuffles alike), so that no function always runs right after
    the same neighbour (a neighbour's threads that still spin, or its freed memory, would
    otherwise slow the same function every round). Each function has ``warmup`` untimed calls
    first; the machine is left ``idle`` seconds before each timed call. This is the one timing helper of
    the course: the cost chapter and ``benchmarks/bench_rnn.py`` both use it.

    Args:
        fns: ``{name: callable without arguments}``, at least one entry.
        repeats: timed calls of each function (``>= 1``).
        warmup: untimed calls of each function before them (``>= 0``): caches, lazy
            initialisation, thread pools.
        idle: seconds of sleep before each timed call (``>= 0``), so that the threads of a
            BLAS library that still spin after a call do not slow the next one.
        clock: ``time.perf_counter`` (wall-clock time, the default) or ``time.process_time``
            (the CPU time of this process: on a machine busy with other work, and with one
            thread, it leaves out the time other programs take).
        stat: ``"median"`` (robust to the odd slow call) or ``"min"`` (the fastest call: on a
            small shared machine noise only adds time, so the minimum is the steadiest estimate
            of what the code itself costs).
        before: optional ``{name: callable}`` run untimed right before each call of that name
            (for example, clearing gradients).

    Returns:
        ``{name: seconds}``, in the order of ``fns``.
    """
    if stat not in TIME_STATS:
        raise ValueError(f"stat must be one of {sorted(TIME_STATS)}; got {stat!r}")
    before = {} if before is None else before
    if not isinstance(before, Mapping) or set(before) - set(fns if isinstance(fns, Mapping) else ()):
        raise ValueError(f"before must be a mapping whose names are among those of fns; got {before!r}")
    if not isinstance(fns, Mapping) or not fns:
        raise TypeError(f"fns must be a non-empty mapping name -> callable; got {type(fns).__name__} {fns!r}")
    for name, fn in fns.items():
        _check_callable(f"fns[{name!r}]", fn)
    repeats = _check_int("repeats", repeats, 1)
    warmup = _check_int("warmup", warmup, 0)
    idle = _check_seconds("idle", idle)
    _check_callable("clock", clock)
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            if name in before:
                before[name]()
            fns[name]()
    times = {name: [] for name in names}
    shuffle = np.random.default_rng(0).permutation
    for r in range(repeats):
        first = names[r % len(names)]
        rest = [n for n in names if n != first]
        for name in [first] + [rest[i] for i in shuffle(len(rest))]:
            if name in before:
                before[name]()
            if idle:
                time.sleep(idle)
            start = clock()
            fns[name]()
            times[name].append(clock() - start)
    return {name: TIME_STATS[stat](times[name]) for name in names}


def saved_tensor_bytes(fn: Callable[[], object], exclude: Iterable[torch.Tensor] = ()):
    """Run ``fn()`` and count the bytes autograd keeps for the backward pass: the cache.

    Every tensor that an operation saves for its backward (``ctx.save_for_backward`` or a
    built-in op's saved inputs and outputs) passes through
    :func:`torch.autograd.graph.saved_tensors_hooks`. Each memory block (storage) is counted
    once, in full, however many times and through whatever views it is saved. The storages of
    the ``exclude`` tensors (typically the parameters and the input, which exist anyway) are
    not counted. The count is exact and deterministic, unlike a process's memory use.

    Args:
        fn: a callable without arguments that runs a forward pass with autograd on.
        exclude: tensors whose storage is not to be counted.

    Returns:
        ``(result, nbytes)``: what ``fn()`` returned (keep it alive: it holds the graph) and
        the number of bytes of the distinct saved storages.
    """
    _check_callable("fn", fn)
    excluded = set()
    for t in exclude:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"exclude must hold torch.Tensors; got {type(t).__name__}")
        excluded.add(t.untyped_storage().data_ptr())
    storages = {}

    def pack(t):
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in excluded:
            storages[ptr] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        result = fn()
    return result, int(sum(storages.values()))


class RecomputationStats(NamedTuple):
    """Memory of :func:`backward_with_recomputation`, in bytes.

    Attributes:
        boundary_bytes: the stored states ``(h, c)``, one pair per chunk, kept from the forward
            pass until the backward pass reaches them.
        chunk_cache_bytes: the largest cache of one recomputed chunk
            (:func:`saved_tensor_bytes`, parameters and inputs excluded); it lives only while
            that chunk is backpropagated.
    """

    boundary_bytes: int
    chunk_cache_bytes: int


def backward_with_recomputation(model, x: torch.Tensor, dout: torch.Tensor, chunk: int) -> RecomputationStats:
    r"""Backpropagate ``dout`` through ``model(x)`` keeping only one state per chunk of steps.

    The forward pass runs without a graph and stores the states :math:`(\mathbf{h}, \mathbf{c})`
    at the start of every chunk of ``chunk`` steps. The backward pass then visits the chunks
    from the last to the first: it recomputes the chunk's forward pass with a graph, starting
    from its stored state, backpropagates the chunk's output gradient together with the
    gradient that reached the chunk's final state from the later chunks, and passes on the
    gradient with respect to its initial state. Gradients are exact (those of
    ``model(x)[0].backward(dout)``, accumulated into ``.grad`` the same way); the price is a
    second forward pass. Memory: ``ceil(T / chunk)`` stored state pairs, plus the cache of a
    single chunk, instead of the cache of all ``T`` steps (Chen et al. 2016; Gruslys et al. 2016).

    Args:
        model: a single-layer, time-major LSTM with ``torch.nn.LSTM``'s contract,
            ``model(x, (h_0, c_0)) -> (output, (h_n, c_n))``, states ``(1, B, H)``.
        x: ``(T, B, D)`` input (set ``requires_grad`` to receive ``x.grad``).
        dout: ``(T, B, H)`` gradient of the loss with respect to the output.
        chunk: steps per chunk, ``>= 1`` (``chunk >= T`` is ordinary BPTT).

    Returns:
        :class:`RecomputationStats` with the bytes of the stored states and of the largest
        chunk cache.
    """
    chunk = _check_int("chunk", chunk, 1)
    if not isinstance(x, torch.Tensor) or x.dim() != 3:
        raise ValueError(f"x must be a (T, B, D) tensor; got {x.shape if isinstance(x, torch.Tensor) else type(x).__name__}")
    T, B, _ = x.shape
    H = model.hidden_size
    if not isinstance(dout, torch.Tensor) or tuple(dout.shape) != (T, B, H):
        got = tuple(dout.shape) if isinstance(dout, torch.Tensor) else type(dout).__name__
        raise ValueError(f"dout must have the output's shape (T, B, H) = {(T, B, H)}; got {got}")
    zeros = torch.zeros(1, B, H, dtype=x.dtype, device=x.device)
    starts = list(range(0, T, chunk))
    states = [(zeros, zeros.clone())]  # (h, c) at the start of every chunk
    with torch.no_grad():
        for s in starts[:-1]:
            _, state = model(x[s : s + chunk], states[-1])
            states.append(state)
    boundary = sum(h.nbytes + c.nbytes for h, c in states)
    exclude = [x, *model.parameters()]
    dh, dc = torch.zeros_like(zeros), torch.zeros_like(zeros)  # the final state does not enter the loss
    largest = 0
    for s, (h0, c0) in zip(reversed(starts), reversed(states)):
        h0, c0 = h0.detach().requires_grad_(True), c0.detach().requires_grad_(True)
        (out, (h_n, c_n)), cache = saved_tensor_bytes(lambda: model(x[s : s + chunk], (h0, c0)),
                                                     exclude=exclude + [h0, c0])
        largest = max(largest, cache)
        torch.autograd.backward([out, h_n, c_n], [dout[s : s + chunk], dh, dc])
        dh, dc = h0.grad, c0.grad
    return RecomputationStats(int(boundary), int(largest))


def loglog_slope(x, y) -> float:
    r"""The slope :math:`p` of the least-squares line :math:`\log y = p \log x + q`.

    A quantity that grows as :math:`y \propto x^p` draws a straight line of slope :math:`p`
    on log-log axes; the fitted slope says which power a measurement follows. It is
    :func:`lstm_course.gradients.fit_log_slope` (``ln y`` against a variable) applied to ``ln x``.

    Args:
        x, y: sequences of positive numbers of the same length (at least two distinct ``x``).

    Returns:
        The fitted slope (a float).
    """
    x_arr, y_arr = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x_arr.ndim != 1 or x_arr.shape != y_arr.shape or x_arr.size < 2:
        raise ValueError(f"x and y must be 1-D of the same length >= 2; got shapes {x_arr.shape} and {y_arr.shape}")
    if not (np.all(np.isfinite(x_arr)) and np.all(np.isfinite(y_arr)) and x_arr.min() > 0 and y_arr.min() > 0):
        raise ValueError(f"x and y must be finite and positive (logarithms are taken); got x={x_arr}, y={y_arr}")
    if np.unique(x_arr).size < 2:
        raise ValueError(f"x needs at least two distinct values to fit a slope; got {x_arr}")
    return fit_log_slope(np.log(x_arr), y_arr)  # the course's one fit: ln y against a line
