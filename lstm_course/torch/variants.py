r"""The LSTM variants as options of one cell: peepholes, CIFG, no forget gate, no output tanh, forget bias.

Every option defaults to the standard LSTM (``torch.nn.LSTM``'s equations). With all of them on,

.. math::

    \mathbf{i}_t &= \sigma(\mathbf{a}^i_t + \mathbf{w}_{ci} \odot \mathbf{c}_{t-1})
        && \text{peephole: } \mathbf{w}_{ci} \\
    \mathbf{f}_t &= \sigma(\mathbf{a}^f_t + \mathbf{w}_{cf} \odot \mathbf{c}_{t-1})
        \;\text{ or }\; 1 - \mathbf{i}_t \text{ (coupled)} \;\text{ or absent (no forget gate)} \\
    \mathbf{c}_t &= \mathbf{f}_t \odot \mathbf{c}_{t-1} + \mathbf{i}_t \odot \mathbf{g}_t
        \;\text{ or }\; \mathbf{c}_{t-1} + \mathbf{i}_t \odot \mathbf{g}_t \text{ (no forget gate)} \\
    \mathbf{o}_t &= \sigma(\mathbf{a}^o_t + \mathbf{w}_{co} \odot \mathbf{c}_t)
        && \text{the output peephole sees the new cell} \\
    \mathbf{h}_t &= \mathbf{o}_t \odot \tanh(\mathbf{c}_t) \;\text{ or }\; \mathbf{o}_t \odot \mathbf{c}_t
        \text{ (no output activation)}

Peepholes follow Gers, Schraudolph & Schmidhuber (2002): diagonal weights (vectors, one per
unit) ``weight_ci``, ``weight_cf``, ``weight_co`` of shape ``(H,)``. ``weight_cf`` exists only
when the cell has a forget gate of its own (not with ``coupled=True`` or ``forget_gate=False``).

Layout choice for CIFG and the 1997 cell: the forget rows ``[H:2H]`` of ``weight_ih``,
``weight_hh``, ``bias_ih`` and ``bias_hh`` are kept, so every variant has ``torch.nn.LSTM``'s
shapes and gate indices (row ``H + j`` is always unit ``j``'s forget gate). They are set to zero
at initialisation and never read, so their gradient is exactly zero and an optimiser leaves
them at zero. :meth:`LSTMVariantMixin.num_used_parameters` counts only the weights in use.
"""
from __future__ import annotations


import torch
from torch import nn

from ..gate_bias import check_bias_value, set_gate_bias
from . import _checks as C


class LSTMVariantMixin:
    """Options, extra parameters and initialisation shared by :class:`LSTMCell` and :class:`LSTM`."""

    def _init_variant(self, peephole, coupled, forget_gate, output_activation, forget_bias, factory) -> None:
        """Validate the options and register the peephole vectors (call after the weights exist)."""
        self.peephole = C.check_bool("peephole", peephole)
        self.coupled = C.check_bool("coupled", coupled)
        self.forget_gate = C.check_bool("forget_gate", forget_gate)
        self.output_activation = C.check_bool("output_activation", output_activation)
        if coupled and not forget_gate:
            raise ValueError(
                "coupled=True (f = 1 - i) needs a forget gate; got forget_gate=False as well "
                "(choose one: the CIFG or the 1997 cell without a forget gate)"
            )
        if forget_bias is not None:
            check_bias_value("forget_bias", forget_bias)
            if not self.bias:
                raise ValueError(f"forget_bias={forget_bias} sets a bias, so it needs bias=True; got bias=False")
            if not self._own_forget_gate:
                raise ValueError(
                    f"forget_bias={forget_bias} sets the forget gate's bias, but this cell has no forget gate "
                    f"of its own (coupled={coupled}, forget_gate={forget_gate})"
                )
            forget_bias = float(forget_bias)
        self.forget_bias = forget_bias
        H = self.hidden_size
        for name, used in (("weight_ci", True), ("weight_cf", self._own_forget_gate), ("weight_co", True)):
            p = nn.Parameter(torch.empty(H, **factory)) if peephole and used else None
            self.register_parameter(name, p)

    @property
    def _own_forget_gate(self) -> bool:
        """Whether ``f`` has its own weights (the standard and the peephole cell)."""
        return self.forget_gate and not self.coupled

    @property
    def is_standard(self) -> bool:
        """True when the equations are ``torch.nn.LSTM``'s (``forget_bias`` is only an initialisation)."""
        return not self.peephole and not self.coupled and self.forget_gate and self.output_activation

    def _peepholes(self) -> tuple:
        """``(w_ci, w_cf, w_co)``, each ``(H,)`` or None."""
        return self.weight_ci, self.weight_cf, self.weight_co

    def _step_options(self) -> dict:
        """The keyword options of :func:`lstm_cell_step` for this variant."""
        return {"coupled": self.coupled, "forget_gate": self.forget_gate,
                "output_activation": self.output_activation}

    def reset_parameters(self) -> None:
        """U(−1/√H, 1/√H) everywhere, then the forget-gate rows: zero when unused, or ``forget_bias``."""
        super().reset_parameters()
        H = self.hidden_size
        W_ih, W_hh, b_ih, b_hh = self._weights()
        with torch.no_grad():
            if not self._own_forget_gate:
                for p in (W_ih, W_hh, b_ih, b_hh):
                    if p is not None:
                        p[H : 2 * H] = 0.0
            elif self.forget_bias is not None:
                set_gate_bias({"b_ih": b_ih, "b_hh": b_hh}, "f", self.forget_bias, H)

    def num_used_parameters(self) -> int:
        """The number of parameters the equations use (the unused forget rows are not counted)."""
        n = sum(p.numel() for p in self.parameters())
        if not self._own_forget_gate:
            H = self.hidden_size
            n -= H * (self.input_size + H) + (2 * H if self.bias else 0)
        return n

    def _check_expressible(self) -> None:
        if not self.is_standard:
            options = {"peephole": True, "coupled": True, "forget_gate": False, "output_activation": False}
            set_ = [f"{k}={v}" for k, v in options.items() if getattr(self, k) == v]
            raise ValueError(
                f"torch.nn.{self._torch_type.__name__} cannot express {', '.join(set_)}: weight transfer "
                "to and from torch.nn works for the standard LSTM only (the defaults; forget_bias is allowed)"
            )

    def _variant_repr(self) -> str:
        defaults = {"peephole": False, "coupled": False, "forget_gate": True,
                    "output_activation": True, "forget_bias": None}
        return "".join(f", {k}={getattr(self, k)}" for k, v in defaults.items() if getattr(self, k) != v)
