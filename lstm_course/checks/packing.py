"""Checkers for variable-length batches in PyTorch: padding, a masked mean, and a bidirectional
LSTM classifier that packs its input and reads each direction's final state.

The classifier is checked against a reference computed from the student's *own* weights (its
``nn.LSTM`` and ``nn.Linear``), so only the way the sequences are fed and the states read is
judged. The classic mistakes are mutants of that reference: the padded last step read instead
of the final states, the packing left out (the backward direction then starts in the padding),
both directions read at the last valid step, ``h_n.view(B, 2H)`` (which mixes the batch), the
directions swapped, and lengths that must be sorted (``enforce_sorted=True``).
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from . import _engine as E
from . import _traps as traps


def _tensor(value, quantity: str):
    if not isinstance(value, torch.Tensor):
        raise E.OutputProblem("bad_return", problem=f"{quantity} is a {type(value).__name__}, not a tensor.",
                              hint=f"Return {quantity} as a torch tensor.")
    return value


# --------------------------------------------------------------------------------- padding
def _seq_cases():
    cases = []
    for k, (lengths, D) in enumerate((([3, 5, 1, 5], 2), ([4], 3), ([2, 6, 4], 1))):
        gen = torch.Generator().manual_seed(9100 + k)
        seqs = [torch.randn(L, D, generator=gen, dtype=torch.float64) for L in lengths]
        cases.append(E.Case(f"{k + 1} of 3: lengths {lengths}, D = {D}", dict(seqs=seqs, lengths=lengths, D=D)))
    return cases


def _pad(d, mistake=None):
    seqs, lengths = d["seqs"], d["lengths"]
    order = sorted(range(len(seqs)), key=lambda b: -lengths[b]) if mistake == "sorted_batch" else range(len(seqs))
    Tm = max(lengths)
    x = torch.zeros(Tm, len(seqs), d["D"], dtype=torch.float64)
    for j, b in enumerate(order):
        x[: lengths[b], j] = seqs[b]
        if mistake == "padded_with_last":
            x[lengths[b]:, j] = seqs[b][-1]
    out_lengths = [lengths[b] for b in order]
    return {"x": x.numpy(), "lengths": np.array(out_lengths, dtype=np.float64)}


def check_pad_batch(fn, verbose: bool = True):
    """Check a student's ``pad_batch(seqs) -> (x, lengths)``.

    ``seqs`` is a list of ``B`` tensors ``(L_b, D)``; ``x`` is the time-major ``(T', B, D)``
    batch with ``T' = max L_b``, zero after each sequence's end, in the order given;
    ``lengths`` is an int64 tensor ``(B,)``. Recognised mistakes: batch-first ``(B, T', D)``;
    the batch sorted by length; padding with the last value instead of zeros; lengths not
    int64 or not a tensor.
    """
    name = E.function_name(fn, "check_pad_batch", "pad_batch")

    def unpack(raw, d):
        x, lengths = E.expect_tuple(raw, ("x", "lengths"), name)
        x, lengths = _tensor(x, "x"), _tensor(lengths, "lengths")
        if lengths.dtype != torch.int64:
            raise E.OutputProblem("bad_return", problem=f"lengths has dtype {lengths.dtype}, not torch.int64.",
                                  hint="pack_padded_sequence wants int64 lengths on the CPU: "
                                       "torch.tensor(lengths, dtype=torch.int64).")
        return {"x": E.to_array(x, "x"), "lengths": E.to_array(lengths, "lengths")}

    def mutants(d):
        return [E.Mutant(m, {}, (lambda m=m: _pad(d, m))) for m in ("sorted_batch", "padded_with_last")]
    return E.run(name, fn, _seq_cases(), lambda f, d: f(d["seqs"]), unpack, _pad, mutants,
                 what="x is time-major, zero-padded and in the given order, and lengths is int64, on 3 batches.",
                 verbose=verbose)


# --------------------------------------------------------------------------------- masked mean
def _mean_cases():
    cases = []
    for k, (lengths, F) in enumerate((([3, 5, 1, 5], 2), ([4], 3), ([2, 6, 4], 1))):
        gen = torch.Generator().manual_seed(9200 + k)
        outputs = torch.randn(max(lengths), len(lengths), F, generator=gen, dtype=torch.float64)
        cases.append(E.Case(f"{k + 1} of 3: lengths {lengths}, F = {F}",
                            dict(outputs=outputs, lengths=torch.tensor(lengths))))
    return cases


def _masked_mean(d, mistake=None):
    outputs, lengths = d["outputs"], d["lengths"]
    Tm = outputs.shape[0]
    if mistake == "mean_over_padding":
        return {"mean": outputs.mean(0).numpy()}
    stop = {"mask_one_short": lengths - 1, "mask_one_long": lengths + 1}.get(mistake, lengths)
    mask = (torch.arange(Tm)[:, None] < stop[None, :]).to(outputs.dtype)  # (T', B)
    total = (outputs * mask[:, :, None]).sum(0)
    divisor = {"sum_not_mean": torch.ones_like(lengths), "divided_by_T": torch.full_like(lengths, Tm)}.get(
        mistake, lengths)
    return {"mean": (total / divisor[:, None].to(outputs.dtype)).numpy()}


def check_masked_mean(fn, verbose: bool = True):
    """Check a student's ``masked_mean(outputs, lengths) -> (B, F)``: the mean of ``outputs (T', B, F)``
    over the valid steps ``0 .. lengths[b] − 1`` of each sequence.

    Recognised mistakes: the mean taken over the padding too; a masked sum not divided; the sum
    divided by ``T'`` instead of each length; the mask one step short or long.
    """
    name = E.function_name(fn, "check_masked_mean", "masked_mean")

    def unpack(raw, d):
        return {"mean": E.to_array(_tensor(raw, "the mean"), "the mean")}

    def mutants(d):
        return [E.Mutant(m, {}, (lambda m=m: _masked_mean(d, m))) for m in (
            "mean_over_padding", "sum_not_mean", "divided_by_T", "mask_one_short", "mask_one_long")]
    return E.run(name, fn, _mean_cases(), lambda f, d: f(d["outputs"], d["lengths"]), unpack, _masked_mean,
                 mutants, what="the mean over each sequence's valid steps matches on 3 batches.", verbose=verbose)


# --------------------------------------------------------------------------------- the classifier
def _cls_cases():
    cases = []
    for k, (lengths, D, H, C) in enumerate((([3, 7, 1, 7, 5], 3, 4, 4), ([6], 2, 3, 2), ([2, 6, 4], 3, 5, 3))):
        gen = torch.Generator().manual_seed(9300 + k)
        x = torch.randn(max(lengths), len(lengths), D, generator=gen, dtype=torch.float64)
        x[torch.arange(max(lengths))[:, None] >= torch.tensor(lengths)[None, :]] = 0.0
        cases.append(E.Case(f"{k + 1} of 3: lengths {lengths}, D = {D}, H = {H}",
                            dict(x=x, lengths=torch.tensor(lengths), D=D, H=H, C=C, key=k)))
    return cases


def _parts(module):
    """The student's one bidirectional nn.LSTM and one nn.Linear head."""
    lstms = [m for m in module.modules() if isinstance(m, torch.nn.LSTM)]
    heads = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    if len(lstms) != 1 or len(heads) != 1:
        raise E.OutputProblem("bad_return", problem=f"your module holds {len(lstms)} nn.LSTM and {len(heads)} "
                              "nn.Linear; expected one of each.",
                              hint="Create self.lstm = nn.LSTM(input_size, hidden_size, bidirectional=True) and "
                                   "self.head = nn.Linear(2 * hidden_size, num_classes).")
    lstm, head = lstms[0], heads[0]
    if not lstm.bidirectional or lstm.batch_first or lstm.num_layers != 1:
        raise E.OutputProblem("bad_return", problem=f"your nn.LSTM has bidirectional={lstm.bidirectional}, "
                              f"batch_first={lstm.batch_first}, num_layers={lstm.num_layers}.",
                              hint="This lab's layer: nn.LSTM(input_size, hidden_size, bidirectional=True) "
                                   "(time-major, one layer).")
    return lstm, head


def _features(lstm, x, lengths, mistake=None):
    """The (B, 2H) features the head reads, the right way or with one mistake."""
    B, H = x.shape[1], lstm.hidden_size
    if mistake in ("padded_last_step", "not_packed"):
        out, (h_n, _) = lstm(x)
        return out[-1] if mistake == "padded_last_step" else torch.cat([h_n[0], h_n[1]], dim=1)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    out, (h_n, _) = lstm(packed)
    out, _ = pad_packed_sequence(out)  # (T', B, 2H), zero after each end
    if mistake == "packed_output_last":
        return out[-1]
    if mistake == "last_valid_both_halves":
        return out[lengths - 1, torch.arange(B)]
    if mistake == "h_n_view":
        return h_n.reshape(B, 2 * H)
    if mistake == "directions_swapped":
        return torch.cat([h_n[1], h_n[0]], dim=1)
    return torch.cat([h_n[0], h_n[1]], dim=1)  # forward final at lengths - 1, backward final at step 0


CLASSIFIER_MUTANTS = ("padded_last_step", "not_packed", "packed_output_last", "last_valid_both_halves",
                      "h_n_view", "directions_swapped")


def check_bilstm_classifier(cls, verbose: bool = True):
    """Check a student's bidirectional LSTM classifier for padded, variable-length batches.

    Contract: ``cls(input_size, hidden_size, num_classes)`` holding one
    ``nn.LSTM(input_size, hidden_size, bidirectional=True)`` and one ``nn.Linear(2H, C)``;
    ``forward(x, lengths)`` with ``x (T', B, D)`` zero-padded and ``lengths (B,)`` int64 (not
    sorted) returns logits ``(B, C)`` from the concatenated final states of the two directions.
    The reference is computed from the student's own weights. Recognised mistakes: the padded
    last step read (unpacked, or packed and padded back); the input not packed; both directions
    read at the last valid step; ``h_n.view(B, 2H)``; the directions swapped; packing with
    ``enforce_sorted=True``; calling the course's own models.
    """
    if not isinstance(cls, type):
        raise TypeError(f"check_bilstm_classifier needs your class itself, e.g. check_bilstm_classifier("
                        f"BiLSTMClassifier); got {type(cls).__name__}")
    name = cls.__name__
    built = {}

    def invoke(c, d):
        torch.manual_seed(9400 + d["key"])
        module = c(d["D"], d["H"], d["C"])
        if not isinstance(module, torch.nn.Module):
            raise E.OutputProblem("not_module", problem=f"{name}(...) is a {type(module).__name__}, "
                                                        "not a torch.nn.Module.")
        module.double()
        _parts(module)
        built[d["key"]] = module
        try:
            return module(d["x"], d["lengths"])
        except RuntimeError as e:
            if "enforce_sorted" in str(e):
                raise E.OutputProblem("enforce_sorted") from None
            raise

    def unpack(raw, d):
        return {"logits": E.to_array(_tensor(raw, "the logits"), "the logits")}

    def outputs(d, mistake=None):
        lstm, head = _parts(built[d["key"]])
        with torch.no_grad():
            return {"logits": head(_features(lstm, d["x"], d["lengths"], mistake)).numpy()}

    def mutants(d):
        return [E.Mutant(m, {}, (lambda m=m: outputs(d, m))) for m in CLASSIFIER_MUTANTS]

    def reference(d):
        return outputs(d)
    return E.run(name, cls, _cls_cases(), invoke, unpack, reference, mutants,
                 what="the logits come from both directions' final states, with packed input, on 3 "
                      "unsorted batches.", forbid=traps.forbidden("course_models"), verbose=verbose)
