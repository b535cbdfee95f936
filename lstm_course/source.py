"""Show the package's own code in a chapter: a function's source without its docstring."""
from __future__ import annotations

import ast
import inspect
import textwrap


def source_lines(obj) -> list[str]:
    """The source lines of a function or class, dedented, without its docstring."""
    if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj)):
        raise TypeError(f"obj must be a function, method or class; got {type(obj).__name__}")
    src = textwrap.dedent(inspect.getsource(obj))
    lines = src.splitlines()
    body = ast.parse(src).body[0].body
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        del lines[first.lineno - 1 : first.end_lineno]
    return lines


def source_text(obj, start: str | None = None, stop: str | None = None) -> str:
    """The code of ``obj`` (a function, method or class) without its docstring, as one string.

    Args:
        obj: what to show; its source must be available (any function of ``lstm_course`` is).
        start: if given, begin at the first line containing this text.
        stop: if given, end before the first line after ``start`` containing this text.
    """
    lines = source_lines(obj)
    name = getattr(obj, "__qualname__", type(obj).__name__)
    i = 0
    if start is not None:
        found = [k for k, line in enumerate(lines) if start in line]
        if not found:
            raise ValueError(f"show_source: no line of {name} contains start={start!r}")
        i = found[0]
    j = len(lines)
    if stop is not None:
        found = [k for k, line in enumerate(lines) if k > i and stop in line]
        if not found:
            raise ValueError(f"show_source: no line of {name} after start contains stop={stop!r}")
        j = found[0]
    return "\n".join(lines[i:j])


def show_source(obj, start: str | None = None, stop: str | None = None) -> None:
    """Print :func:`source_text` of ``obj``: what a chapter shows when it teaches the package's code.

    A chapter that also asserts that a line it discusses is there reads :func:`source_text`.
    """
    print(source_text(obj, start, stop))
