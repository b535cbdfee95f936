"""Seeding and glue."""
import re

import numpy as np
import pytest
import torch

from lstm_course.utils import glue, seed_everything


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
    seen = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=False: seen.update({name: value}))
    x = np.float64(0.25)
    assert glue("x", x) is x
    assert type(seen["x"]) is float and seen["x"] == 0.25


def test_glue_rounds_floats_to_ten_significant_digits(monkeypatch):
    seen = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=False: seen.update({name: value}))
    glue("a", 1.1715109571059121e-45)
    glue("b", np.float64(1.1715109571059126e-45))
    assert seen["a"] == seen["b"] == 1.171510957e-45
    glue("n", 7)
    assert seen["n"] == 7 and type(seen["n"]) is int
