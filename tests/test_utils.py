"""Seeding and glue."""
import re

import numpy as np
import pytest
import torch

from lstm_course import utils
from lstm_course.utils import glue, round_to_format, seed_everything


def test_seed_everything_makes_all_generators_repeat():
    rng = seed_everything(3)
    a = (rng.random(), np.random.rand(), torch.rand(1).item())
    rng = seed_everything(3)
    assert (rng.random(), np.random.rand(), torch.rand(1).item()) == a


@pytest.mark.parametrize("bad,error,message", [(-1, ValueError, "seed must be at least 0; got -1"),
                                               (1.5, TypeError, "seed must be an int; got float 1.5"),
                                               ("0", TypeError, "seed must be an int; got str '0'"),
                                               (True, TypeError, "seed must be an int; got bool True")])
def test_seed_must_be_a_non_negative_int(bad, error, message):
    with pytest.raises(error, match=re.escape(message)):
        seed_everything(bad)


def test_glue_returns_its_value_and_unwraps_numpy_scalars(monkeypatch):
    seen = _recording_glue(monkeypatch)
    x = np.float64(0.25)
    assert glue("x", x, ".2f") is x
    assert type(seen["x"]) is float and seen["x"] == 0.25


def _recording_glue(monkeypatch) -> dict:
    seen = {}
    monkeypatch.setattr(utils, "_publish_glue", lambda name, value, display: seen.update({name: value}))
    return seen


@pytest.fixture
def shell_outputs(monkeypatch):
    """An IPython shell whose published display data are recorded as (data, metadata)."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    published = []
    monkeypatch.setattr(shell.display_pub, "publish",
                        lambda data, metadata=None, **_: published.append((data, metadata)))
    return published


@pytest.mark.parametrize("value, fmt", [(4.69671, ".2f"), (0.1234, ".1%"), (7, None), ("blelloch", None),
                                        (True, None), (np.float64(1.5e-7), ".1e")])
def test_glue_publishes_what_myst_nb_glue_publishes(shell_outputs, value, fmt):
    """The book reads glued values the way myst-nb wrote them: the same data, MIME types and
    metadata as myst_nb.glue(name, stored value, display=False)."""
    import myst_nb

    glue("key", value, fmt)
    stored = round_to_format(float(value), fmt) if fmt else value
    myst_nb.glue("key", stored, display=False)
    assert len(shell_outputs) == 2 and shell_outputs[0] == shell_outputs[1]
    data, metadata = shell_outputs[0]
    assert metadata["scrapbook"] == {"name": "key", "mime_prefix": utils.GLUE_PREFIX}
    assert data == {utils.GLUE_PREFIX + "text/plain": repr(stored)}


def test_glue_outside_ipython_only_checks(monkeypatch, capsys):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert glue("x", 0.5, ".1f") == 0.5
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError):
        glue("x", 0.5)


@pytest.mark.parametrize("value, fmt, stored, shown", [
    (4.69671, ".2f", 4.7, "4.70"), (4.69499, ".2f", 4.69, "4.69"), (35234.9, ",.0f", 35235.0, "35,235"),
    (3.3149e-07, ".1e", 3.3e-07, "3.3e-07"), (0.1234, ".1%", 0.123, "12.3%"), (0.4, ".0%", 0.4, "40%"),
    (1.1715109571059121e-45, ".3g", 1.17e-45, "1.17e-45"), (123456.0, ".3g", 123000.0, "1.23e+05")])
def test_glue_stores_a_float_rounded_to_the_precision_the_prose_shows(monkeypatch, value, fmt, stored, shown):
    seen = _recording_glue(monkeypatch)
    assert glue("x", value, fmt) == value  # returns what it was given
    assert seen["x"] == stored and format(seen["x"], fmt) == format(value, fmt) == shown
    assert round_to_format(np.float64(value), fmt) == stored


def test_two_cpus_last_digits_glue_to_the_same_stored_value(monkeypatch):
    seen = _recording_glue(monkeypatch)
    glue("a", 4.696483, ".2f")
    glue("b", np.float64(4.698012), ".2f")
    assert seen["a"] == seen["b"] == 4.7


def test_glue_refuses_a_float_without_its_format_and_a_format_without_a_float(monkeypatch):
    _recording_glue(monkeypatch)
    with pytest.raises(ValueError, match="a float needs fmt"):
        glue("x", 0.5)
    with pytest.raises(TypeError, match="fmt is for numbers; got str 'seven'"):
        glue("n", "seven", ".2f")
    with pytest.raises(ValueError, match="fmt must be a float format spec .* got 'd'"):
        glue("x", 0.5, "d")
    with pytest.raises(TypeError, match="name must be a non-empty str"):
        glue("", 1)


def test_glue_keeps_integers_and_non_finite_floats(monkeypatch):
    seen = _recording_glue(monkeypatch)
    glue("n", np.int64(7))
    glue("m", 35200, ",.0f")  # an int is exact: its format changes nothing
    glue("inf", float("inf"), ".2f")
    assert seen["n"] == 7 and type(seen["n"]) is int and seen["m"] == 35200 and seen["inf"] == float("inf")


def test_show_source_prints_code_without_the_docstring(capsys):
    from lstm_course.numpy import lstm_step_forward, rnn_step_forward
    from lstm_course.source import show_source, source_text

    assert show_source(rnn_step_forward) is None  # nothing for Jupyter to echo after the print
    text = source_text(rnn_step_forward)
    assert capsys.readouterr().out.strip() == text.strip()
    assert text.startswith("def rnn_step_forward(x, h_prev, params):")
    assert "h = np.tanh(x @ W_ih.T + h_prev @ W_hh.T + b)" in text
    assert "Args:" not in text and '"""' not in text  # the docstring is gone
    part = source_text(lstm_step_forward, start="c = f * c_prev", stop="gates =")
    assert part.splitlines()[0].strip().startswith("c = f * c_prev + i * g")
    assert "gates =" not in part and "h = o * tanh_c" in part
    with pytest.raises(ValueError, match=r"no line of lstm_step_forward contains start='nowhere'"):
        show_source(lstm_step_forward, start="nowhere")
    with pytest.raises(TypeError, match="obj must be a function, method or class; got int"):
        show_source(3)
