"""Forward+backward time, GFLOP/s and memory of the course's LSTMs beside torch.nn.LSTM, measured fairly on a small CPU.

Run ``python benchmarks/bench_rnn.py`` (about two minutes on a 2-core laptop); ``--quick`` for a
smoke run of a few seconds. See ``benchmarks/README.md`` for what each column means.
"""
from __future__ import annotations

import argparse
import copy
import os
import platform
import sys
import time
import tracemalloc
from typing import Callable, NamedTuple

import numpy as np
import torch

from lstm_course import convert
from lstm_course import numpy as lnp
from lstm_course.cost import TIME_STATS, time_calls
from lstm_course.numpy import fast
from lstm_course.torch import LSTM

SIZES = [(100, 32, 128, 128), (50, 64, 32, 64), (200, 16, 1, 32), (100, 64, 256, 256)]
QUICK_SIZES = [(20, 8, 16, 16), (30, 4, 1, 8)]
DTYPES = {"float32": (np.float32, torch.float32), "float64": (np.float64, torch.float64)}
REF, CONTROL, NUMPY, PLAIN = "nn.LSTM", "CONTROL nn.LSTM copy", "NumPy LSTM", "NumPy LSTM, plain reference"
AUTOGRAD, BPTT = "torch LSTM autograd", "torch LSTM hand-BPTT"
NUMPY_FLOOR, TORCH_FLOOR = "floor: NumPy matmuls only", "floor: torch matmuls only"
NUMPY_PASSES = "floor: NumPy matmuls + passes"  # the products and the fewest element-wise passes
# The NumPy floor is timed with each way of activating the gates (one tanh after halving, or one exp
# after scaling by -1 and -2) and reports the faster: which one is cheaper depends on the machine.
NUMPY_PASSES_ROUTES = {"tanh": NUMPY_PASSES + " (tanh)", "exp": NUMPY_PASSES + " (exp)"}
TORCH_PASSES = "floor: torch matmuls + passes"
PASSES_FLOORS = {NUMPY: NUMPY_PASSES, BPTT: TORCH_PASSES}
FLOORS = {NUMPY: NUMPY_FLOOR, BPTT: TORCH_FLOOR}  # implementation -> its matrix products alone
# implementation -> its matrix products plus the fixed cost of every other call it makes per step
# (computed: the matmul floor at this size + T x the per-step cost measured at B = D = H = 1)
DISPATCH_FLOORS = {NUMPY: "floor: NumPy matmuls + calls", BPTT: "floor: torch matmuls + calls"}
ROWS = [REF, CONTROL, NUMPY, PLAIN, NUMPY_FLOOR, DISPATCH_FLOORS[NUMPY], NUMPY_PASSES, AUTOGRAD, BPTT,
        TORCH_FLOOR, DISPATCH_FLOORS[BPTT], TORCH_PASSES]
TARGETS = {  # implementation, dtype -> largest allowed time ratio to nn.LSTM (issue 9)
    (NUMPY, "float64"): 0.8, (NUMPY, "float32"): 1.2, (BPTT, "float64"): 1.3, (BPTT, "float32"): 1.3,
}


def forward_flops(T, B, D, H) -> int:
    """Multiply-adds ×2 of the LSTM's matrix products: ``8·H·(D+H)`` per step and sample."""
    return 8 * H * (D + H) * T * B


# --- the implementations ---------------------------------------------------------------------------------
class Case(NamedTuple):
    """One implementation at one size: ``run()`` does forward+backward, ``reset()`` clears gradients
    (untimed), ``result()`` returns the input gradient, ``inputs`` are the tensors it did not create."""

    run: Callable
    reset: Callable
    result: Callable
    inputs: tuple = ()


def torch_case(module, x, dy):
    """Forward and backward of a torch module with upstream gradient ``dy`` on every hidden state."""
    x = x.clone().requires_grad_(True)

    def run():
        out, _ = module(x)
        out.backward(dy)

    def reset():
        module.zero_grad(set_to_none=True)
        x.grad = None

    return Case(run, reset, lambda: x.grad, (x, *module.parameters()))


def numpy_case(params, xs, dhs, module=fast):
    """Forward and backward of a NumPy LSTM: the fast twin by default, or the plain reference."""
    box = {}

    def run():
        _, _, cache = module.lstm_forward(xs, params)
        box["dxs"] = module.lstm_backward(dhs, cache)[0]

    return Case(run, lambda: None, lambda: torch.from_numpy(box["dxs"]))


def numpy_floor_case(params, xs, passes=False, activation="tanh"):
    """Only the matrix products of fast.lstm_forward + fast.lstm_backward (same shapes, same calls), no
    element-wise work: no NumPy LSTM built from these products can be faster.

    With ``passes``, each step also makes the fewest element-wise passes the equations need, each one
    NumPy call on the real shapes (``P = B·H`` numbers). Forward: ``a_t += W_hh h_{t-1}`` over ``4P``;
    the activation of all four gates, by ``activation``: ``"tanh"``, one ``tanh`` over ``4P`` and the
    three sigmoids' affine as if fused into one pass over ``3P`` (the halving route), or ``"exp"``,
    one ``exp``, ``+ 1`` and one division over ``4P`` each and ``− 1`` over the g block's ``P`` (the
    route of ``fast.gates_forward``: no cheaper way to get a sigmoid from NumPy's ufuncs); then
    ``f⊙c``, ``i⊙g`` and their sum over ``P`` each, ``tanh(c)`` (one ``tanh`` over ``P``, or by the
    exp route ``2 / (1 + e^{-2c}) − 1`` in five passes over ``P``, as ``fast.tanh_by_exp``), and
    ``o⊙tanh(c)``. Backward: the gates' derivatives as if fused into one pass over ``4P`` and one
    over ``P`` (``1 - tanh²c``), ``δh``, ``δh⊙u``, ``δc̄``, ``δa`` of i, f, g over ``3P``, of o and
    ``δc_{t-1}`` over ``P``. That is 29 ``P`` numbers in 16 calls per step by the tanh route, 39 in
    22 by the exp route, on one thread (NumPy's element-wise work has no other); the faster of the
    two is a floor for any NumPy LSTM, which cannot make fewer passes with NumPy's ufuncs.
    """
    T, B, D = xs.shape
    H = params["W_hh"].shape[1]
    W_ih, W_hh = params["W_ih"], params["W_hh"]
    W_hhT, W_ihT, xs2 = np.ascontiguousarray(W_hh.T), np.ascontiguousarray(W_ih.T), xs.reshape(T * B, D)
    # dh starts at zero, and the passes keep the stand-in gradients at exact zeros: an uninitialised
    # buffer could hold NaN or subnormal numbers, and subnormal arithmetic is slow on x86
    h, dh, recurrent = np.zeros((B, H), xs.dtype), np.zeros((B, H), xs.dtype), np.empty((B, 4 * H), xs.dtype)
    hs2 = np.zeros(((T - 1) * B, H), xs.dtype)
    gates = np.empty((T, B, 4 * H), xs.dtype)
    c, tmp, u, dc = np.zeros((4, B, H), xs.dtype)  # (B, H) operands and results of the passes
    half, one, two, minus_two = (np.asarray(v, xs.dtype) for v in (0.5, 1.0, 2.0, -2.0))
    k = fast.gate_scale(H, xs.dtype)[1]  # 1 on i, f, o and 2 on g
    # every view a step needs, made once: the loop below makes only the calls it counts
    steps = [(a, a[:, : 3 * H], a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :],
              a[:, : 3 * H].reshape(B, 3, H)) for a in gates]
    tmp3 = tmp[:, None, :]

    def activate_tanh(a, ifg, g):
        np.tanh(a, out=a)
        np.multiply(ifg, half, out=ifg)

    def activate_exp(a, ifg, g):
        np.exp(a, out=a)
        np.add(a, one, out=a)
        np.divide(k, a, out=a)
        np.subtract(g, one, out=g)

    def tanh_by_exp(x, out):
        np.multiply(x, minus_two, out=out)
        np.exp(out, out=out)
        np.add(out, one, out=out)
        np.divide(two, out, out=out)
        np.subtract(out, one, out=out)

    activate = {"tanh": activate_tanh, "exp": activate_exp}[activation]
    tanh = {"tanh": np.tanh, "exp": tanh_by_exp}[activation]

    def forward_passes(a, ifg, i, f, g, o, _):
        np.add(a, recurrent, out=a)
        activate(a, ifg, g)
        np.multiply(f, c, out=c)
        np.multiply(i, g, out=tmp)
        np.add(c, tmp, out=c)
        tanh(c, out=tmp)
        np.multiply(o, tmp, out=h)

    def backward_passes(a, ifg, i, f, g, o, ifg3):
        np.multiply(a, a, out=a)
        np.multiply(u, u, out=u)
        np.add(dh, u, out=dh)
        np.multiply(dh, u, out=tmp)
        np.add(tmp, dc, out=tmp)
        np.multiply(ifg3, tmp3, out=ifg3)
        np.multiply(o, dh, out=o)
        np.multiply(tmp, f, out=dc)

    def run():
        np.matmul(xs2, W_ihT, out=gates.reshape(T * B, 4 * H))  # input projection
        for t in range(T):
            np.matmul(h, W_hhT, out=recurrent)  # forward recurrence
            if passes:
                forward_passes(*steps[t])
        for t in reversed(range(T)):
            if passes:
                backward_passes(*steps[t])
            np.matmul(gates[t], W_hh, out=dh)  # backward recurrence
        da2 = gates.reshape(T * B, 4 * H)
        da2 @ W_ih, xs2.T @ da2, h.T @ gates[0], hs2.T @ da2[B:]  # dxs, dW_ih, dW_hh

    return Case(run, lambda: None, lambda: None)


def torch_floor_case(W_ih, W_hh, x, passes=False):
    """Only the matrix products of the hand-BPTT LSTM (lstm_course.torch.bptt), same shapes, same calls.

    With ``passes``, each step also makes the fewest element-wise passes the equations need with
    PyTorch's fused operations (``addmm_`` adds the input projection in the forward and the output's
    gradient in the backward, ``addcmul_`` makes ``f⊙c + i⊙g`` two passes): forward, one
    ``sigmoid_`` over ``4P`` (the cheaper of torch's two activations on x86: the g rows are
    doubled, exactly, so the g block holds ``σ(2aᵍ)`` and ``g = 2σ(2aᵍ) − 1``), ``f⊙c``,
    ``+ 2 i⊙σ(2aᵍ)``, ``− i``, ``tanh(c)``, ``o⊙tanh(c)``; backward, the gates' derivatives as one
    pass over ``4P`` and one over ``P``, ``δc̄ = δc + δh⊙u``, ``δa`` of i, f, g over ``3P``, of o
    and ``δc_{t-1}`` over ``P`` (``P = B·H``; 20 ``P`` numbers, 12 calls a step).
    """
    T, B, D = x.shape
    H = W_hh.shape[1]
    W_hhT, xs2 = W_hh.t(), x.reshape(T * B, D)
    h, dh = torch.zeros(B, H, dtype=x.dtype), torch.zeros(B, H, dtype=x.dtype)  # zeros: see numpy_floor_case
    Z = torch.ones(T * B, D + H + 1, dtype=x.dtype)  # [X, H_prev, 1] of the parameters' gradients
    gates = torch.empty(T, B, 4 * H, dtype=x.dtype)
    c, tmp, u, dc = torch.zeros(4, B, H, dtype=x.dtype).unbind(0)
    # every view a step needs, made once: the loops make only the calls they count
    steps = [(a, a[:, : 3 * H], a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :],
              a[:, : 3 * H].view(B, 3, H)) for a in gates.unbind(0)]
    tmp3 = tmp[:, None, :]

    def forward_passes(a, ifg, i, f, g, o, _):
        a.sigmoid_()
        c.mul_(f)
        c.addcmul_(i, g, value=2.0)
        c.sub_(i)
        torch.tanh(c, out=tmp)
        torch.mul(o, tmp, out=h)

    def backward_passes(a, ifg, i, f, g, o, ifg3):
        a.mul_(a)
        u.mul_(u)
        torch.addcmul(dc, dh, u, out=tmp)
        ifg3.mul_(tmp3)
        o.mul_(dh)
        torch.mul(tmp, f, out=dc)

    def run():
        torch.mm(xs2, W_ih.t(), out=gates.view(T * B, 4 * H))  # input projection
        for t in range(T):
            steps[t][0].addmm_(h, W_hhT)  # forward recurrence
            if passes:
                forward_passes(*steps[t])
        for t in range(T - 1, 0, -1):
            if passes:
                backward_passes(*steps[t])
            dh.addmm_(steps[t][0], W_hh)  # backward recurrence, added to the output's gradient
        da2 = gates.view(T * B, 4 * H)
        da2 @ W_ih, Z.t() @ da2  # dxs; dW_ih, dW_hh and db in one product, Z = [X, H_prev, 1]

    return Case(run, lambda: None, lambda: None)


def build_cases(T, B, D, H, dtype_name, seed):
    np_dtype, t_dtype = DTYPES[dtype_name]
    torch.manual_seed(seed)
    ref = torch.nn.LSTM(D, H, dtype=t_dtype)
    x = torch.randn(T, B, D, dtype=t_dtype)
    dy = torch.randn(T, B, H, dtype=t_dtype)
    params = convert.from_torch(ref, dtype=np_dtype)
    modules = {REF: ref, CONTROL: copy.deepcopy(ref), AUTOGRAD: LSTM.from_torch(ref),
               BPTT: LSTM.from_torch(ref, backward="bptt")}
    cases = {name: torch_case(m, x, dy) for name, m in modules.items()}
    arrays = (params, x.numpy().astype(np_dtype), dy.numpy().astype(np_dtype))  # (params, xs, dhs)
    cases[NUMPY] = numpy_case(*arrays)
    cases[PLAIN] = numpy_case(*arrays, module=lnp)
    cases[NUMPY_FLOOR] = numpy_floor_case(arrays[0], arrays[1])
    for route, name in NUMPY_PASSES_ROUTES.items():
        cases[name] = numpy_floor_case(arrays[0], arrays[1], passes=True, activation=route)
    with torch.no_grad():
        weights = (ref.weight_ih_l0.detach(), ref.weight_hh_l0.detach())
    cases[TORCH_FLOOR] = torch_floor_case(*weights, x)
    cases[TORCH_PASSES] = torch_floor_case(*weights, x, passes=True)
    timed = [name for name in ROWS if name not in DISPATCH_FLOORS.values() and name != NUMPY_PASSES]
    return {name: cases[name] for name in timed + list(NUMPY_PASSES_ROUTES.values())}, arrays


# --- measurements --------------------------------------------------------------------------------------------


def time_cases(cases, reps, pause, clock=time.perf_counter, stat="min"):
    """Seconds per case over ``reps`` repetitions (their minimum or median), each after ``pause`` s idle,
    in rotating order, by the course's one timing helper, :func:`lstm_course.cost.time_calls`.

    The minimum is the default: on a small shared machine noise only ever adds time (a thread
    woken late, a neighbour's burst), so the fastest repetition is the steadiest estimate of what
    the code costs; with the idle gaps, OpenMP's thread wake-up makes medians swing by 2-3x.
    """
    return time_calls({n: c.run for n, c in cases.items()}, repeats=reps, warmup=1, idle=pause, clock=clock,
                      stat=stat, before={n: c.reset for n, c in cases.items()})


def saved_bytes_torch(run, reset, exclude) -> int:
    """Bytes of the unique storages autograd keeps for backward, inputs and parameters excluded."""
    seen, skip = {}, {t.untyped_storage().data_ptr() for t in exclude}

    def pack(t):
        s = t.untyped_storage()
        if s.data_ptr() not in skip:
            seen[s.data_ptr()] = s.nbytes()
        return t

    reset()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        run()
    return sum(seen.values())


def numpy_memory(params, xs, dhs, module=fast):
    """(saved, peak): the cache's own arrays in bytes, and tracemalloc's peak over forward+backward."""
    tracemalloc.start()
    _, _, cache = module.lstm_forward(xs, params)
    module.lstm_backward(dhs, cache)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    inputs = {id(a) for a in (xs, *params.values())}
    saved = {id(a.base if a.base is not None else a): a.nbytes for a in cache
             if isinstance(a, np.ndarray) and id(a) not in inputs}
    return sum(saved.values()), peak


def matmul_gflops(np_dtype, n=1024, reps=5, pause=0.1, clock=time.perf_counter, stat="min") -> float:
    """The machine's own NumPy matrix-product speed: ``2·n³`` flops per ``(n, n) @ (n, n)``."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)).astype(np_dtype), rng.standard_normal((n, n)).astype(np_dtype)
    t = time_calls({"matmul": lambda: a @ b}, repeats=reps, warmup=1, idle=pause, clock=clock, stat=stat)
    return 2 * n**3 / t["matmul"] / 1e9


def fixed_cost_per_step(a, clock, T=200):
    """Microseconds per time step of forward+backward at B = D = H = 1, where arithmetic is nil and
    what remains is the fixed cost of the calls each step makes (Python, NumPy or PyTorch dispatch)."""
    cases, _ = build_cases(T, 1, 1, 1, "float32", a.seed)
    cases = {n: cases[n] for n in (REF, NUMPY, PLAIN, BPTT, NUMPY_FLOOR, TORCH_FLOOR)}
    times = time_cases(cases, a.reps, a.pause, clock, stat=a.stat)
    return {n: t / T * 1e6 for n, t in times.items()}


# --- the report ----------------------------------------------------------------------------------------------
def check_agreement(cases, dtype_name):
    """Every implementation's input gradient equals nn.LSTM's: the benchmark times correct code."""
    tol = 1e-9 if dtype_name == "float64" else 2e-3
    ref = cases[REF].result()
    for name, case in cases.items():
        floors = (*FLOORS.values(), *DISPATCH_FLOORS.values(), *PASSES_FLOORS.values(), *NUMPY_PASSES_ROUTES.values())
        if name in floors:  # not an LSTM
            continue
        err = float((case.result() - ref).abs().max()) / max(1.0, float(ref.abs().max()))
        if err > tol:
            raise AssertionError(f"{name} disagrees with nn.LSTM: relative error {err:.2e} > {tol:g}")


def parse_sizes(text):
    try:
        sizes = [tuple(int(v) for v in part.split(",")) for part in text.split(";") if part.strip()]
    except ValueError:
        sizes = []
    if not sizes or any(len(s) != 4 or min(s) <= 0 for s in sizes):
        raise SystemExit(f"--sizes must look like 'T,B,D,H;T,B,D,H' with positive ints; got {text!r}")
    return sizes


def set_threads(n: int) -> None:
    """Use ``n`` threads in torch and in NumPy's BLAS (which reads its setting at start: re-execute once)."""
    if n <= 0:
        raise SystemExit(f"--threads must be a positive int; got {n}")
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    if any(os.environ.get(k) != str(n) for k in names):
        os.environ.update({k: str(n) for k in names})
        os.execv(sys.executable, [sys.executable, *sys.argv])
    torch.set_num_threads(n)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes, 3 repetitions: a smoke run of seconds")
    p.add_argument("--sizes", help="'T,B,D,H;T,B,D,H' (default: the four course sizes)")
    p.add_argument("--dtypes", default="float32,float64", help="comma-separated: float32, float64")
    p.add_argument("--reps", type=int, help="timed repetitions per implementation (default 9; 3 with --quick)")
    p.add_argument("--pause", type=float, help="seconds of idle before each timed call (default 0.1; 0.01 quick)")
    p.add_argument("--threads", type=int, help="threads for torch and BLAS (default: their own default)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall: elapsed time (default). cpu: this process's CPU time, steadier on a loaded "
                        "machine but meaningful with --threads 1 only (spinning threads count too)")
    p.add_argument("--stat", choices=sorted(TIME_STATS), default="min",
                   help="min (default): the fastest repetition, steadiest on a shared machine; or median")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    a.sizes = parse_sizes(a.sizes) if a.sizes else (QUICK_SIZES if a.quick else SIZES)
    a.dtypes = [d.strip() for d in a.dtypes.split(",")]
    if any(d not in DTYPES for d in a.dtypes):
        raise SystemExit(f"--dtypes must be from float32, float64; got {','.join(a.dtypes)!r}")
    a.reps = a.reps or (3 if a.quick else 9)
    if a.reps <= 0:
        raise SystemExit(f"--reps must be a positive int; got {a.reps}")
    a.pause = a.pause if a.pause is not None else (0.01 if a.quick else 0.1)
    return a


def print_preamble(a, peak):
    n = torch.get_num_threads()
    print(f"LSTM forward+backward, CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs; "
          f"torch {torch.__version__} ({n} thread{'s' * (n != 1)}), NumPy {np.__version__}, "
          f"Python {sys.version.split()[0]}")
    print(f"{a.stat} of {a.reps} repetitions ({a.clock} clock), a new order each repetition (rotated first, "
          f"shuffled rest), {a.pause:g} s idle before each timed call")
    print("every implementation computes d(input) and d(parameters) from an upstream gradient on all h_t; "
          "their input gradients are checked equal to nn.LSTM's before timing")
    print("machine NumPy matmul: " + ", ".join(f"{d} {g:.1f} GFLOP/s" for d, g in peak.items()))
    print("memory: 'saved' = bytes kept for backward, inputs and parameters excluded (torch: unique storages seen by "
          "torch.autograd.graph.saved_tensors_hooks; NumPy: the cache's arrays); 'peak' = tracemalloc peak of "
          "NumPy's forward+backward (torch's CPU allocator keeps no statistics)\n")


def dispatch_floor(name, size, med, fixed) -> float:
    """Seconds: ``name``'s matrix products at ``size`` plus ``T`` times the fixed cost per step of its
    other calls (its time per step at B = D = H = 1 less its matmul floor's there). No code that
    makes the same calls can be faster: each call costs at least its fixed cost, at any size."""
    per_step = max(fixed[name] - fixed[FLOORS[name]], 0.0) * 1e-6
    return med[FLOORS[name]] + size[0] * per_step


def measure(size, d, a, clock, peak, ratios, gflops, fixed):
    """Time, check and print every row at one size and dtype; fill ``ratios``, ``gflops``."""
    cases, arrays = build_cases(*size, d, a.seed)
    med = time_cases(cases, a.reps, a.pause, clock, stat=a.stat)
    check_agreement(cases, d)
    routes = {route: med.pop(name) for route, name in NUMPY_PASSES_ROUTES.items()}
    med[NUMPY_PASSES] = min(routes.values())  # the faster way of activating the gates on this machine
    labels = {NUMPY_PASSES: f"{NUMPY_PASSES} ({min(routes, key=routes.get)})"}
    for name, floor in DISPATCH_FLOORS.items():
        med[floor] = dispatch_floor(name, size, med, fixed)
    np_memory = {NUMPY: numpy_memory(*arrays), PLAIN: numpy_memory(*arrays, module=lnp)}
    flops = 3 * forward_flops(*size)
    # nn.LSTM's time is the faster of its two copies: a slow outlier of one copy (a thread woken
    # late in every repetition) must not flatter the others' ratios. CONTROL keeps its own ratio.
    base = min(med[REF], med[CONTROL])
    for k, name in enumerate(ROWS):
        ratio, g = med[name] / base, flops / med[name] / 1e9
        ratios[(name, d, size)], gflops[(name, d, size)] = ratio, g
        if name in np_memory:
            saved, pk = (f"{np_memory[name][0] / 2**20:9.2f}", f"{np_memory[name][1] / 2**20:8.2f}")
        elif name in FLOORS.values() or name in DISPATCH_FLOORS.values() or name in PASSES_FLOORS.values():
            saved, pk = f"{'-':>9}", f"{'-':>8}"
        else:
            case = cases[name]
            saved, pk = f"{saved_bytes_torch(case.run, case.reset, case.inputs) / 2**20:9.2f}", f"{'-':>8}"
        lead = f"{d:8} {str(size):20}" if k == 0 else " " * 29
        print(f"{lead} {labels.get(name, name):35} {med[name] * 1e3:10.2f} {ratio:10.2f} {g:8.2f} {100 * g / peak[d]:7.1f}% "
              f"{saved} {pk}", flush=True)


def print_checks(a, peak, ratios, gflops, fixed):
    print("checks (printed, never asserted: timings depend on the machine and its load)")
    for d in a.dtypes:
        for size in a.sizes:
            r = ratios[(CONTROL, d, size)] / ratios[(REF, d, size)]  # CONTROL's time over nn.LSTM's
            ok = abs(r - 1.0) <= 0.05
            print(f"  CONTROL {d} {size}: {r:.2f}, {'within' if ok else 'OUTSIDE'} 1.00 ± 0.05"
                  + ("" if ok else " -> the machine is noisy; distrust ratios closer than this"))
    for (name, d), limit in TARGETS.items():
        if d in a.dtypes:
            worst_size = max(a.sizes, key=lambda s: ratios[(name, d, s)])
            worst = ratios[(name, d, worst_size)]
            floor = ratios[(FLOORS[name], d, worst_size)]
            calls = ratios[(DISPATCH_FLOORS[name], d, worst_size)]
            print(f"  {'PASS' if worst <= limit else 'MISS'} {name} <= {limit:.1f}x nn.LSTM in {d} at every size "
                  f"(worst {worst:.2f}x at {worst_size}; its matrix products alone take {floor:.2f}x, "
                  f"with its calls' fixed cost {calls:.2f}x)")
            for size in a.sizes:
                floors = [DISPATCH_FLOORS[name], PASSES_FLOORS[name]]
                for floor_name in floors:
                    over = ratios[(floor_name, d, size)]
                    if ratios[(name, d, size)] > limit and over > limit:
                        print(f"    at {size} the target is below the floor: {floor_name} "
                              f"{over:.2f}x > {limit:.1f}x")
    big = (100, 64, 256, 256)
    for d in a.dtypes:
        if big in a.sizes:
            frac = gflops[(NUMPY, d, big)] / peak[d]
            print(f"  {'PASS' if frac >= 0.5 else 'MISS'} NumPy LSTM >= 0.5x NumPy matmul GFLOP/s at {big} in {d} "
                  f"({gflops[(NUMPY, d, big)]:.1f} of {peak[d]:.1f} GFLOP/s = {frac:.2f}x)")


def main(argv=None):
    a = parse_args(argv)
    if a.threads is not None:
        set_threads(a.threads)
    clock = time.perf_counter if a.clock == "wall" else time.process_time
    peak = {d: matmul_gflops(DTYPES[d][0], n=256 if a.quick else 1024, clock=clock, stat=a.stat) for d in a.dtypes}
    print_preamble(a, peak)
    header = (f"{'dtype':8} {'(T, B, D, H)':20} {'implementation':35} {a.stat + ' ms':>10} {'x nn.LSTM':>10} "
              f"{'GFLOP/s':>8} {'% matmul':>8} {'saved MB':>9} {'peak MB':>8}")
    fixed = fixed_cost_per_step(a, clock)
    print("fixed cost per time step, forward+backward at B = D = H = 1 (float32, T = 200): "
          + ", ".join(f"{n} {us:.1f} us" for n, us in fixed.items()) + "\n")
    print(header)
    print("-" * len(header))
    ratios, gflops = {}, {}
    for d in a.dtypes:
        for size in a.sizes:
            measure(size, d, a, clock, peak, ratios, gflops, fixed)
        print()
    print_checks(a, peak, ratios, gflops, fixed)


if __name__ == "__main__":
    main()
