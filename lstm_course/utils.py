"""Reproducibility: one call seeds every random number generator the course uses."""
from __future__ import annotations

import random

import numpy as np

from ._validate import check_int


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global RNG and torch (CPU and, if present, CUDA).

    Args:
        seed: a non-negative int.

    Returns:
        a fresh ``numpy.random.Generator`` seeded with ``seed``, for code that prefers
        explicit generators (all of ``lstm_course`` does).
    """
    seed = check_int("seed", seed, minimum=0)
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # torch is a dependency, but NumPy-only use should still work
        pass
    else:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)


def glue(name: str, value, display: bool = False):
    """Make ``value`` citable from the chapter's prose as ``{glue:text}`name```.

    Uses ``myst_nb.glue`` when it is installed (the book build and local kernels); in Colab,
    where it may be missing, it does nothing. Returns ``value`` so it can wrap an expression.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return value
    # A NumPy scalar's repr is "np.float64(0.12)" under NumPy 2, which {glue:text} cannot
    # format: glue the plain Python number instead. Floats are rounded to 10 significant digits:
    # the prose shows at most a few, and the last bits of a float differ between BLAS kernels,
    # which would make nbval's comparison of the stored text fail for no reason.
    plain = value.item() if isinstance(value, np.generic) else value
    if isinstance(plain, float) and np.isfinite(plain):
        plain = float(f"{plain:.10g}")
    _glue(name, plain, display=display)
    return value
