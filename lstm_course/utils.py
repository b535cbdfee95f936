"""Reproducibility (seeding), glue for the prose, and showing the package's source in a chapter."""
from __future__ import annotations

import random
from decimal import Decimal

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


def round_to_format(value: float, fmt: str) -> float:
    """``value`` rounded to exactly what ``format(value, fmt)`` shows, as a float.

    ``fmt`` is a format spec of the kinds ``f``, ``e``, ``g`` or ``%`` (``",.0f"``, ``".2e"``,
    ``".3g"``, ``".0%"``, ...). Formatting the result with ``fmt`` gives the same text as formatting
    ``value``, so the stored number and the rendered prose agree digit for digit.
    """
    if not isinstance(fmt, str) or not fmt or fmt[-1] not in "fFeEgG%":
        raise ValueError(f"fmt must be a float format spec ending in f, e, g or %, such as '.2f'; "
                         f"got {fmt!r}")
    text = format(value, fmt).replace(",", "").replace("_", "")
    return float(Decimal(text[:-1]) / 100) if fmt.endswith("%") else float(text)


def glue(name: str, value, fmt: str | None = None, display: bool = False):
    """Make ``value`` citable from the chapter's prose as ``{glue:text}`name:fmt```.

    A float is stored rounded to the precision the prose shows it at: pass the same format
    spec as the prose uses (``glue("ppl", 4.6967, ".2f")`` stores 4.7, which the prose's
    ``{glue:text}`ppl:.2f``` renders as 4.70). The digits beyond it belong to the CPU that ran the
    cell, not to the book (book/contributing.md, "Reproducible outputs"); storing them would make
    nbval's comparison of the stored value fail on any other processor. A float without ``fmt``
    is refused. Integers (exact; ``fmt`` is accepted and changes nothing), strings and booleans are
    stored as they are.

    In an IPython kernel it publishes exactly what ``myst_nb.glue(name, value, display=False)``
    publishes (see :func:`_publish_glue`); outside one it only checks its arguments. Returns
    ``value`` unchanged, so it can wrap an expression.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str; got {type(name).__name__} {name!r}")
    # A NumPy scalar's repr is "np.float64(0.12)" under NumPy 2, which {glue:text} cannot
    # format: glue the plain Python number instead.
    plain = value.item() if isinstance(value, np.generic) else value
    if isinstance(plain, float):
        if fmt is None:
            raise ValueError(f"glue({name!r}, {plain!r}): a float needs fmt, the format spec the "
                             "prose shows it with (e.g. '.2f'), so that only the digits shown are stored")
        if np.isfinite(plain):
            plain = round_to_format(plain, fmt)
    elif fmt is not None and (isinstance(plain, bool) or not isinstance(plain, int)):
        raise TypeError(f"glue({name!r}, ...): fmt is for numbers; got {type(plain).__name__} {plain!r}")
    _publish_glue(name, plain, display)
    return value


#: The MIME prefix under which myst-nb looks for glued values (``myst_nb.ext.glue.GLUE_PREFIX``).
GLUE_PREFIX = "application/papermill.record/"


def _publish_glue(name: str, value, display: bool) -> None:
    """Publish ``value`` as myst-nb's glue format: its display data, each MIME type under
    :data:`GLUE_PREFIX` (none when ``display``), with ``{"scrapbook": {"name", "mime_prefix"}}``
    metadata. Nothing happens outside an IPython kernel.

    This is ``myst_nb.glue`` without its import: ``myst_nb.ext.glue`` imports ``nbformat``,
    which imports ``jsonschema``, which builds an RFC 3987 grammar with ``lark`` at import
    time, 3.5 s of every notebook's run on the course's 2-core machine. ``tests/test_utils.py``
    checks that both publish the same output.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # no IPython: nothing to publish to
        return
    if get_ipython() is None:
        return
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipy_display

    bundle, metadata = format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = dict(name=name, mime_prefix=prefix)
    ipy_display({prefix + mime: data for mime, data in bundle.items()}, raw=True, metadata=metadata)

