"""Shared test helpers: torch.nn twins of the NumPy models with the same weights, and student-typed
copies of the NumPy reference (which the checkers' traps leave alone)."""
from __future__ import annotations

import importlib
import inspect
import types

import numpy as np
import torch

from lstm_course import convert
from lstm_course import numpy as lnp

MODELS = {
    "rnn": (torch.nn.RNN, lnp.init_rnn_params),
    "lstm": (torch.nn.LSTM, lnp.init_lstm_params),
    "gru": (torch.nn.GRU, lnp.init_gru_params),
}


def torch_twin(model: str, params: dict) -> torch.nn.Module:
    """A ``torch.nn.RNN/LSTM/GRU`` holding exactly ``params`` (same dtype)."""
    return convert.torch_module(params, model)


def torch_grads(module: torch.nn.Module) -> dict:
    """The module's parameter gradients under the NumPy names, in the parameters' dtype."""
    return convert.from_torch(module, dtype=module.weight_ih_l0.detach().numpy().dtype, grad=True)


def max_abs(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def student_copy(module_name: str) -> types.SimpleNamespace:
    """The functions of ``module_name`` re-created from its source text, as a student who typed
    the reference would have them.

    They are new function objects, so the checkers' traps (which switch off the package's own
    functions while a submission runs) do not touch them: a test can show that the reference
    *code* passes a checker, where passing the package's function itself is delegating. The
    module's classes (its caches) stay the package's, so the checkers' caches are accepted.
    """
    module = importlib.import_module(module_name)
    namespace = {"__name__": f"student_copy_of_{module_name}", "__package__": module.__package__}
    exec(compile(inspect.getsource(module), f"<copy of {module_name}>", "exec"), namespace)  # noqa: S102
    for name, value in list(namespace.items()):
        if isinstance(value, type) and getattr(module, name, None) is not None:
            namespace[name] = getattr(module, name)
    return types.SimpleNamespace(**namespace)


def student_numpy() -> types.SimpleNamespace:
    """``lstm_course.numpy`` with the RNN, LSTM, GRU and gradient-check functions replaced by
    :func:`student_copy` twins (the caches, initialisers and ``fast`` stay the package's)."""
    found = {name: getattr(lnp, name) for name in dir(lnp) if not name.startswith("__")}
    for part in ("rnn", "lstm", "gru", "gradcheck"):
        copy = student_copy(f"lstm_course.numpy.{part}")
        found.update({k: v for k, v in vars(copy).items() if k in found and callable(v) and not isinstance(v, type)})
    return types.SimpleNamespace(**found)
