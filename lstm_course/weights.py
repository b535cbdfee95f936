"""Trained weights shipped with the package, for chapters that study a model a study trained.

A chapter that looks inside a trained network (its samples, its units, its gradients) needs the
network, but retraining it on the page costs every reader, and every test run, the full training
time. The study that trains it therefore also saves its ``state_dict`` here, and the chapter loads
it and checks it against the study's results file. Only tensors are stored, and they are loaded with
``torch.load(..., weights_only=True)``, which refuses anything else.

    save_weights("charlm_lstm_seed0", model)   # by the study, into lstm_course/data/weights/
    load_weights("charlm_lstm_seed0", model)   # by the chapter: the model of the same architecture
"""
from __future__ import annotations

import importlib.resources
import pathlib
import re

import torch

WEIGHTS_DIR = pathlib.Path(__file__).resolve().parent / "data" / "weights"


def _check_name(name) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError(f"name must be a str of lower-case letters, digits and '_'; got {name!r}")
    return name


def _check_module(module) -> torch.nn.Module:
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module; got {type(module).__name__}")
    return module


def save_weights(name: str, module: torch.nn.Module, folder=None) -> pathlib.Path:
    """Write ``module.state_dict()`` to ``<folder>/<name>.pt`` (default: the shipped folder)."""
    _check_name(name)
    folder = WEIGHTS_DIR if folder is None else pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.pt"
    state = {key: value.detach().clone() for key, value in _check_module(module).state_dict().items()}
    torch.save(state, path)
    return path


def load_weights(name: str, module: torch.nn.Module, folder=None) -> torch.nn.Module:
    """Load the weights ``name`` into ``module`` (every key must match) and return it.

    The shipped ones are read through ``importlib.resources``, so this works installed from a wheel,
    in Colab, or from a checkout; ``folder`` reads ``<folder>/<name>.pt`` instead. Loading uses
    ``weights_only=True``, which rebuilds tensors and refuses anything else.
    """
    _check_module(module)
    base = importlib.resources.files("lstm_course") / "data" / "weights" if folder is None \
        else pathlib.Path(folder)
    resource = base / f"{_check_name(name)}.pt"
    if not resource.is_file():
        shipped = sorted(p.name[:-3] for p in resource.parent.iterdir() if p.name.endswith(".pt")) \
            if resource.parent.is_dir() else []
        raise ValueError(f"no shipped weights named {name!r}; shipped: {shipped}")
    with resource.open("rb") as f:
        state = torch.load(f, weights_only=True)
    module.load_state_dict(state)
    return module
