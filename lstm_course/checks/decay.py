"""Checkers for Lab 2's measurements of decay: the gradient along the LSTM's cell state, the
decay factor fitted on a log scale, and the factor that bounds one step.

The references are computed here from first principles and compared with the package's
(:func:`lstm_course.gradients.fit_log_slope`, :func:`~lstm_course.gradients.spectral_norm`,
:func:`lstm_course.numpy.lstm_forward`'s gates); the package functions that would answer the
exercise are traps while the student's code runs.
"""
from __future__ import annotations

import functools

import numpy as np

from .. import numpy as lnp
from . import _engine as E
from . import _feedback as F
from . import _traps as traps

F.MESSAGES.update({
    "forget_rows_wrong": ("your factor is read from rows {rows} of the gates: the {gate}, not the "
                          "forget gate.",
                          "The gates are stacked i, f, g, o: the forget gate is gates[:, H:2H]."),
    "one_minus_f": ("your factor per step is 1 − f, the share forgotten, not the share kept.",
                    "c_t = f_t ⊙ c_(t−1) + i_t ⊙ g_t, so ∂c_t/∂c_(t−1) along the cell is diag(f_t)."),
    "forget_gate_shifted": ("the step back from c_t to c_(t−1) uses the forget gate of the step "
                            "before (f_(t−1) instead of f_t).",
                            "cache.gates[t] holds the gates of the step that made c_(t+1) from "
                            "c_t: multiply by its f when going from c_(t+1) back to c_t."),
    "norm_mean_over_batch": ("you average the per-sample norms over the batch instead of taking "
                             "the norm of the whole (B, H) gradient.",
                             "np.linalg.norm(dc): the Frobenius norm over batch and units, as in "
                             "hidden_gradient_norms."),
    "linear_fit": ("your factor comes from a straight line through the norms themselves, not "
                   "through their logarithms.",
                   "Geometric decay n_d = n_0 r^d is a straight line in log n_d = log n_0 + d log r: "
                   "fit log(norms) against d, then r = exp(slope)."),
    "slope_not_exponentiated": ("you return the slope log r of the fit, not the factor r.",
                                "The factor per step is exp(slope)."),
    "log_base_mixed": ("your fit uses log10 but turns the slope back with exp (or the other "
                       "way round).",
                       "Undo the logarithm you took: exp after np.log, 10 ** after np.log10."),
    "endpoint_ratio": ("your factor is (last / first) ** (1 / (N − 1)) from the two ends, not a "
                       "least-squares fit over every distance.",
                       "np.polyfit(d, np.log(norms), 1)[0] uses every point; two ends alone "
                       "follow their noise."),
    "distance_off_by_one": ("your factor is (last / first) ** (1 / N): N points span N − 1 steps.",
                            "Between distance 0 and distance N − 1 there are N − 1 steps. Better "
                            "still, fit every point: np.polyfit(d, np.log(norms), 1)."),
    "distance_reversed": ("your factor is the inverse of the right one: the fit runs against the "
                          "index reversed (time t instead of the distance T − t).",
                          "norms[d] belongs to distance d = 0, 1, ...: fit against np.arange(N)."),
    "spectral_radius": ("you return the spectral radius, the largest |eigenvalue|, not the largest "
                        "singular value.",
                        "The bound needs ‖W_hhᵀ v‖ ≤ s_max ‖v‖ for every v: that is the largest "
                        "singular value, np.linalg.norm(W, 2). The spectral radius can be smaller."),
    "frobenius": ("you return the Frobenius norm √(Σ W_jk²), not the largest singular value.",
                  "np.linalg.norm(W) is Frobenius; the operator 2-norm is np.linalg.norm(W, 2)."),
    "max_row_sum": ("you return the largest absolute row sum (the ∞-norm), not the largest "
                    "singular value.",
                    "np.linalg.norm(W, 2), or np.linalg.svd(W, compute_uv=False)[0]."),
    "max_entry": ("you return the largest |entry| of W, not its largest singular value.",
                  "np.linalg.norm(W, 2), or np.linalg.svd(W, compute_uv=False)[0]."),
})


# -------------------------------------------------------------------------- cell path
def _cell_cases():
    out = []
    for k, ((B, D, H), T) in enumerate(zip(E.SIZES, (6, 3, 5))):
        rng = np.random.default_rng(9100 + k)
        params = E.random_params(rng, 4, D, H, scale=0.8)
        out.append(E.Case(E.label(k, 3, T=T, B=B, D=D, H=H),
                          dict(B=B, params=params, xs=rng.standard_normal((T, B, D)))))
    return out


def _cell_path(xs, params, mistake=None) -> dict:
    """‖∂L/∂c_t‖ along the cell state alone, t = 0 … T, with ∂L/∂c_T = 1 (the mistakes built in)."""
    ms = E.mistakes_of(mistake)
    H = params["W_hh"].shape[1]
    rows = {"forget_rows_wrong": slice(0, H), "output_gate_rows": slice(3 * H, 4 * H)}
    gates = lnp.lstm_forward(xs, params)[2].gates  # (T, B, 4H), activated i, f, g, o
    f = gates[:, :, E.one_of(rows, ms, slice(H, 2 * H))]  # (T, B, H)
    if "one_minus_f" in ms:
        f = 1.0 - f

    def norm(dc):
        return np.linalg.norm(dc, axis=1).mean() if "norm_mean_over_batch" in ms else \
            np.linalg.norm(dc)
    dc = np.ones_like(f[0])  # dL/dc_T
    norms = [norm(dc)]
    for t in reversed(range(len(f))):  # from c_(t+1) back to c_t
        dc = dc * f[t - 1 if "forget_gate_shifted" in ms else t]
        norms.append(norm(dc))
    return {"norms": np.array(norms if "reversed" in ms else norms[::-1])}


_CELL_MISTAKES = (("forget_rows_wrong", {"rows": "0:H", "gate": "input gate"}),
                  ("output_gate_rows", {"rows": "3H:4H", "gate": "output gate"}),
                  ("one_minus_f", {}), ("forget_gate_shifted", {}), ("reversed", {}),
                  ("norm_mean_over_batch", {}))
F.MESSAGES["output_gate_rows"] = F.MESSAGES["forget_rows_wrong"]


def check_cell_path_norms(fn, verbose: bool = True):
    r"""Check a student's ``cell_path_norms(xs, params) -> norms`` of shape ``(T + 1,)``.

    ``norms[t] = ‖∂L/∂c_t‖`` along the cell state alone, for ``∂L/∂c_T`` all ones: one factor
    :math:`\operatorname{diag}(\vf_t)` per step back, ``dc_(t−1) = f_t ⊙ dc_t``, the forget
    gates those of ``lstm_forward(xs, params)`` (zero initial state). Recognised mistakes: the
    factor read from the input or output gate's rows; 1 − f; the forget gate of the step
    before; the result in reverse time order; the per-sample norms averaged; two at once.
    """
    name = E.function_name(fn, "check_cell_path_norms", "cell_path_norms")

    def mutants(d):
        call = functools.partial(_cell_path, d["xs"], d["params"])
        return E.mutants([(c, dt, {"mistake": c}) for c, dt in _CELL_MISTAKES], call)
    return E.run(name, fn, _cell_cases(), lambda f, d: f(d["xs"], d["params"]),
                 lambda raw, d: {"norms": E.to_array(raw, "norms")},
                 lambda d: _cell_path(d["xs"], d["params"]), mutants,
                 what="the norms along the cell state match at every step on 3 sequences "
                      "(T = 6, 3, 5).", forbid=traps.forbidden("lstm_backward"), verbose=verbose)


# ------------------------------------------------------------------------ decay factor
def _decay_cases():
    out = []
    for k, (N, r, noise) in enumerate(((30, 0.8, 0.3), (12, 1.3, 0.2), (2, 0.5, 0.0))):
        rng = np.random.default_rng(9200 + k)
        d = np.arange(N)
        norms = 2.0 * r ** d * np.exp(noise * rng.standard_normal(N))
        out.append(E.Case(f"{k + 1} of 3: {N} norms decaying by about {r} per step",
                          dict(norms=norms)))
    return out


def _decay(norms, mistake=None) -> dict:
    ms = E.mistakes_of(mistake)
    N = len(norms)
    d = np.arange(N)[::-1] if "distance_reversed" in ms else np.arange(N)
    if ms & {"endpoint_ratio", "distance_off_by_one"}:
        if len(ms & {"endpoint_ratio", "distance_off_by_one", "linear_fit"}) > 1:
            raise E.Incompatible("two ways of fitting")
        span = N if "distance_off_by_one" in ms else N - 1
        log_r = (np.log(norms[-1]) - np.log(norms[0])) / span
    elif "linear_fit" in ms:
        return {"factor": np.array(np.polyfit(d, norms, 1)[0])}
    else:
        log_r = np.polyfit(d, np.log(norms), 1)[0]
    if "log_base_mixed" in ms:
        log_r = log_r / np.log(10.0)  # a log10 slope, exponentiated with exp
    return {"factor": np.array(log_r if "slope_not_exponentiated" in ms else np.exp(log_r))}


_DECAY_MISTAKES = ("linear_fit", "slope_not_exponentiated", "log_base_mixed", "endpoint_ratio",
                   "distance_off_by_one", "distance_reversed")


def check_decay_factor(fn, verbose: bool = True):
    r"""Check a student's ``decay_factor(norms) -> r``, the factor per step of a least-squares
    fit of :math:`\log n_d = a + d \log r` to ``norms[d]``, ``d = 0 … N − 1``.

    Recognised mistakes: a straight line through the norms (no logarithm); the slope returned
    instead of ``exp(slope)``; log10 and exp mixed; the two ends only; the two ends over N
    steps instead of N − 1; the distance reversed; two at once.
    """
    name = E.function_name(fn, "check_decay_factor", "decay_factor")

    def unpack(raw, d):
        return {"factor": E.to_number(raw, "r", "Return a float: the factor per step.")}

    def mutants(d):
        call = functools.partial(_decay, d["norms"])
        return E.mutants([(c, {}, {"mistake": c}) for c in _DECAY_MISTAKES], call)
    return E.run(name, fn, _decay_cases(), lambda f, d: f(d["norms"]), unpack,
                 lambda d: _decay(d["norms"]), mutants,
                 what="your factor is exp of the least-squares slope of log(norms) on 3 series.",
                 forbid=traps.forbidden("decay_fit"), verbose=verbose)


# ------------------------------------------------------------------------ bound factor
def _bound_cases():
    rng = np.random.default_rng(9300)
    shear = np.array([[0.5, 3.0], [0.0, 0.5]])  # spectral radius 0.5, s_max about 3.1
    mats = (rng.standard_normal((5, 5)), shear, 0.3 * rng.standard_normal((3, 3)))
    return [E.Case(f"{k + 1} of 3: W of shape {W.shape}", dict(W=W)) for k, W in enumerate(mats)]


def _bound(W, mistake=None) -> dict:
    value = {"spectral_radius": lambda: np.max(np.abs(np.linalg.eigvals(W))),
             "frobenius": lambda: np.linalg.norm(W),
             "max_row_sum": lambda: np.abs(W).sum(axis=1).max(),
             "max_entry": lambda: np.abs(W).max()}.get(mistake,
                                                        lambda: np.linalg.svd(W)[1][0])()
    return {"s_max": np.array(value)}


def check_bound_factor(fn, verbose: bool = True):
    """Check a student's ``bound_factor(W_hh) -> s_max``, the largest singular value.

    Recognised mistakes: the spectral radius; the Frobenius norm; the largest absolute row
    sum; the largest entry.
    """
    name = E.function_name(fn, "check_bound_factor", "bound_factor")

    def unpack(raw, d):
        return {"s_max": E.to_number(raw, "s_max", "Return a float.")}

    def mutants(d):
        return [E.Mutant(c, {}, (lambda c=c: _bound(d["W"], c)))
                for c in ("spectral_radius", "frobenius", "max_row_sum", "max_entry")]
    return E.run(name, fn, _bound_cases(), lambda f, d: f(d["W"]), unpack,
                 lambda d: _bound(d["W"]), mutants,
                 what="your factor is the largest singular value on 3 matrices, a non-normal "
                      "one included.", forbid=traps.forbidden("decay_fit"), verbose=verbose)
