"""The LSTM with known mistakes built in: the mutants that name a student's error.

Each function computes the standard LSTM (the same numbers as ``lstm_course.numpy``) when
``mistake`` is None and ``order`` is ``"ifgo"``; a ``mistake`` code or another gate
``order`` (the order in which the student reads the four row blocks) builds that error in.
``mistake`` may also be a tuple of codes, to build several mistakes in at once (the engine
tries pairs when no single mistake explains a submission); two codes that are variants of
one equation (``no_forget_gate`` and ``no_c_prev``, say) raise :class:`Incompatible`.
The lists at the end pair each mutant with its diagnosis code and message details.
"""
from __future__ import annotations

from itertools import permutations

import numpy as np

from ._engine import mistakes_of, one_of


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _split(a, order):
    """The four ``(B, H)`` blocks of ``a (B, 4H)``, named as a student reading them in ``order`` would."""
    return dict(zip(order, np.split(a, 4, axis=1)))


def step_forward(x, h_prev, c_prev, p, mistake=None, order="ifgo"):
    """One LSTM step with the mistakes ``mistake`` (a code or a tuple of codes); returns ``dict(h, c)``.

    Forward mistakes: ``no_tanh_cell``, ``swapped_activations``, ``candidate_sigmoid``,
    ``forget_on_whole``, ``no_forget_gate``, ``no_c_prev``, ``h_from_c_prev``,
    ``missing_b_ih``, ``missing_b_hh``, ``swapped_outputs``.
    """
    ms = mistakes_of(mistake)
    a = x @ p["W_ih"].T + h_prev @ p["W_hh"].T  # (B, 4H)
    if "missing_b_ih" not in ms:
        a = a + p["b_ih"]
    if "missing_b_hh" not in ms:
        a = a + p["b_hh"]
    blk = _split(a, order)
    gate = np.tanh if "swapped_activations" in ms else _sigmoid
    cand = _sigmoid if ms & {"swapped_activations", "candidate_sigmoid"} else np.tanh
    i, f, g, o = gate(blk["i"]), gate(blk["f"]), cand(blk["g"]), gate(blk["o"])
    c = one_of({
        "forget_on_whole": lambda: f * (c_prev + i * g),
        "no_forget_gate": lambda: c_prev + i * g,
        "no_c_prev": lambda: i * g,
    }, ms, lambda: f * c_prev + i * g)()
    squashed = one_of({"no_tanh_cell": lambda: c, "h_from_c_prev": lambda: np.tanh(c_prev)}, ms,
                      lambda: np.tanh(c))()
    h = o * squashed
    if "swapped_outputs" in ms:
        return {"h": c, "c": h}
    return {"h": h, "c": c}


def step_backward(dh, dc, x, h_prev, c_prev, gates, tanh_c, p, mistake=None, order="ifgo"):
    """Backward of one LSTM step from the (correct) forward quantities, with the mistakes ``mistake``.

    Returns ``dict(dx, dh_prev, dc_prev, dW_ih, dW_hh, db_ih, db_hh)``. Backward mistakes:
    ``dc_ignored``, ``dh_path_missing``, ``tanh_grad_missing``, ``tanh_grad_no_square``,
    ``tanh_grad_sign``, ``dc_prev_missing``, ``dc_prev_no_forget``, ``di_dg_swapped``,
    ``gate_grad_missing``, ``sign_i`` / ``sign_f`` / ``sign_g`` / ``sign_o``.
    """
    ms = mistakes_of(mistake)
    blk = _split(gates, order)
    i, f, g, o = blk["i"], blk["f"], blk["g"], blk["o"]
    slope = one_of({"tanh_grad_missing": 1.0, "tanh_grad_no_square": 1.0 - tanh_c,
                    "tanh_grad_sign": tanh_c * tanh_c - 1.0}, ms, 1.0 - tanh_c * tanh_c)
    through_h = 0.0 if "dh_path_missing" in ms else dh * o * slope
    dc_total = through_h + (0.0 if "dc_ignored" in ms else dc)  # (B, H)
    d = {"i": dc_total * g, "f": dc_total * c_prev, "g": dc_total * i, "o": dh * tanh_c}
    if "di_dg_swapped" in ms:
        d["i"], d["g"] = dc_total * i, dc_total * g
    if "gate_grad_missing" not in ms:
        for k in "ifo":
            d[k] = d[k] * blk[k] * (1.0 - blk[k])
        d["g"] = d["g"] * (1.0 - g * g)
    for k in "ifgo":
        if f"sign_{k}" in ms:
            d[k] = -d[k]
    da = np.concatenate([d[k] for k in order], axis=1)  # (B, 4H), in the order the student writes it
    dc_prev = one_of({"dc_prev_missing": 0.0 * dc_total, "dc_prev_no_forget": dc_total}, ms, dc_total * f)
    db = da.sum(axis=0)
    return {"dx": da @ p["W_ih"], "dh_prev": da @ p["W_hh"], "dc_prev": dc_prev,
            "dW_ih": da.T @ x, "dW_hh": da.T @ h_prev, "db_ih": db, "db_hh": db}


def forward(xs, p, h0, c0, mistake=None, order="ifgo"):
    """A sequence forward with the mistakes ``mistake``; returns ``dict(hs, h_n, c_n)``.

    Besides the step mistakes: ``state_not_carried``, ``h_not_carried``, ``c_not_carried``, ``hs_shifted``,
    ``initial_state_ignored``, ``hs_are_cs``.
    """
    ms = mistakes_of(mistake)
    T, B, _ = xs.shape
    H = p["W_hh"].shape[1]
    zeros = np.zeros((B, H))
    h0 = zeros if h0 is None or "initial_state_ignored" in ms else h0
    c0 = zeros if c0 is None or "initial_state_ignored" in ms else c0
    h, c, hs, cs = h0, c0, [], []
    stale_h = bool(ms & {"h_not_carried", "state_not_carried"})
    stale_c = bool(ms & {"c_not_carried", "state_not_carried"})
    for t in range(T):
        out = step_forward(xs[t], h0 if stale_h else h, c0 if stale_c else c, p, mistake, order)
        h, c = out["h"], out["c"]
        hs.append(h)
        cs.append(c)
    seq = one_of({"hs_shifted": lambda: [h0] + hs[:-1], "hs_are_cs": lambda: cs}, ms, lambda: hs)()
    return {"hs": np.stack(seq), "h_n": h, "c_n": c}


def backward(dhs, cache, dh_n=None, dc_n=None, mistake=None, order="ifgo"):
    """BPTT through an ``LSTMCache`` with the mistakes ``mistake``; returns ``dict(dxs, dh0, dc0, dW_ih, ...)``.

    Besides the step mistakes: ``dc_not_carried``, ``dh_not_carried``, ``final_grads_ignored``,
    ``c_prev_shifted``.
    """
    ms = mistakes_of(mistake)
    T, B, H = cache.hs.shape
    ignore_final = "final_grads_ignored" in ms
    dh = np.zeros((B, H)) if dh_n is None or ignore_final else dh_n
    dc = np.zeros((B, H)) if dc_n is None or ignore_final else dc_n
    grads = {k: 0.0 for k in ("dW_ih", "dW_hh", "db_ih", "db_hh")}
    dxs = np.zeros(cache.xs.shape)
    for t in reversed(range(T)):
        h_prev = cache.hs[t - 1] if t > 0 else cache.h0
        c_prev = cache.cs[t - 1] if t > 0 else cache.c0
        if "c_prev_shifted" in ms:
            c_prev = cache.cs[t]
        out = step_backward(dhs[t] + dh, dc, cache.xs[t], h_prev, c_prev, cache.gates[t], cache.tanh_cs[t],
                            cache.params, mistake, order)
        dxs[t] = out["dx"]
        for k in grads:
            grads[k] = grads[k] + out[k]
        dh = 0.0 * dh if "dh_not_carried" in ms and t > 0 else out["dh_prev"]
        dc = 0.0 * dc if "dc_not_carried" in ms and t > 0 else out["dc_prev"]
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
