"""No credit for delegating: run the student's code while the package's reference answers are traps.

The package ships the reference implementation of every exercise, so a one-line wrapper
around ``lstm_course.numpy.lstm_step_forward`` would reproduce the reference exactly. While a
checker runs the student's function, :func:`trapped` replaces the *code* of every function
that computes the requested quantity with a trap that records the call and raises
:class:`Delegated`. Swapping ``__code__`` (rather than a module attribute) catches every way of
reaching the function: imported under another name before the check, kept in a dict or a
``functools.partial``, or called through a wrapper of the student's. Builtin functions (torch's
``torch.lstm_cell`` and friends) have no ``__code__``; they are replaced by name in their
modules. Everything is restored on exit, also when the student's code raises.

The checker computes its own reference outputs outside the trap (before or after the call),
so its comparisons keep working.

:data:`FAMILIES` names, for each kind of exercise, the functions (``"module:qualname"``) that
would solve it. A name that does not resolve (an older torch without that builtin, say) is
skipped.
"""
from __future__ import annotations

import contextlib
import importlib
import threading

_LOCK = threading.RLock()

#: The functions that would solve an exercise, by family: ``"module:qualname"``.
FAMILIES = {
    "rnn": (
        "lstm_course.numpy.rnn:rnn_step_forward", "lstm_course.numpy.rnn:rnn_step_backward",
        "lstm_course.numpy.rnn:rnn_forward", "lstm_course.numpy.rnn:rnn_backward",
        "lstm_course.gradients:elman_forward", "lstm_course.gradients:state_gradients",
        "lstm_course.torch.cells:rnn_cell_step", "lstm_course.torch.cells:RNNCell.forward",
        "lstm_course.torch.layers:RNN.forward",
        "torch.nn:RNN.forward", "torch.nn:RNNCell.forward",
        "torch:rnn_tanh_cell", "torch:rnn_tanh", "torch._VF:rnn_tanh_cell", "torch._VF:rnn_tanh",
    ),
    "rnn_backward": (
        "lstm_course.numpy.rnn:rnn_step_backward", "lstm_course.numpy.rnn:rnn_backward",
        "lstm_course.gradients:state_gradients",
    ),
    "rnn_jacobian": (
        "lstm_course.gradients:state_gradients", "lstm_course.gradients:hidden_gradient_norms",
        "lstm_course.gradients:jacobian_norms", "lstm_course.training:task_gradient_norms",
    ),
    "lstm": (
        "lstm_course.numpy.lstm:lstm_step_forward", "lstm_course.numpy.lstm:lstm_step_backward",
        "lstm_course.numpy.lstm:lstm_forward", "lstm_course.numpy.lstm:lstm_backward",
        "lstm_course.numpy.fast:lstm_forward", "lstm_course.numpy.fast:lstm_backward",
        "lstm_course.numpy.fast:gates_forward", "lstm_course.numpy.fast:local_factors",
        "lstm_course.gradients:state_gradients",
        "lstm_course.torch.cells:lstm_cell_step", "lstm_course.torch.cells:LSTMCell.forward",
        "lstm_course.torch.layers:LSTM.forward", "lstm_course.torch.bptt:lstm_bptt",
        "lstm_course.torch.bptt:LSTMBPTT.forward", "lstm_course.torch.bptt:LSTMBPTT.backward",
        "torch.nn:LSTM.forward", "torch.nn:LSTMCell.forward",
        "torch:lstm_cell", "torch:lstm", "torch._VF:lstm_cell", "torch._VF:lstm",
    ),
    "gru": (
        "lstm_course.numpy.gru:gru_step_forward", "lstm_course.numpy.gru:gru_step_backward",
        "lstm_course.numpy.gru:gru_forward", "lstm_course.numpy.gru:gru_backward",
        "lstm_course.torch.cells:gru_cell_step", "lstm_course.torch.cells:GRUCell.forward",
        "lstm_course.torch.layers:GRU.forward",
        "torch.nn:GRU.forward", "torch.nn:GRUCell.forward",
        "torch:gru_cell", "torch:gru", "torch._VF:gru_cell", "torch._VF:gru",
    ),
    "numerical_gradient": (
        "lstm_course.numpy.gradcheck:numerical_gradient", "lstm_course.numpy.gradcheck:gradcheck",
        "lstm_course.numpy.gradcheck:check_sequence_gradients",
    ),
    "baseline": (
        "lstm_course.tasks:adding_baseline_mse", "lstm_course.tasks:adding_baseline_accuracy",
    ),
    "generate": ("lstm_course.charlm:generate", "lstm_course.text:sample_next"),
    "text_pipeline": ("lstm_course.text:batchify",),
    "windows": ("lstm_course.text:tbptt_window",),
    "scoring": ("lstm_course.charlm:continuation_log_prob", "lstm_course.charlm:perplexity"),
    "temperature": ("lstm_course.text:softmax_with_temperature", "lstm_course.text:sample_next"),
    "training_loops": ("lstm_course.charlm:train_charlm", "lstm_course.charlm:perplexity",
                       "lstm_course.training:train", "lstm_course.training:evaluate"),
    "lstm_backward": (
        "lstm_course.numpy.lstm:lstm_step_backward", "lstm_course.numpy.lstm:lstm_backward",
        "lstm_course.numpy.fast:lstm_backward", "lstm_course.numpy.fast:local_factors",
        "lstm_course.gradients:state_gradients", "lstm_course.gradients:hidden_gradient_norms",
        "lstm_course.gradients:jacobian_norms", "lstm_course.jacobians:lstm_step_jacobians",
        "lstm_course.jacobians:state_jacobian", "lstm_course.jacobians:full_cell_jacobian",
        "lstm_course.jacobians:cell_jacobians_along", "lstm_course.jacobians:cell_sensitivities",
    ),
    "decay_fit": ("lstm_course.gradients:fit_log_slope", "lstm_course.gradients:spectral_norm",
                  "lstm_course.gradients:bound_log_slope"),
    "seed_study": ("lstm_course.studies:wilson_interval", "lstm_course.studies:summarize",
                   "lstm_course.heirs_study:summary"),
    "study_models": ("lstm_course.studies:make_model", "lstm_course.studies:hidden_size"),
    "course_models": ("lstm_course.models:SequenceModel.forward", "lstm_course.models:SequenceModel.unroll"),
}


class Delegated(BaseException):
    """Raised by a trapped reference function. A ``BaseException``, so that a student's
    ``except Exception`` does not swallow it (the call is recorded anyway)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


#: The calls recorded by the traps of the innermost :func:`trapped` block.
_calls: list = []


def _record(name: str):
    _calls.append(name)
    raise Delegated(name)


def _resolve(spec: str):
    """``(owner, attribute, value)`` for ``"module:qualname"``, or None when it does not resolve."""
    module_name, _, qualname = spec.partition(":")
    try:
        owner = importlib.import_module(module_name)
    except ImportError:
        return None
    *path, attr = qualname.split(".")
    for part in path:
        owner = getattr(owner, part, None)
        if owner is None:
            return None
    value = owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    return None if value is None else (owner, attr, value)


def _trap_code(func, label: str):
    """A code object that records ``label`` and raises, for a function without free variables."""
    source = (f"def {func.__name__}(*args, **kwargs):\n"
              f"    __import__('lstm_course.checks._traps', fromlist=['_record'])._record({label!r})\n")
    namespace: dict = {}
    exec(compile(source, f"<trap for {label}>", "exec"), {}, namespace)  # noqa: S102 - our own fixed text
    return namespace[func.__name__].__code__


def _label(spec: str) -> str:
    module_name, _, qualname = spec.partition(":")
    public = {"lstm_course.numpy.rnn": "lstm_course.numpy", "lstm_course.numpy.lstm": "lstm_course.numpy",
              "lstm_course.numpy.gru": "lstm_course.numpy", "lstm_course.numpy.gradcheck": "lstm_course.numpy"}
    return f"{public.get(module_name, module_name)}.{qualname}"


def forbidden(*families: str) -> tuple:
    """The specs of ``families`` (names of :data:`FAMILIES`), without repeats, in order."""
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown family {unknown[0]!r}; expected one of {sorted(FAMILIES)}")
    return tuple(dict.fromkeys(spec for f in families for spec in FAMILIES[f]))


@contextlib.contextmanager
def trapped(specs):
    """While the block runs, every function of ``specs`` records its calls and raises :class:`Delegated`.

    Yields the list of recorded calls (labels such as ``"lstm_course.numpy.lstm_forward"``):
    a student's code that catches the exception is still found out.
    """
    global _calls
    with _LOCK:
        swapped, patched, outer = [], [], _calls
        _calls = []
        calls = _calls
        try:
            for spec in specs:
                found = _resolve(spec)
                if found is None:
                    continue
                owner, attr, value = found
                code = getattr(value, "__code__", None)
                if code is not None and not code.co_freevars:
                    value.__code__ = _trap_code(value, _label(spec))
                    swapped.append((value, code))
                elif callable(value) and not isinstance(owner, type):  # a builtin: replace it by name
                    def trap(*args, _label=_label(spec), **kwargs):
                        _record(_label)
                    setattr(owner, attr, trap)
                    patched.append((owner, attr, value))
            yield calls
        finally:
            for value, code in swapped:
                value.__code__ = code
            for owner, attr, value in patched:
                setattr(owner, attr, value)
            _calls = outer
