"""Checkers for the PyTorch exercises: an LSTM cell and layer written from scratch, matched to torch.nn.

The student's module is built, switched to float64, given the weights of a ``torch.nn.LSTMCell``
(or ``torch.nn.LSTM``) and run on the same inputs; outputs are compared first, then the
gradients autograd computes through the student's module. Forward mistakes are named with
the same mutants as the NumPy checkers.
"""
from __future__ import annotations

import numpy as np
import torch

from ..convert import TORCH_NAMES
from . import _engine as E
from . import _traps as traps
from . import _lstm_variants as V

#: The course's parameter names -> the names accepted on the student's module (nn.LSTMCell, nn.LSTM).
_NAMES = {ours: (theirs, theirs + "_l0") for ours, theirs in TORCH_NAMES.items()}
_LAYOUT = "weight_ih (4H, D), weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,)"


def _is_class(cls, checker: str, example: str) -> str:
    if not isinstance(cls, type):
        raise TypeError(f"{checker} needs your class itself, e.g. {checker}({example}); got {type(cls).__name__}")
    return cls.__name__


def _build(cls, D: int, H: int, params: dict):
    """The student's module ``cls(D, H)`` in float64 with ``params`` copied in; its parameters by our names."""
    module = cls(D, H)
    if not isinstance(module, torch.nn.Module):
        raise E.OutputProblem("not_module", problem=f"{cls.__name__}({D}, {H}) is a {type(module).__name__}, "
                                                    "not a torch.nn.Module.")
    named = dict(module.named_parameters())
    found = {}
    for ours, accepted in _NAMES.items():
        hits = [n for n in named if n.split(".")[-1] in accepted]
        if len(hits) != 1:
            have = ", ".join(named) or "none"
            raise E.OutputProblem("missing_parameter",
                                  problem=f"your module has {len(hits) or 'no'} parameter{'s' if hits else ''} "
                                          f"named {accepted[0]} (its parameters: {have}).",
                                  hint=f"Create four nn.Parameters named as in nn.LSTMCell: {_LAYOUT}.")
        found[ours] = hits[0]
    module.double()
    named = dict(module.named_parameters())
    with torch.no_grad():
        for ours, theirs in found.items():
            if tuple(named[theirs].shape) != params[ours].shape:
                raise E.OutputProblem("wrong_shape", quantity=theirs, expected=params[ours].shape,
                                      received=tuple(named[theirs].shape), hint=f"nn.LSTMCell's layout: {_LAYOUT}.")
            named[theirs].copy_(torch.from_numpy(params[ours]))
    return module, {ours: named[theirs] for ours, theirs in found.items()}


def _leaf(a):
    return None if a is None else torch.tensor(a, dtype=torch.float64, requires_grad=True)


def _backprop(outputs: dict, weights: dict, leaves: dict):
    """``Σ ⟨w, output⟩`` backpropagated; returns name → gradient (None where none arrived), or None."""
    if not all(isinstance(outputs[k], torch.Tensor) and tuple(outputs[k].shape) == weights[k].shape for k in weights):
        return None  # the forward stage reports the problem
    if not any(outputs[k].requires_grad for k in weights):
        return {k: None for k in leaves}
    loss = sum((torch.from_numpy(weights[k]) * outputs[k]).sum() for k in weights if outputs[k].requires_grad)
    loss.backward()
    return {k: leaf.grad for k, leaf in leaves.items()}


def _unpack_grads(raw, d):
    for k, v in raw["outputs"].items():
        if not v.requires_grad:
            raise E.OutputProblem("detached", quantity=k)
    grads = raw["grads"]
    out = {}
    for k, g in grads.items():
        if g is None:
            raise E.OutputProblem("detached", quantity=k.removesuffix(".grad"))
        out[k] = g.detach().numpy()
    return out


def _call(module, x, hx):
    """Call forward with a state, or without one (then a TypeError means hx=None is not accepted)."""
    if hx is not None:
        return module(x, hx)
    try:
        return module(x)
    except TypeError as e:
        raise E.OutputProblem("hx_none", error=f"TypeError: {e}") from None


def _cases(seq: bool):
    cases = []
    for k, ((B, D, H), T) in enumerate(zip(E.SIZES, (4, 1, 3))):
        rng = np.random.default_rng(8800 + k + 10 * seq)
        params = E.random_params(rng, 4, D, H)
        x = rng.standard_normal((T, B, D) if seq else (B, D))
        h0, c0 = (None, None) if k == 1 else (rng.standard_normal((B, H)), rng.standard_normal((B, H)))
        w = {"h": rng.standard_normal((T, B, H) if seq else (B, H)), "c": rng.standard_normal((B, H))}
        sizes = dict(T=T, B=B, D=D, H=H) if seq else dict(B=B, D=D, H=H)
        cases.append(E.Case(E.label(k, 3, **sizes) + (", no initial state" if h0 is None else ""),
                            dict(B=B, D=D, H=H, x=x, h0=h0, c0=c0, params=params, w=w)))
    return cases


def _torch_reference(d, seq: bool):
    """Outputs and gradients of ``torch.nn.LSTMCell`` / ``torch.nn.LSTM`` holding the same weights."""
    torch_cls = torch.nn.LSTM if seq else torch.nn.LSTMCell
    suffix = "_l0" if seq else ""
    ref = torch_cls(d["D"], d["H"]).double()
    for ours, accepted in _NAMES.items():
        with torch.no_grad():
            getattr(ref, accepted[0] + suffix).copy_(torch.from_numpy(d["params"][ours]))
    return _run(ref, d, seq, {ours: getattr(ref, a[0] + suffix) for ours, a in _NAMES.items()})


def _run(module, d, seq, params):
    """Forward and backward of a cell or layer; returns (outputs, gradients)."""
    x, h0, c0 = _leaf(d["x"]), _leaf(d["h0"]), _leaf(d["c0"])
    if seq:
        hx = None if h0 is None else (h0[None], c0[None])
        out = _call(module, x, hx)
        output, (h_n, c_n) = E.expect_tuple(out, ("output", "(h_n, c_n)"), "forward")
        E.expect_tuple((h_n, c_n), ("h_n", "c_n"), "forward")
        outputs = {"output": output, "h_n": h_n, "c_n": c_n}
        weights = {"output": d["w"]["h"], "c_n": d["w"]["c"][None]}
    else:
        out = _call(module, x, None if h0 is None else (h0, c0))
        h, c = E.expect_tuple(out, ("h", "c"), "forward")
        outputs, weights = {"h": h, "c": c}, {"h": d["w"]["h"], "c": d["w"]["c"]}
    leaves = {"x.grad": x} | ({} if h0 is None else {"h0.grad": h0, "c0.grad": c0})
    leaves |= {f"{_NAMES[k][0]}.grad": p for k, p in params.items()}
    return {"outputs": outputs, "grads": _backprop(outputs, weights, leaves)}


def _mutants_for(d, seq: bool):
    muts = (V.SEQUENCE_FORWARD_MUTANTS + V.FORWARD_MUTANTS) if seq else V.FORWARD_MUTANTS
    p = d["params"]

    def call(**kw):
        if seq:
            out = V.forward(d["x"], p, d["h0"], d["c0"], **kw)
            return {"output": out["hs"], "h_n": out["h_n"][None], "c_n": out["c_n"][None]}
        zeros = np.zeros((d["B"], d["H"]))
        h0 = zeros if d["h0"] is None else d["h0"]
        c0 = zeros if d["c0"] is None else d["c0"]
        return V.step_forward(d["x"], h0, c0, p, **kw)
    return E.mutants(muts, call)


def _check(cls, seq: bool, name: str, verbose: bool):
    def invoke(c, d):
        module, params = _build(c, d["D"], d["H"], d["params"])
        return _run(module, d, seq, params)

    def unpack_forward(raw, d):
        return {k: E.to_array(v, k) for k, v in raw["outputs"].items()}

    def reference_outputs(d):
        return {k: v.detach().numpy() for k, v in _torch_reference(d, seq)["outputs"].items()}

    def reference_grads(d):
        return {k: v.numpy() for k, v in _torch_reference(d, seq)["grads"].items()}

    param_keys = tuple(f"{a[0]}.grad" for a in _NAMES.values())
    what = ("output, h_n, c_n and every gradient match torch.nn.LSTM" if seq else
            "h, c and every gradient match torch.nn.LSTMCell")
    return E.run_stages(name, cls, _cases(seq), invoke,
                        [(unpack_forward, reference_outputs, lambda d: _mutants_for(d, seq), ()),
                         (_unpack_grads, reference_grads, lambda d: (), param_keys)],
                        what=what + " on 3 test cases (B = 3, 1, 2; D ≠ H; with and without hx).", forbid=traps.forbidden("lstm"),
                        verbose=verbose)


def check_torch_lstm_cell(cls, verbose: bool = True):
    """Check a student's ``torch.nn.Module`` LSTM cell against ``torch.nn.LSTMCell``.

    Contract (nn.LSTMCell's): ``cls(input_size, hidden_size)``; parameters ``weight_ih (4H, D)``,
    ``weight_hh (4H, H)``, ``bias_ih (4H,)``, ``bias_hh (4H,)``; ``forward(x, hx=None)`` with
    ``x (B, D)``, ``hx = (h, c)`` each ``(B, H)`` or None for zeros, returning ``(h, c)``.

    Recognised mistakes: not an nn.Module; a parameter missing, misnamed or of the wrong shape;
    ``hx=None`` not accepted; every forward mistake of ``check_lstm_step_forward`` (gate order,
    missing tanh, swapped activations, forget gate on the candidate, missing bias, ...);
    outputs cut from the autograd graph (``.detach()``, ``.data``, ``torch.tensor``), named by
    the first quantity no gradient reaches; wrong shapes.
    """
    return _check(cls, False, _is_class(cls, "check_torch_lstm_cell", "LSTMCell"), verbose)


def check_torch_lstm(cls, verbose: bool = True):
    """Check a student's ``torch.nn.Module`` LSTM layer against ``torch.nn.LSTM`` (one layer, time-major).

    Contract: ``cls(input_size, hidden_size)``; parameters named ``weight_ih``/``weight_ih_l0``
    etc. (for example inside a ``self.cell``); ``forward(x, hx=None)`` with ``x (T, B, D)`` and
    ``hx = (h_0, c_0)`` each ``(1, B, H)``, returning ``(output, (h_n, c_n))``: ``output (T, B, H)``,
    ``h_n`` and ``c_n`` ``(1, B, H)``.

    Recognised mistakes: those of :func:`check_torch_lstm_cell`, made at each step; h or c not
    carried from step to step; output shifted by one step; the initial state ignored; the cell
    states returned as output; ``h_n``/``c_n`` without the leading num_layers dimension.
    """
    return _check(cls, True, _is_class(cls, "check_torch_lstm", "LSTM"), verbose)
