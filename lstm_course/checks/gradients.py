"""Checkers for the gradient exercises: finite differences, gradient checks, Jacobians, gradient norms."""
from __future__ import annotations

import numbers

import numpy as np

from .. import numpy as lnp
from . import _engine as E
from . import _traps as traps
from . import _feedback as F

#: The step the finite-difference checker passes: large enough that a one-sided difference's
#: O(ε) error (about 1e-4 here) stands far above the central difference's O(ε²) (about 1e-9).
_EPS = 1e-4


def _fd_cases():
    """Two smooth losses with known gradients: a matrix argument and a vector argument."""
    rng = np.random.default_rng(8500)
    M, W = rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    x1 = rng.standard_normal((3, 4))
    u, x2 = rng.standard_normal(5), rng.standard_normal(5)

    def make1():
        x = x1.copy()
        return (lambda: float(np.sum(W * np.tanh(x @ M)))), x

    def make2():
        x = x2.copy()
        return (lambda: float(np.sum(u * np.sin(x)) + (x @ x) ** 2)), x

    grad1 = (W * (1.0 - np.tanh(x1 @ M) ** 2)) @ M.T
    grad2 = u * np.cos(x2) + 4.0 * (x2 @ x2) * x2
    return [E.Case("1 of 2: x of shape (3, 4)", dict(make=make1, grad=grad1)),
            E.Case("2 of 2: x of shape (5,)", dict(make=make2, grad=grad2))]


def _differences(make, kind):
    """The one-sided or the un-halved difference quotient, entry by entry."""
    loss, x = make()
    out = np.zeros_like(x)
    for j in np.ndindex(x.shape):
        old = x[j]
        x[j] = old + _EPS
        plus = loss()
        x[j] = old - _EPS if kind == "missing_half" else old
        other = loss()
        x[j] = old
        out[j] = (plus - other) / _EPS
    return {"grad": out}


def check_numerical_gradient(fn, verbose: bool = True):
    """Check a student's ``numerical_gradient(loss, x, eps) -> grad`` (central differences).

    ``fn`` is called with ``eps = 1e-4`` on two smooth losses whose exact gradient is known.
    Recognised mistakes: a one-sided difference; the central difference not divided by 2ε;
    a sign error; ``x`` left changed after the call; a wrong shape (for example flattened).
    """
    name = E.function_name(fn, "check_numerical_gradient", "numerical_gradient")

    def invoke(f, d):
        loss, x = d["make"]()
        before = x.copy()
        return f(loss, x, _EPS), x, before

    def unpack(raw, d):
        grad, x, before = raw
        if not np.array_equal(x, before):
            raise E.OutputProblem("modifies_input", quantity="x")
        return {"grad": E.to_array(grad, "the gradient")}

    def mutants(d):
        return [E.Mutant(code, {}, (lambda code=code: _differences(d["make"], code)))
                for code in ("forward_difference", "missing_half")]
    return E.run(name, fn, _fd_cases(), invoke, unpack, lambda d: {"grad": d["grad"]}, mutants,
                 what="your central differences agree with the exact gradients of two test functions, and "
                      "x is left as it was.", forbid=traps.forbidden("numerical_gradient"),
                      verbose=verbose)


def check_gradcheck(errors, *args, tol: float = 1e-6, verbose: bool = True):
    """Judge the relative errors of a gradient check (the dict ``lstm_course.numpy.gradcheck`` returns).

    Args:
        errors: dict name → relative error between analytic and numerical gradient, or a
            function returning that dict (called with ``*args``; a ``NotImplementedError`` it
            raises is reported as "not implemented yet").
        tol: the largest acceptable relative error (float64 central differences reach 1e-9).

    A function ``errors`` runs with the package's RNN, LSTM and GRU (forward and backward)
    switched off: the analytic gradients must come from the student's own functions (the
    package's ``gradcheck`` and ``numerical_gradient`` stay available for the numerical side).

    Returns:
        a :class:`CheckResult` that fails on the worst array above ``tol``, naming it.
    """
    name = "gradient check"
    if callable(errors):
        name = getattr(errors, "__name__", name)
        try:
            errors = E.guarded(lambda f, a: f(*a), traps.forbidden("rnn", "lstm", "gru"))(errors, args)
        except traps.Delegated as e:
            return E.delegated(name, e, "", verbose)
        except NotImplementedError as e:
            return F.failed(name, "not_implemented", verbose=verbose, where=E.raised_in(e, name))
        except Exception as e:  # the student's code failed: report it, never crash
            return F.failed(name, "raised", "", verbose, error=f"{type(e).__name__}: {e}")
    if not isinstance(errors, dict):
        raise TypeError(f"check_gradcheck needs the dict name -> relative error that gradcheck returns; "
                        f"got {type(errors).__name__}")
    if not errors:
        raise ValueError("check_gradcheck needs at least one relative error; got an empty dict")
    for k, v in errors.items():
        if not isinstance(v, numbers.Real) or isinstance(v, bool):
            raise TypeError(f"check_gradcheck: the relative error for {k!r} must be a number; got {type(v).__name__}")
    bad = {k: float(v) for k, v in errors.items() if not float(v) < tol}
    if not bad:
        return F.passed(name, f"every analytic gradient agrees with central differences ({len(errors)} "
                        f"arrays: {', '.join(errors)}; every relative error below {tol:g}).", verbose)
    k = max(bad, key=bad.get)
    hint = (f"Every other array passes, so the mistake is in the formula for d{k}." if len(bad) == 1 else
            f"{len(bad)} arrays fail ({', '.join(sorted(bad))}): look first at what they share, "
            f"e.g. the gradient of the pre-activation.")
    return F.failed(name, "gradcheck_failed", "", verbose, quantity=k, rel_err=bad[k], tol=f"{tol:g}", hint=hint)


def _rnn_cases(seed, Ts):
    cases = []
    for k, ((B, D, H), T) in enumerate(zip(E.SIZES, Ts)):
        rng = np.random.default_rng(seed + k)
        params = E.random_params(rng, 1, D, H, scale=0.8)
        cases.append(E.Case(E.label(k, 3, T=T, B=B, D=D, H=H),
                            dict(B=B, params=params, x=rng.standard_normal((B, D)), xs=rng.standard_normal((T, B, D)),
                                 h_prev=rng.standard_normal((B, H)), h0=rng.standard_normal((B, H)))))
    return cases


def _jacobian(d, mistake=None):
    """``J[b] = ∂h/∂h_prev = diag(1 − h_b²) W_hh`` for one RNN step, with at most one mistake."""
    h = lnp.rnn_step_forward(d["x"], d["h_prev"], d["params"])[0]  # (B, H)
    W_hh = d["params"]["W_hh"]
    slope = {"rnn_tanh_grad_missing": np.ones_like(h), "tanh_grad_from_h": 1.0 - h}.get(mistake, 1.0 - h * h)
    if mistake == "derivative_wrong_side":
        return {"J": W_hh[None, :, :] * slope[:, None, :]}
    J = slope[:, :, None] * W_hh[None, :, :]  # (B, H, H)
    return {"J": J.transpose(0, 2, 1) if mistake == "jacobian_transposed" else J}


def check_rnn_step_jacobian(fn, verbose: bool = True):
    """Check a student's ``rnn_step_jacobian(x, h_prev, params) -> J`` of shape ``(B, H, H)``.

    ``J[b, j, k] = ∂h[b, j] / ∂h_prev[b, k] = (1 − h[b, j]²) W_hh[j, k]``. Recognised mistakes:
    a transposed Jacobian; the factor (1 − h²) on the columns instead of the rows; tanh'
    missing or computed as 1 − h; a wrong shape.
    """
    name = E.function_name(fn, "check_rnn_step_jacobian", "rnn_step_jacobian")

    def mutants(d):
        return [E.Mutant(c, dt, (lambda c=c: _jacobian(d, c))) for c, dt in (
            ("jacobian_transposed", {}), ("derivative_wrong_side", {}), ("rnn_tanh_grad_missing", {}),
            ("tanh_grad_from_h", {}))]
    return E.run(name, fn, _rnn_cases(8600, (1, 1, 1)), lambda f, d: f(d["x"], d["h_prev"], d["params"]),
                 lambda raw, d: {"J": E.to_array(raw, "J")}, _jacobian, mutants,
                 what="J matches diag(1 − h²) W_hh on 3 test cases (B = 3, 1, 2).", forbid=traps.forbidden("rnn_backward", "rnn_jacobian"),
                 verbose=verbose)


def _norms(d, mistake=None):
    """‖∂L/∂h_t‖ for t = 0 … T with L = sum(h_T), with at most one mistake."""
    p = d["params"]
    hs = lnp.rnn_forward(d["xs"], p, d["h0"])[0]  # (T, B, H)
    before = np.concatenate([d["h0"][None], hs[:-1]])  # h_(t-1) for each step
    W_hh = p["W_hh"].T if mistake == "W_hh_untransposed" else p["W_hh"]
    dh = np.ones_like(hs[-1])
    norms = [np.linalg.norm(dh)]
    for t in reversed(range(len(hs))):
        h = before[t] if mistake == "shifted_derivative" else hs[t]
        slope = {"rnn_tanh_grad_missing": 1.0, "tanh_grad_from_h": 1.0 - h}.get(mistake, 1.0 - h * h)
        dh = (dh * slope) @ W_hh
        norms.append(np.linalg.norm(dh))
    return {"norms": np.array(norms if mistake == "reversed" else norms[::-1])}


def check_hidden_gradient_norms(fn, verbose: bool = True):
    """Check a student's ``hidden_gradient_norms(xs, params, h0) -> norms`` of shape ``(T + 1,)``.

    ``norms[t] = ‖∂L/∂h_t‖`` (Frobenius norm over the batch) for ``L = sum(h_T)``, for
    ``t = 0 … T``; so ``norms[T] = √(B·H)``. Recognised mistakes: the result in reverse time
    order; tanh' missing or computed as 1 − h; ``W_hh`` untransposed; the derivative taken at
    the neighbouring step's h; a wrong shape (for example h_0 left out).
    """
    name = E.function_name(fn, "check_hidden_gradient_norms", "hidden_gradient_norms")

    def mutants(d):
        return [E.Mutant(c, dt, (lambda c=c: _norms(d, c))) for c, dt in (
            ("reversed", {}), ("rnn_tanh_grad_missing", {}), ("tanh_grad_from_h", {}),
            ("W_hh_untransposed", {"where": " when going back a step"}), ("shifted_derivative", {}))]
    return E.run(name, fn, _rnn_cases(8700, (6, 3, 5)), lambda f, d: f(d["xs"], d["params"], d["h0"]),
                 lambda raw, d: {"norms": E.to_array(raw, "norms")}, _norms, mutants,
                 what="the gradient norms match the reference at every step on 3 sequences (T = 6, 3, 5).",
                 forbid=traps.forbidden("rnn_backward", "rnn_jacobian"),
                 verbose=verbose)
