"""Input validation shared by the package: clear errors, never silent broadcasting."""
from __future__ import annotations

import numbers
from typing import Mapping

import numpy as np

SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_int(name: str, value, minimum: int = 1, why: str = "") -> int:
    """Return ``value`` as an int if it is an integer (not a bool) of at least ``minimum``.

    Raises ``TypeError`` for anything that is not an integer and ``ValueError`` for one below
    ``minimum``, each naming what was expected and what came (``why`` is appended to the
    expectation, e.g. ``" (one marker and one distractor)"``).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}{why}; got {value}")
    return int(value)


def _describe(a) -> str:
    """A short description of what arrived: type, shape and dtype where there are any."""
    if isinstance(a, np.ndarray):
        return f"array of shape {a.shape} and dtype {a.dtype}"
    return f"{type(a).__name__}"


def as_float_array(name: str, a, shape_names: str, ndim: int) -> np.ndarray:
    """Return ``a`` as a float32/float64 array of rank ``ndim``, or raise a clear error.

    Args:
        name: the argument's name, used in messages (``"xs"``).
        a: what the caller passed.
        shape_names: the expected shape in words, e.g. ``"(T, B, D)"``.
        ndim: the expected number of dimensions.

    Raises:
        TypeError: ``a`` is not array-like, or its dtype is not float32/float64
            (integers, booleans, complex numbers and float16 are refused: the
            results would be silently rounded or wrong).
        ValueError: wrong rank, an empty dimension, or a NaN/inf entry.
    """
    if a is None:
        raise TypeError(f"{name} must be an array of shape {shape_names}; got None")
    if type(a).__module__.startswith("torch"):
        raise TypeError(
            f"{name} must be a NumPy array of shape {shape_names}; got a torch.Tensor. "
            "Convert it with tensor.detach().cpu().numpy() first."
        )
    arr = np.asarray(a)
    if arr.dtype not in SUPPORTED_DTYPES:
        raise TypeError(
            f"{name} must have dtype float32 or float64; got dtype {arr.dtype} "
            f"(shape {arr.shape}). Convert with {name}.astype(np.float64)."
        )
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape_names} ({ndim} dimensions); got shape {arr.shape}")
    if 0 in arr.shape:
        raise ValueError(f"{name} must have no empty dimension, expected shape {shape_names}; got shape {arr.shape}")
    if not np.isfinite(arr).all():
        bad = int(np.size(arr) - np.isfinite(arr).sum())
        raise ValueError(f"{name} must be finite; got {bad} NaN or inf entries (shape {arr.shape})")
    return arr


def check_dtype(name: str, arr: np.ndarray, dtype: np.dtype, ref_name: str) -> None:
    """Raise ``TypeError`` unless ``arr`` has the same dtype as the reference array."""
    if arr.dtype != dtype:
        raise TypeError(
            f"{name} has dtype {arr.dtype} but {ref_name} has dtype {dtype}; "
            "all arrays of one call must share a dtype (float32 or float64)"
        )


def check_shape(name: str, arr: np.ndarray, expected: tuple, expected_names: str) -> None:
    """Raise ``ValueError`` unless ``arr.shape == expected``."""
    if arr.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {expected_names} = {tuple(expected)}; got shape {arr.shape}")


def check_params(params: Mapping, gate_count: int, input_size: int | None, dtype: np.dtype, model: str) -> int:
    """Check an RNN/LSTM/GRU parameter dict and return the hidden size ``H``.

    Expected keys and shapes, with ``G = gate_count`` (1 RNN, 4 LSTM, 3 GRU):
    ``W_ih (G*H, D)``, ``W_hh (G*H, H)``, ``b_ih (G*H,)``, ``b_hh (G*H,)``.
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict with keys W_ih, W_hh, b_ih, b_hh; got {_describe(params)}")
    missing = [k for k in ("W_ih", "W_hh", "b_ih", "b_hh") if k not in params]
    if missing:
        raise ValueError(
            f"{model} params must have keys W_ih, W_hh, b_ih, b_hh; missing {', '.join(missing)} "
            f"(got keys {sorted(params)})"
        )
    G = gate_count
    gates = {1: "H", 3: "3H", 4: "4H"}[G]
    W_hh = as_float_array("params['W_hh']", params["W_hh"], f"({gates}, H)", 2)
    rows, H = W_hh.shape
    if rows != G * H:
        raise ValueError(
            f"params['W_hh'] must have shape ({gates}, H); got shape {W_hh.shape}, "
            f"which would need {G * H} rows for H = {H}"
        )
    D = input_size if input_size is not None else np.shape(params["W_ih"])[-1]
    for key, exp, names in (
        ("W_ih", (G * H, D), f"({gates}, D)"),
        ("b_ih", (G * H,), f"({gates},)"),
        ("b_hh", (G * H,), f"({gates},)"),
    ):
        arr = as_float_array(f"params['{key}']", params[key], names, len(exp))
        check_shape(f"params['{key}']", arr, exp, names + f" with D = {D}, H = {H}")
    for key in ("W_ih", "W_hh", "b_ih", "b_hh"):
        check_dtype(f"params['{key}']", np.asarray(params[key]), dtype, "the input")
    return H


def check_state(name: str, state, B: int, H: int, dtype: np.dtype) -> np.ndarray:
    """Return a ``(B, H)`` state, zeros when ``state`` is None, or raise a clear error."""
    if state is None:
        return np.zeros((B, H), dtype=dtype)
    arr = as_float_array(name, state, "(B, H)", 2)
    check_shape(name, arr, (B, H), "(B, H)")
    check_dtype(name, arr, dtype, "the input")
    return arr


def check_cache(cache, cache_type, func: str):
    """Raise ``TypeError`` unless ``cache`` is the named tuple the matching forward returned."""
    if not isinstance(cache, cache_type):
        raise TypeError(
            f"{func} needs the {cache_type.__name__} returned by the matching forward function; "
            f"got {_describe(cache)}"
        )


def check_upstream(name: str, grad, shape: tuple, names: str, dtype: np.dtype) -> np.ndarray:
    """Check an upstream gradient: same shape and dtype as the output it belongs to."""
    arr = as_float_array(name, grad, names, len(shape))
    check_shape(name, arr, shape, names)
    check_dtype(name, arr, dtype, "the forward pass")
    return arr
