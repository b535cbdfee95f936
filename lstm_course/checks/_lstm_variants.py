"""The LSTM with known mistakes built in: the mutants that name a student's error.

Each function computes the standard LSTM (the same numbers as ``lstm_course.numpy``) when
``mistake`` is None and ``order`` is ``"ifgo"``; a ``mistake`` code or another gate
``order`` (the order in which the student reads the four row blocks) builds that one error
in. The lists at the end pair each mutant with its diagnosis code and message details.
"""
from __future__ import annotations

from itertools import permutations

import numpy as np


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _split(a, order):
    """The four ``(B, H)`` blocks of ``a (B, 4H)``, named as a student reading them in ``order`` would."""
    return dict(zip(order, np.split(a, 4, axis=1)))


def step_forward(x, h_prev, c_prev, p, mistake=None, order="ifgo"):
    """One LSTM step with at most one mistake; returns ``dict(h, c)``.

    Forward mistakes: ``no_tanh_cell``, ``swapped_activations``, ``candidate_sigmoid``,
    ``forget_on_whole``, ``no_forget_gate``, ``no_c_prev``, ``h_from_c_prev``,
    ``missing_b_ih``, ``missing_b_hh``, ``swapped_outputs``.
    """
    a = x @ p["W_ih"].T + h_prev @ p["W_hh"].T  # (B, 4H)
    if mistake != "missing_b_ih":
        a = a + p["b_ih"]
    if mistake != "missing_b_hh":
        a = a + p["b_hh"]
    blk = _split(a, order)
    gate = np.tanh if mistake == "swapped_activations" else _sigmoid
    cand = _sigmoid if mistake in ("swapped_activations", "candidate_sigmoid") else np.tanh
    i, f, g, o = gate(blk["i"]), gate(blk["f"]), cand(blk["g"]), gate(blk["o"])
    c = {
        "forget_on_whole": lambda: f * (c_prev + i * g),
        "no_forget_gate": lambda: c_prev + i * g,
        "no_c_prev": lambda: i * g,
    }.get(mistake, lambda: f * c_prev + i * g)()
    squashed = {"no_tanh_cell": c, "h_from_c_prev": np.tanh(c_prev)}.get(mistake, np.tanh(c))
    h = o * squashed
    if mistake == "swapped_outputs":
        return {"h": c, "c": h}
    return {"h": h, "c": c}


def step_backward(dh, dc, x, h_prev, c_prev, gates, tanh_c, p, mistake=None, order="ifgo"):
    """Backward of one LSTM step from the (correct) forward quantities, with at most one mistake.

    Returns ``dict(dx, dh_prev, dc_prev, dW_ih, dW_hh, db_ih, db_hh)``. Backward mistakes:
    ``dc_ignored``, ``dh_path_missing``, ``tanh_grad_missing``, ``tanh_grad_no_square``,
    ``tanh_grad_sign``, ``dc_prev_missing``, ``dc_prev_no_forget``, ``di_dg_swapped``,
    ``gate_grad_missing``, ``sign_i`` / ``sign_f`` / ``sign_g`` / ``sign_o``.
    """
    blk = _split(gates, order)
    i, f, g, o = blk["i"], blk["f"], blk["g"], blk["o"]
    slope = {"tanh_grad_missing": 1.0, "tanh_grad_no_square": 1.0 - tanh_c,
             "tanh_grad_sign": tanh_c * tanh_c - 1.0}.get(mistake, 1.0 - tanh_c * tanh_c)
    through_h = 0.0 if mistake == "dh_path_missing" else dh * o * slope
    dc_total = through_h + (0.0 if mistake == "dc_ignored" else dc)  # (B, H)
    d = {"i": dc_total * g, "f": dc_total * c_prev, "g": dc_total * i, "o": dh * tanh_c}
    if mistake == "di_dg_swapped":
        d["i"], d["g"] = dc_total * i, dc_total * g
    if mistake != "gate_grad_missing":
        for k in "ifo":
            d[k] = d[k] * blk[k] * (1.0 - blk[k])
        d["g"] = d["g"] * (1.0 - g * g)
    if mistake is not None and mistake.startswith("sign_"):
        d[mistake[-1]] = -d[mistake[-1]]
    da = np.concatenate([d[k] for k in order], axis=1)  # (B, 4H), in the order the student writes it
    dc_prev = {"dc_prev_missing": 0.0 * dc_total, "dc_prev_no_forget": dc_total}.get(mistake, dc_total * f)
    db = da.sum(axis=0)
    return {"dx": da @ p["W_ih"], "dh_prev": da @ p["W_hh"], "dc_prev": dc_prev,
            "dW_ih": da.T @ x, "dW_hh": da.T @ h_prev, "db_ih": db, "db_hh": db}


def forward(xs, p, h0, c0, mistake=None, order="ifgo"):
    """A sequence forward with at most one mistake; returns ``dict(hs, h_n, c_n)``.

    Besides the step mistakes: ``state_not_carried``, ``h_not_carried``, ``c_not_carried``, ``hs_shifted``,
    ``initial_state_ignored``, ``hs_are_cs``.
    """
    T, B, _ = xs.shape
    H = p["W_hh"].shape[1]
    zeros = np.zeros((B, H))
    h0 = zeros if h0 is None or mistake == "initial_state_ignored" else h0
    c0 = zeros if c0 is None or mistake == "initial_state_ignored" else c0
    h, c, hs, cs = h0, c0, [], []
    for t in range(T):
        stale_h = mistake in ("h_not_carried", "state_not_carried")
        stale_c = mistake in ("c_not_carried", "state_not_carried")
        out = step_forward(xs[t], h0 if stale_h else h, c0 if stale_c else c, p, mistake, order)
        h, c = out["h"], out["c"]
        hs.append(h)
        cs.append(c)
    seq = {"hs_shifted": [h0] + hs[:-1], "hs_are_cs": cs}.get(mistake, hs)
    return {"hs": np.stack(seq), "h_n": h, "c_n": c}


def backward(dhs, cache, dh_n=None, dc_n=None, mistake=None, order="ifgo"):
    """BPTT through an ``LSTMCache`` with at most one mistake; returns ``dict(dxs, dh0, dc0, dW_ih, ...)``.

    Besides the step mistakes: ``dc_not_carried``, ``dh_not_carried``, ``final_grads_ignored``,
    ``c_prev_shifted``.
    """
    T, B, H = cache.hs.shape
    ignore_final = mistake == "final_grads_ignored"
    dh = np.zeros((B, H)) if dh_n is None or ignore_final else dh_n
    dc = np.zeros((B, H)) if dc_n is None or ignore_final else dc_n
    grads = {k: 0.0 for k in ("dW_ih", "dW_hh", "db_ih", "db_hh")}
    dxs = np.zeros(cache.xs.shape)
    for t in reversed(range(T)):
        h_prev = cache.hs[t - 1] if t > 0 else cache.h0
        c_prev = cache.cs[t - 1] if t > 0 else cache.c0
        if mistake == "c_prev_shifted":
            c_prev = cache.cs[t]
        out = step_backward(dhs[t] + dh, dc, cache.xs[t], h_prev, c_prev, cache.gates[t], cache.tanh_cs[t],
                            cache.params, mistake, order)
        dxs[t] = out["dx"]
        for k in grads:
            grads[k] = grads[k] + out[k]
        dh = 0.0 * dh if mistake == "dh_not_carried" and t > 0 else out["dh_prev"]
        dc = 0.0 * dc if mistake == "dc_not_carried" and t > 0 else out["dc_prev"]
    return dict(dxs=dxs, dh0=dh, dc0=dc, **grads)


_CS231N = ("i", "f", "o", "g")

#: (code, message details, keyword arguments of the functions above), most specific first.
FORWARD_MUTANTS = (
    [("gate_order", {"order": "i, f, o, g", "note": " (cs231n's order)"}, {"order": _CS231N}),
     ("forget_on_candidate", {}, {"order": ("f", "i", "g", "o")})]
    + [("gate_order", {"order": ", ".join(p)}, {"order": p}) for p in permutations("ifgo")
       if p not in (("i", "f", "g", "o"), _CS231N, ("f", "i", "g", "o"))]
    + [(m, {}, {"mistake": m}) for m in ("no_tanh_cell", "swapped_activations", "candidate_sigmoid",
                                         "forget_on_whole", "no_forget_gate", "no_c_prev", "h_from_c_prev")]
    + [("missing_bias", {"bias": b}, {"mistake": f"missing_{b}"}) for b in ("b_ih", "b_hh")]
)

#: The step's backward mistakes (the forward being right).
BACKWARD_MUTANTS = (
    [("gate_order", {"order": "i, f, o, g", "note": " (cs231n's order) when reading the cached gates"},
      {"order": _CS231N})]
    + [("gate_order", {"order": ", ".join(p), "note": " when reading the cached gates"}, {"order": p})
       for p in permutations("ifgo") if p not in (("i", "f", "g", "o"), _CS231N)]
    + [(m, {}, {"mistake": m}) for m in ("dc_ignored", "dh_path_missing", "tanh_grad_missing",
                                         "tanh_grad_no_square", "tanh_grad_sign", "dc_prev_missing",
                                         "dc_prev_no_forget", "di_dg_swapped", "gate_grad_missing")]
    + [("gate_sign", {"gate": k}, {"mistake": f"sign_{k}"}) for k in "ifgo"]
)

#: Mistakes of a whole sequence, forward and backward.
SEQUENCE_FORWARD_MUTANTS = [(m, {}, {"mistake": m}) for m in (
    "state_not_carried", "h_not_carried", "c_not_carried", "hs_shifted", "initial_state_ignored", "hs_are_cs")]
SEQUENCE_BACKWARD_MUTANTS = [(m, {}, {"mistake": m}) for m in (
    "dc_not_carried", "dh_not_carried", "final_grads_ignored", "c_prev_shifted")]
