"""Input validation for the torch modules: a clear error naming what was expected and what came."""
from __future__ import annotations

import torch

from .. import _validate as V


def _describe(x) -> str:
    """A short description of what arrived: type, and shape and dtype for tensors and arrays."""
    if isinstance(x, torch.Tensor):
        return f"tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"{type(x).__name__} of shape {tuple(x.shape)} and dtype {x.dtype}"
    return type(x).__name__


check_size = V.check_int  # an int >= 1 (not a bool), returned as an int; else a clear error


def check_bool(name: str, value, hint: str = "") -> bool:
    """Return ``value`` if it is a bool, else raise (``1`` is refused: it is too easily a typo)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False; got {type(value).__name__} {value!r}{hint}")
    return value


def check_choice(name: str, value, choices: tuple) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_tensor(name: str, x, shape_names: str, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Check that ``x`` is a finite floating tensor with the module's dtype and device.

    Raises:
        TypeError: not a tensor; an integer, boolean or complex dtype; a dtype other than
            the module's parameters' (convert one or the other with ``.to(dtype)``).
        ValueError: a different device, or a NaN/inf entry.
    """
    if not isinstance(x, torch.Tensor):
        hint = " Convert it with torch.as_tensor(x)." if hasattr(x, "__array__") else ""
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape_names}; got {_describe(x)}.{hint}")
    if not x.dtype.is_floating_point:
        raise TypeError(
            f"{name} must have a floating dtype (the module's is {dtype}); got dtype {x.dtype} "
            f"(shape {tuple(x.shape)}). Convert with {name}.to({dtype})."
        )
    if x.dtype != dtype:
        raise TypeError(
            f"{name} must have the dtype of the module's parameters, {dtype}; got dtype {x.dtype}. "
            f"Convert the input with .to({dtype}) or the module with .to({x.dtype})."
        )
    if x.device != device:
        raise ValueError(f"{name} must be on the module's device, {device}; got device {x.device}")
    if x.numel() == 0:
        raise ValueError(
            f"{name} must have no empty dimension, expected shape {shape_names}; got shape {tuple(x.shape)}"
        )
    if not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name} must be finite; got {bad} NaN or inf entries (shape {tuple(x.shape)})")
    return x


def check_input(module: str, x, input_size: int, batched_names: str, unbatched_names: str,
                dtype: torch.dtype, device: torch.device) -> bool:
    """Check a module's input and return whether it is batched.

    The input's rank decides: ``len(batched_names)`` dimensions (a batch) or one fewer
    (one unbatched sample, as ``torch.nn`` accepts). The last dimension must be ``input_size``.
    """
    batched_rank = batched_names.count(",") + 1
    expected = f"{batched_names} or {unbatched_names} with D = input_size = {input_size}"
    check_tensor(f"{module} input", x, expected, dtype, device)
    if x.dim() not in (batched_rank, batched_rank - 1):
        raise ValueError(f"{module} input must have shape {expected}; got {x.dim()}-D shape {tuple(x.shape)}")
    if x.shape[-1] != input_size:
        raise ValueError(f"{module} input must have shape {expected}; got shape {tuple(x.shape)}")
    return x.dim() == batched_rank


def check_state(name: str, s, shape: tuple, shape_names: str, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Check one state tensor (``h_0``, ``c_0``, ``hx``) against the shape the input implies."""
    expected = f"{shape_names} = {tuple(shape)}"
    check_tensor(name, s, expected, dtype, device)
    if tuple(s.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {expected} to match the input; got shape {tuple(s.shape)}")
    return s


def check_pair(module: str, hx) -> tuple:
    """Check that an LSTM's ``hx`` is a pair ``(h, c)`` and return it."""
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        got = f"a {type(hx).__name__} of length {len(hx)}" if isinstance(hx, (tuple, list)) else _describe(hx)
        raise TypeError(f"{module} hx must be a tuple (h_0, c_0) of two tensors; got {got}")
    return tuple(hx)


def check_torch_module(cls_name: str, module, expected_type: type) -> None:
    """Check that ``from_torch`` received the matching single-layer, unidirectional ``torch.nn`` module."""
    if type(module) is not expected_type:
        raise TypeError(
            f"{cls_name}.from_torch expects a torch.nn.{expected_type.__name__}; got {_describe(module)}"
        )
    problems = []
    if getattr(module, "num_layers", 1) != 1:
        problems.append(f"num_layers={module.num_layers} (only 1 is supported)")
    if getattr(module, "bidirectional", False):
        problems.append("bidirectional=True (only one direction is supported)")
    if getattr(module, "proj_size", 0):
        problems.append(f"proj_size={module.proj_size} (projections are not supported)")
    if problems:
        raise ValueError(f"{cls_name}.from_torch cannot copy this module: {'; '.join(problems)}")
