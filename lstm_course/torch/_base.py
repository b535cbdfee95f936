"""The base class of the six modules: PyTorch's parameter layout, its init, and weight transfer."""
from __future__ import annotations

import math

import torch
from torch import nn

from . import _checks as C

_WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class RecurrentBase(nn.Module):
    r"""Parameters of a recurrent cell or single-layer network in ``torch.nn``'s layout.

    With ``G`` gates (1 RNN, 3 GRU, 4 LSTM), ``D = input_size`` and ``H = hidden_size``:
    ``weight_ih (G*H, D)``, ``weight_hh (G*H, H)``, ``bias_ih (G*H,)``, ``bias_hh (G*H,)``,
    with the suffix ``_l0`` on the sequence modules, exactly as ``torch.nn`` names them.
    Every entry starts from PyTorch's default :math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`.

    Subclasses set ``_num_gates``, ``_suffix`` (``""`` or ``"_l0"``) and ``_torch_type``.
    """

    _num_gates = 1
    _suffix = ""
    _torch_type: type = nn.RNNCell
    _transfer_options: tuple = ()  # keyword arguments ``from_torch`` may pass on

    def __init__(self, input_size, hidden_size, bias=True, *, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.input_size = C.check_size("input_size", input_size)
        self.hidden_size = C.check_size("hidden_size", hidden_size)
        hint = ""
        if self._suffix and isinstance(bias, int) and not isinstance(bias, bool):
            hint = f" ({name} has one layer: torch.nn.{self._torch_type.__name__}'s third argument is num_layers)"
        self.bias = C.check_bool("bias", bias, hint)
        G, H, D = self._num_gates, self.hidden_size, self.input_size
        factory = {"device": device, "dtype": dtype}
        s = self._suffix
        self.register_parameter("weight_ih" + s, nn.Parameter(torch.empty(G * H, D, **factory)))
        self.register_parameter("weight_hh" + s, nn.Parameter(torch.empty(G * H, H, **factory)))
        for b in ("bias_ih", "bias_hh"):
            self.register_parameter(b + s, nn.Parameter(torch.empty(G * H, **factory)) if bias else None)

    # --- the weights, as the equations name them ---------------------------------------------
    def _weights(self):
        """``(W_ih, W_hh, b_ih, b_hh)``; the biases are None when ``bias=False``."""
        return tuple(getattr(self, n + self._suffix) for n in _WEIGHT_NAMES)

    def _param_dtype_device(self):
        W = getattr(self, "weight_hh" + self._suffix)
        return W.dtype, W.device

    def reset_parameters(self) -> None:
        """Draw every parameter from U(−1/√H, 1/√H), PyTorch's default."""
        k = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-k, k)

    # --- weight transfer ---------------------------------------------------------------------
    def _torch_kwargs(self) -> dict:
        """Constructor arguments shared with the ``torch.nn`` twin (extended by subclasses)."""
        return {"input_size": self.input_size, "hidden_size": self.hidden_size, "bias": self.bias}

    @classmethod
    def _kwargs_from_torch(cls, module) -> dict:
        return {"input_size": module.input_size, "hidden_size": module.hidden_size, "bias": module.bias}

    def _check_expressible(self) -> None:
        """Raise if ``torch.nn`` cannot express this module (overridden by the LSTM variants)."""

    @classmethod
    def from_torch(cls, module, **options):
        """Build a module with the same configuration and an exact copy of ``module``'s weights.

        Args:
            module: the matching single-layer ``torch.nn`` module (``nn.LSTM`` for
                :class:`LSTM`, ``nn.LSTMCell`` for :class:`LSTMCell`, and so on).
            **options: extra keyword arguments of this class that do not change the
                equations (for :class:`LSTM`: ``backward``; for :class:`GRU` and
                :class:`GRUCell`: ``reset_after``, which must stay ``True``).

        Raises:
            ValueError: ``torch.nn`` cannot express this module's equations (an LSTM variant,
                a GRU with ``reset_after=False``), and likewise in :meth:`to_torch`.

        Returns:
            A new module on the same device, with the same dtype; its parameters are
            copies (not shared) of ``module``'s.
        """
        C.check_torch_module(cls.__name__, module, cls._torch_type)
        refused = sorted(set(options) - set(cls._transfer_options))
        if refused:
            allowed = ", ".join(cls._transfer_options) or "none"
            raise TypeError(
                f"{cls.__name__}.from_torch copies torch.nn's equations and weights, so it takes no "
                f"{', '.join(refused)} (allowed options: {allowed}); build the module, then copy weights"
            )
        W = next(module.parameters())
        new = cls(**cls._kwargs_from_torch(module), **options, device=W.device, dtype=W.dtype)
        new._check_expressible()
        _copy_weights(module, new, new._suffix)
        return new

    def to_torch(self):
        """Return the equivalent ``torch.nn`` module holding an exact copy of these weights."""
        self._check_expressible()
        dtype, device = self._param_dtype_device()
        module = self._torch_type(**self._torch_kwargs(), device=device, dtype=dtype)
        _copy_weights(self, module, self._suffix)
        return module

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self._torch_kwargs().items())


def _copy_weights(src: nn.Module, dst: nn.Module, suffix: str) -> None:
    """Copy ``weight_ih``, ``weight_hh`` and (when present) the biases, bit for bit."""
    with torch.no_grad():
        for n in _WEIGHT_NAMES:
            s, d = getattr(src, n + suffix, None), getattr(dst, n + suffix, None)  # nn drops absent biases
            if s is not None:
                d.copy_(s)
