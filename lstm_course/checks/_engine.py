"""The checking engine: run the student's code on test cases, compare, and name the mistake.

A check runs the student's function on a few cases (several sizes, ``D ≠ H``, ``B = 1``).
On the first case where the outputs differ from the reference, it tries the known
mistakes: each is a *mutant*, the reference with that one mistake built in; the
mutant whose outputs the student's match names the diagnosis. When none matches, a
few generic patterns are tried (a flipped sign, a transpose, a mean instead of a sum),
then pairs of known mistakes (see :func:`compare`), then one parameter's gradient alone
wrong, and otherwise the first differing quantity is reported with its relative error.
"""
from __future__ import annotations

import copy
from itertools import combinations
from typing import Callable, Iterable, NamedTuple

import numpy as np

from . import _feedback as F
from . import _traps

#: Two results agree when their relative error is below this (float64 arithmetic).
TOL = 1e-6


class Case(NamedTuple):
    """One test case: a label for messages and the inputs (copied before each student call)."""

    label: str
    data: dict


class Mutant(NamedTuple):
    """A known mistake: its diagnosis code, the facts for the message, its outputs, and the
    quantities left out of the comparison (a mistake with several equally plausible forms
    skips the quantity on which they differ). A mutant built by :func:`mutants` also keeps
    the function and keyword arguments that build it (``call(**kw)``), so that
    :func:`compose` can build two mistakes into one reference."""

    code: str
    detail: dict
    outputs: Callable[[], dict]
    skip: tuple = ()
    kw: dict | None = None
    call: Callable | None = None


class Incompatible(ValueError):
    """Two mistakes that cannot be built in together: two variants of one equation."""


def mistakes_of(mistake) -> frozenset:
    """The mistake codes a mutant function was given: None, one code, or a tuple of codes."""
    if mistake is None:
        return frozenset()
    return frozenset((mistake,) if isinstance(mistake, str) else mistake)


def one_of(variants: dict, mistakes: frozenset, default):
    """The variant of one equation that ``mistakes`` selects (``default`` when none does).

    Two codes of ``variants`` at once are two different versions of the same equation:
    :class:`Incompatible`.
    """
    hits = [m for m in variants if m in mistakes]
    if len(hits) > 1:
        raise Incompatible(" and ".join(hits))
    return variants[hits[0]] if hits else default


class OutputProblem(Exception):
    """The student's return value has the wrong structure (raised by the unpack functions)."""

    def __init__(self, code: str, **detail):
        super().__init__(code)
        self.code, self.detail = code, detail


def raised_in(error: BaseException, name: str) -> str:
    """The name of the function that raised ``error`` (its innermost frame), or "" when it is ``name``."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = tb.tb_frame.f_code.co_name if tb is not None else ""
    return "" if where in (name, "<lambda>", "<module>", "__init__", "forward") else where


def rel_err(a, b) -> float:
    """``‖a − b‖ / max(‖a‖, ‖b‖)``, 0 when both are zero (as ``lstm_course.numpy.relative_error``)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(a - b) / scale)


def to_array(value, quantity: str) -> np.ndarray:
    """The student's ``value`` as a float64 array, or an :class:`OutputProblem` naming ``quantity``."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise OutputProblem("bad_return", problem=f"{quantity} is a {type(value).__name__}, not an array.",
                            hint=f"Return {quantity} as a NumPy array.") from None
    return arr


def to_number(value, quantity: str, hint: str) -> np.ndarray:
    """The student's ``value`` as a 0-d float64 array, or an :class:`OutputProblem` naming
    ``quantity`` (with ``hint``) when it is not one number."""
    arr = to_array(value, quantity)
    if arr.size != 1:
        raise OutputProblem("bad_return", problem=f"{quantity} should be one number; got shape {arr.shape}.",
                            hint=hint)
    return arr.reshape(())


def expect_tuple(value, names: tuple, func: str) -> tuple:
    """Check that the student returned a tuple of ``len(names)`` items."""
    want = "(" + ", ".join(names) + ")"
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        got = "None" if value is None else (
            f"a tuple of {len(value)} items" if isinstance(value, (tuple, list)) else f"a {type(value).__name__}")
        raise OutputProblem("bad_return", problem=f"{func} returned {got}; expected a tuple {want}.",
                            hint=f"End the function with `return {want[1:-1]}`.")
    return tuple(value)


def expect_grads(grads, keys: Iterable[str], quantity: str = "grads") -> dict:
    """Check that ``grads`` is a dict holding every key of ``keys``; return it as ``{'d' + key: array}``."""
    keys = list(keys)
    if not isinstance(grads, dict):
        raise OutputProblem("bad_return", problem=f"{quantity} is a {type(grads).__name__}, not a dict.",
                            hint=f"Return {quantity} as a dict with the keys {', '.join(keys)}.")
    missing = [k for k in keys if k not in grads]
    if missing:
        raise OutputProblem("bad_return", problem=f"{quantity} has no entry for {', '.join(missing)} "
                            f"(its keys: {', '.join(map(str, grads)) or 'none'}).",
                            hint=f"{quantity} needs one gradient per parameter: keys {', '.join(keys)}.")
    return {f"d{k}": to_array(grads[k], f"{quantity}['{k}']") for k in keys}


def function_name(fn, checker: str, example: str) -> str:
    """The name of the student's function for messages; a ``TypeError`` when ``fn`` is not callable."""
    if not callable(fn):
        raise TypeError(f"{checker} needs your function, e.g. {checker}({example}); got {type(fn).__name__}")
    return getattr(fn, "__name__", example)


#: Mistakes that leave the initial-state gradient ambiguous (zero, or the first step's): not compared.
_SKIP = {"dh_not_carried": ("dh0",), "dc_not_carried": ("dc0",)}


def mutants(table, call) -> list:
    """:class:`Mutant` objects from a table of ``(code, detail, kwargs)`` and ``call(**kwargs) -> outputs``."""
    return [Mutant(code, detail, (lambda kw=kw: call(**kw)), _SKIP.get(code, ()), kw, call)
            for code, detail, kw in table]


def compose(a: Mutant, b: Mutant) -> Mutant | None:
    """The reference with the mistakes of ``a`` and ``b`` both built in, or None when they do not compose.

    Their keyword arguments are merged, the ``mistake`` codes joined into a tuple. They do
    not compose when either was not built by :func:`mutants`, when they come from different
    functions, or when both set the same other argument (two gate orders). Two variants of
    one equation are found only when the outputs are computed: :class:`Incompatible`.
    """
    if a.kw is None or b.kw is None or a.call is not b.call or (a.kw.keys() & b.kw.keys()) - {"mistake"}:
        return None
    kw = {**a.kw, **b.kw}
    if "mistake" in a.kw and "mistake" in b.kw:
        kw["mistake"] = tuple(sorted(mistakes_of(a.kw["mistake"]) | mistakes_of(b.kw["mistake"])))
    return Mutant("two_mistakes", {"mistakes": ((a.code, a.detail), (b.code, b.detail))},
                  lambda: a.call(**kw), a.skip + b.skip, kw, a.call)


def _pairs(singles: list):
    """``(j, k, mutant)`` for every pair of ``singles`` that composes, in the order of the list."""
    for (j, a), (k, b) in combinations(enumerate(singles), 2):
        pair = compose(a, b)
        if pair is not None:
            yield j, k, pair


def _matches(got: dict, ref: dict, mutant: Mutant) -> bool:
    """Whether ``got`` equals the mutant's outputs on every compared quantity (False when it cannot be built)."""
    try:
        out = mutant.outputs()
    except Incompatible:
        return False
    return all(got[k].shape == np.shape(out[k]) and rel_err(got[k], out[k]) < TOL
               for k in ref if k not in mutant.skip)


def _shape_hint(quantity: str, expected: tuple, received: tuple) -> str:
    if len(expected) == 3 and expected[0] == 1 and received == expected[1:]:
        return "Like nn.LSTM, keep a leading num_layers dimension of size 1: h.unsqueeze(0)."
    if len(expected) == 2 and received == expected[::-1]:
        return "It looks transposed."
    if quantity.startswith("d"):
        return "A gradient always has the shape of the quantity it is the gradient of."
    return "Compare with the shapes in the function's docstring."


def _pattern(got, ref, bad, batch):
    """A generic pattern that explains every difference: ``(code, detail)``, or None."""
    if all(rel_err(got[k], -ref[k]) < TOL for k in bad):
        return "sign_error", {"quantity": " and ".join(bad)}
    for k in bad:
        if ref[k].ndim == 2 and ref[k].shape[0] == ref[k].shape[1] and rel_err(got[k], ref[k].T) < TOL:
            return "transposed", {"quantity": k}
        if batch and batch > 1 and rel_err(got[k] * batch, ref[k]) < TOL:
            return "batch_mean", {"quantity": k}
    return None


def _fallback(name, got, ref, bad, case, param_keys, verbose):
    """Diagnose without a mutant or pattern: one parameter's gradient, or the first differing quantity."""
    errs = {k: rel_err(got[k], ref[k]) for k in bad}
    if len(bad) == 1 and bad[0] in param_keys:
        k = bad[0]
        return F.failed(name, "param_grad", case.label, verbose, quantity=k, rel_err=errs[k],
                        hint=f"Check the formula for {k}: the product of the upstream gradient with the "
                             f"right input, summed over the batch.")
    right = [k for k in ref if k not in bad]
    also = f"; {', '.join(right)} {'is' if len(right) == 1 else 'are'} right" if right else ""
    if len(bad) > 1:
        also = f"; also wrong: {', '.join(bad[1:])}" + also
    return F.failed(name, "mismatch", case.label, verbose, quantity=bad[0], rel_err=errs[bad[0]], also=also)


def run(name: str, fn, cases: list, invoke: Callable, unpack: Callable, reference: Callable,
        mutants: Callable, *, what: str, param_keys=(), forbid=(), verbose: bool = True) -> F.CheckResult:
    """Check ``fn`` on every case; return the first failure's diagnosis, or a pass.

    Args:
        name: the student's function name, for messages.
        fn: the student's function or class.
        cases: a list of :class:`Case`.
        invoke: ``invoke(fn, data) -> raw`` calls the student's code on a copy of the case's inputs.
        unpack: ``unpack(raw, data) -> {quantity: array}`` (raises :class:`OutputProblem`).
        reference: ``reference(data) -> {quantity: array}`` the correct outputs.
        mutants: ``mutants(data) -> iterable of Mutant`` the known mistakes, most specific first.
        what: the sentence a passing answer gets.
        param_keys: quantities that are parameter gradients (for the one-parameter diagnosis).
        forbid: the package functions that would solve the exercise (``"module:qualname"``,
            see :func:`lstm_course.checks._traps.forbidden`): while ``fn`` runs they are traps,
            and a call to one of them earns no credit.
    """
    return run_stages(name, fn, cases, invoke, [(unpack, reference, mutants, param_keys)], what=what,
                      forbid=forbid, verbose=verbose)


def guarded(invoke: Callable, forbid) -> Callable:
    """``invoke`` run with the functions of ``forbid`` trapped; a call to one raises :class:`_traps.Delegated`
    (also when the student's code caught the first one)."""
    if not forbid:
        return invoke

    def call(fn, data):
        with _traps.trapped(forbid) as calls:
            try:
                raw = invoke(fn, data)
            except BaseException:
                if calls:  # whatever the student's code made of the trap's exception
                    raise _traps.Delegated(calls[0]) from None
                raise
        if calls:
            raise _traps.Delegated(calls[0])
        return raw
    return call


def delegated(name: str, error: "_traps.Delegated", case: str = "", verbose: bool = True) -> F.CheckResult:
    """The result of a submission that called the package's answer."""
    return F.failed(name, "delegated", case, verbose, function=error.name)


def run_stages(name: str, fn, cases: list, invoke: Callable, stages: list, *, what: str, forbid=(),
               verbose: bool = True) -> F.CheckResult:
    """Like :func:`run`, with the outputs compared in stages (e.g. forward, then backward).

    ``stages`` is a list of ``(unpack, reference, mutants, param_keys)``; a later stage is
    compared only when the earlier ones agree, so its mutants may assume they do. The
    references and mutants are computed outside the traps of ``forbid``.
    """
    invoke = guarded(invoke, forbid)
    for case in cases:
        try:
            raw = invoke(fn, copy.deepcopy(case.data))
        except _traps.Delegated as e:
            return delegated(name, e, case.label, verbose)
        except NotImplementedError as e:
            return F.failed(name, "not_implemented", verbose=verbose, where=raised_in(e, name))
        except OutputProblem as p:  # found while invoking (a torch module's parameters, say)
            return F.failed(name, p.code, case.label, verbose, **p.detail)
        except Exception as e:  # the student's code failed: say how, never crash the check
            return F.failed(name, "raised", case.label, verbose, error=f"{type(e).__name__}: {e}")
        for unpack, reference, mutants, param_keys in stages:
            try:
                got = unpack(raw, case.data)
            except OutputProblem as p:
                return F.failed(name, p.code, case.label, verbose, **p.detail)
            failure = compare(name, got, reference(case.data), case, mutants, param_keys, verbose,
                              elsewhere=_elsewhere(fn, cases, case, invoke, unpack))
            if failure is not None:
                return failure
    return F.passed(name, what, verbose)


def _elsewhere(fn, cases, case, invoke, unpack):
    """A function returning ``[(other case, the student's outputs)]`` for every other case on which the
    student's code runs and returns the right structure (called only to confirm a pair)."""
    def outputs():
        found = []
        for other in cases:
            if other is case:
                continue
            try:
                found.append((other, unpack(invoke(fn, copy.deepcopy(other.data)), other.data)))
            except (Exception, _traps.Delegated):  # noqa: BLE001 - neither confirms nor refutes
                continue
        return found
    return outputs


def compare(name, got, ref, case, mutants, param_keys=(), verbose=True, elsewhere=None):
    """Compare one case's outputs; ``None`` when they agree, else the diagnosis.

    The explanations are tried from the simplest up, and the first that fits is given:

    1. one known mistake: the first mutant (in the order of ``mutants``, most specific
       first) whose outputs equal the student's on this case;
    2. one generic pattern: a flipped sign, a transpose, a mean instead of a sum;
    3. two known mistakes at once: every pair of mutants that :func:`compose` can build
       (n mutants give at most n(n − 1)/2 pairs; pairs that cannot be built together are
       skipped). A pair equal to a single mutant never gets here: the single is tried
       first. Every pair that matches on this case is then tried on the other cases
       (``elsewhere()``: the student's outputs there), and kept only when it matches on
       every one of them. One pair left: both mistakes are named, each with its own
       explanation. Several left: the message says so and lists them all, rather than
       pick one. None left: on to 4;
    4. one parameter's gradient alone wrong, or else the first differing quantity with
       its relative error.
    """
    for k in ref:
        if got[k].shape != ref[k].shape:
            return F.failed(name, "wrong_shape", case.label, verbose, quantity=k, expected=ref[k].shape,
                            received=got[k].shape, hint=_shape_hint(k, ref[k].shape, got[k].shape))
    for k in ref:
        if not np.isfinite(got[k]).all():
            return F.failed(name, "not_finite", case.label, verbose, quantity=k)
    bad = [k for k in ref if rel_err(got[k], ref[k]) >= TOL]
    if not bad:
        return None
    singles = list(mutants(case.data))
    for m in singles:
        out = m.outputs()
        if all(rel_err(got[k], out[k]) < TOL for k in ref if k not in m.skip):
            return F.failed(name, m.code, case.label, verbose, **m.detail)
    pattern = _pattern(got, ref, bad, case.data.get("B"))
    if pattern is not None:
        return F.failed(name, pattern[0], case.label, verbose, **pattern[1])
    pairs = [(j, k, pair) for j, k, pair in _pairs(singles) if _matches(got, ref, pair)]
    if pairs and elsewhere is not None:
        pairs = _confirmed(pairs, elsewhere(), mutants)
    if pairs:
        return F.failed_pairs(name, [pair.detail["mistakes"] for _, _, pair in pairs], case.label, verbose)
    return _fallback(name, got, ref, bad, case, param_keys, verbose)


def _confirmed(pairs, others, mutants):
    """The ``pairs`` (indices into each case's mutant list) that match the student on every other case."""
    for other, got in others:
        singles = list(mutants(other.data))
        pairs = [(j, k, pair) for j, k, pair in pairs if _matches(got, got, compose(singles[j], singles[k]))]
    return pairs


def label(k: int, n: int, **sizes) -> str:
    """``"2 of 3: B = 1, D = 3, H = 2"``."""
    return f"{k + 1} of {n}: " + ", ".join(f"{s} = {v}" for s, v in sizes.items())


def random_params(rng: np.random.Generator, gates: int, D: int, H: int, scale: float = 0.6) -> dict:
    """Random float64 parameters in PyTorch's layout, biases included (large enough to matter)."""
    G = gates * H
    shapes = {"W_ih": (G, D), "W_hh": (G, H), "b_ih": (G,), "b_hh": (G,)}
    return {k: scale * rng.standard_normal(s) for k, s in shapes.items()}


#: Test sizes (B, D, H): D ≠ H everywhere, a batch of one, and a hidden size of two.
SIZES = ((3, 4, 5), (1, 3, 2), (2, 6, 3))
