"""Checkers for the language-model and experiment exercises: baselines, temperature, sampling."""
from __future__ import annotations

import numpy as np
import torch

from .. import charlm as lm
from .. import tasks
from ..text import Vocab
from . import _engine as E
from . import _traps as traps
from . import _feedback as F

F.MESSAGES.update({
    "temperature_after_softmax": ("the temperature is applied after the softmax: softmax(z) / τ.",
                                  "Divide the logits before the softmax: softmax(z / τ). After it, τ "
                                  "only rescales the probabilities, which then no longer sum to 1."),
    "sampled_argmax": ("your sampler always takes the most likely character (arg-max): on a model "
                       "that is unsure, it writes the greedy continuation.",
                       "Draw the next id from the probabilities: torch.multinomial(probs, 1, "
                       "generator=generator)."),
})


# ------------------------------------------------------------------------------ baseline MSE
def _baseline_cases():
    ys = [tasks.adding_problem(8, 10, seed=3).y, tasks.adding_problem(1, 10, seed=4).y,
          tasks.adding_problem(5, 20, form="1997", seed=5).y]
    return [E.Case(f"{k + 1} of 3: y of shape {tuple(y.shape)}", dict(y=y)) for k, y in enumerate(ys)]


def _baseline(y, mistake=None):
    v = y.double().numpy()
    if mistake == "baseline_zero":
        return {"mse": np.mean(v * v)}
    mse = np.mean((v - v.mean()) ** 2)
    if mistake == "baseline_unbiased":
        return {"mse": mse * v.size / (v.size - 1)}
    return {"mse": np.sqrt(mse) if mistake == "baseline_std" else mse}


def check_baseline_mse(fn, verbose: bool = True):
    """Check a student's ``baseline_mse(y) -> float``: the MSE of the best constant prediction.

    ``y`` is a task's ``(n, 1)`` float32 target tensor; the best constant is the mean, and its
    MSE the (population) variance of ``y``. Recognised mistakes: the error of predicting 0
    (mean of y²); dividing by n − 1; the standard deviation instead of the MSE; a result that
    is not one number.
    """
    name = E.function_name(fn, "check_baseline_mse", "baseline_mse")

    def unpack(raw, d):
        return {"mse": E.to_number(raw, "the baseline", "Return a float, e.g. with .item().")}

    def mutants(d):
        return [E.Mutant(c, {}, (lambda c=c: _baseline(d["y"], c)))
                for c in ("baseline_zero", "baseline_unbiased", "baseline_std")]
    return E.run(name, fn, _baseline_cases(), lambda f, d: f(d["y"]), unpack, lambda d: _baseline(d["y"]), mutants,
                 what="it is the variance of the targets, the MSE of always predicting their mean, on 3 batches.",
                 forbid=traps.forbidden("baseline"),
                 verbose=verbose)


# ------------------------------------------------------------------------ softmax temperature
def _softmax_cases():
    rng = np.random.default_rng(8900)
    specs = (((3, 7), 2.0, 0.5), ((1, 5), 1.0, 2.0), ((2, 6), 100.0, 0.1))
    return [E.Case(f"{k + 1} of 3: logits of shape {shape}, temperature {tau}",
                   dict(logits=torch.from_numpy(scale * rng.standard_normal(shape)), tau=tau))
            for k, (shape, scale, tau) in enumerate(specs)]


SOFTMAX_MISTAKES = ("temperature_inverted", "temperature_ignored", "temperature_after_softmax",
                    "wrong_axis", "not_normalised")


def _softmax(z, tau, mistake=None, dim=-1):
    ms = E.mistakes_of(mistake)
    z = z.double()
    scaled = E.one_of({"temperature_inverted": z * tau, "temperature_ignored": z,
                       "temperature_after_softmax": z}, ms, z / tau)
    if "not_normalised" in ms:
        if "wrong_axis" in ms:
            raise E.Incompatible("no axis without a normalisation")
        probs = torch.exp(scaled)
    else:
        probs = torch.softmax(scaled, dim=0 if "wrong_axis" in ms else dim)
    return {"probs": (probs / tau if "temperature_after_softmax" in ms else probs).numpy()}


def check_softmax_temperature(fn, verbose: bool = True):
    """Check a student's ``softmax_with_temperature(logits, temperature) -> probs``.

    ``logits (B, V)`` (a float64 tensor), ``probs (B, V)`` with ``probs[b] = softmax(logits[b] / τ)``.
    Recognised mistakes: multiplying by τ instead of dividing; τ ignored; τ applied after the
    softmax (``softmax(z) / τ``); the softmax over the wrong dimension; no normalisation; any two
    of these at once; an overflow (NaN or inf) for large logits at a low temperature; a wrong
    shape. ``lstm_course.text.softmax_with_temperature`` is a trap while the student's code runs.
    """
    name = E.function_name(fn, "check_softmax_temperature", "softmax_with_temperature")

    def unpack(raw, d):
        probs = E.to_array(raw, "probs")
        if probs.shape == tuple(d["logits"].shape) and not np.isfinite(probs).all():
            raise E.OutputProblem("softmax_overflow")
        if probs.shape == tuple(d["logits"].shape) and (probs > 0).all():
            sums = probs.sum(axis=-1, keepdims=True)
            ref = _softmax(d["logits"], d["tau"])["probs"]
            after = np.allclose(sums, 1 / d["tau"], rtol=1e-9)  # softmax(z) / τ: a mutant
            if not after and E.rel_err(probs / sums, ref) < E.TOL and E.rel_err(sums, 1.0) > E.TOL:
                raise E.OutputProblem("not_normalised")  # in any form: exp(z / τ − max) too
        return {"probs": probs}

    def mutants(d):
        return E.mutants([(c, {}, {"mistake": c}) for c in SOFTMAX_MISTAKES],
                         lambda **kw: _softmax(d["logits"], d["tau"], **kw))
    return E.run(name, fn, _softmax_cases(), lambda f, d: f(d["logits"], d["tau"]), unpack,
                 lambda d: _softmax(d["logits"], d["tau"]), mutants,
                 what="the probabilities match softmax(logits / τ) on 3 cases, large logits included.",
                 forbid=traps.forbidden("temperature"), verbose=verbose)


# ------------------------------------------------------------------------------- generation
VOCAB = Vocab("abcdefgh .")


def peaked_model(seed: int = 250) -> lm.CharLM:
    """A small random ``CharLM`` whose next-character distributions are nearly one-hot.

    Its recurrent weights are scaled up (so the continuation depends on the whole history)
    and its read-out by 2000 (so that, along the checked continuations, the best character's
    logit leads the second by more than 40): sampling then gives the arg-max with
    probability above 1 − 1e-16 at every step. A correct sampler returns the same string
    whatever its random numbers; one that loses the state or the prompt returns another.
    The seed was chosen so that the continuation of ``"abc"`` is varied and every known
    mistake changes it.
    """
    torch.manual_seed(seed)
    model = lm.CharLM(len(VOCAB), 12, cell="lstm", embedding_dim=6).double()
    with torch.no_grad():
        model.embedding.weight.mul_(2.0)
        model.rnn.weight_ih_l0.mul_(2.0)
        model.rnn.weight_hh_l0.mul_(4.0)
        model.readout.weight.mul_(2000.0)
        model.readout.bias.zero_()
    return model.eval()


@torch.no_grad()
def _greedy(model, prompt, length, mistake=None):
    """The arg-max continuation, with at most one mistake."""
    ids = VOCAB.encode(prompt[-1:] if mistake == "prompt_ignored" else prompt)[:, None]  # (T, 1)
    logits, state = model(ids)
    out = []
    for _ in range(length):
        nxt = logits[-1].argmax(dim=-1)  # (1,)
        out.append(int(nxt))
        logits, state = model(nxt[None, :], None if mistake == "sample_state_not_carried" else state)
    text = VOCAB.decode(out)
    return prompt + text if mistake == "prompt_returned" else text


def check_generate(fn, verbose: bool = True):
    """Check a student's ``generate(model, vocab, prompt, length, temperature=1.0, generator=None) -> str``.

    The model is :func:`peaked_model`, so a correct sampler's output does not depend on its
    random numbers. Recognised mistakes: the state not passed from one character to the
    next; the prompt ignored (only its last character read); the prompt returned with the
    continuation; the wrong number of characters; not a string. A fourth case uses
    :func:`flat_model`, unsure of itself: a sampler that takes the arg-max is named.
    """
    name = E.function_name(fn, "check_generate", "generate")
    model = peaked_model()
    for k, (prompt, length, tau) in enumerate((("abc", 12, 1.0), ("h", 6, 0.8), ("a. b", 0, 1.0))):
        label = f"{k + 1} of 3: prompt {prompt!r}, {length} characters"
        try:
            got = E.guarded(lambda f, d: f(model, VOCAB, *d), traps.forbidden("generate"))(
                fn, (prompt, length, tau, torch.Generator().manual_seed(k)))
        except traps.Delegated as e:
            return E.delegated(name, e, label, verbose)
        except NotImplementedError as e:
            return F.failed(name, "not_implemented", verbose=verbose, where=E.raised_in(e, name))
        except Exception as e:
            return F.failed(name, "raised", label, verbose, error=f"{type(e).__name__}: {e}")
        want = _greedy(model, prompt, length)
        if got == want:
            continue
        if not isinstance(got, str):
            return F.failed(name, "bad_return", label, verbose, problem=f"{name} returned a {type(got).__name__}.",
                            hint="Return the new characters as a str, e.g. vocab.decode(ids).")
        for mistake in ("prompt_returned", "sample_state_not_carried", "prompt_ignored"):
            if got == _greedy(model, prompt, length, mistake):
                return F.failed(name, mistake, label, verbose)
        if len(got) != length:
            return F.failed(name, "wrong_length", label, verbose, expected=length, received=len(got))
        return F.failed(name, "mismatch", label, verbose, quantity="the generated text",
                        rel_err=sum(a != b for a, b in zip(got, want)) / max(length, 1),
                        also=f" (expected {want!r}, received {got!r}; the relative error is the "
                             "fraction of characters that differ)")
    flat = flat_model()
    label = "4 of 4: a model that is not sure of itself, prompt 'abc', 40 characters"
    try:
        got = E.guarded(lambda f, d: f(flat, VOCAB, *d), traps.forbidden("generate"))(
            fn, ("abc", 40, 1.0, torch.Generator().manual_seed(3)))
    except traps.Delegated as e:
        return E.delegated(name, e, label, verbose)
    except Exception as e:
        return F.failed(name, "raised", label, verbose, error=f"{type(e).__name__}: {e}")
    if got == _greedy(flat, "abc", 40):
        return F.failed(name, "sampled_argmax", label, verbose)
    return F.passed(name, "it continues 3 prompts as the reference does, carrying the state from "
                          "character to character, and it samples (not the arg-max) from a model "
                          "that is unsure.", verbose)


def flat_model(seed: int = 251) -> lm.CharLM:
    """A small random ``CharLM`` whose next-character distributions are far from one-hot: a
    sampler's 40 characters at τ = 1 are then (with probability near 1) not the arg-max path."""
    torch.manual_seed(seed)
    return lm.CharLM(len(VOCAB), 12, cell="lstm", embedding_dim=6).double().eval()
