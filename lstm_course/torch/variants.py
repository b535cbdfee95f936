r"""The LSTM variants as options of one cell: peepholes, CIFG, no input/forget/output gate, no tanh, forget bias.

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

and three more ablations of Greff et al. (2017): ``input_gate=False`` sets
:math:`\mathbf{i}_t = 1` (NIG), ``output_gate=False`` sets :math:`\mathbf{o}_t = 1` (NOG), and
``input_activation=False`` drops the tanh of the candidate, :math:`\mathbf{g}_t = \mathbf{a}^g_t`
(NIAF). Their fourth, full gate recurrence (FGR: every gate also reads the three gates' values of
step ``t - 1`` through nine more ``H x H`` matrices), is not an option: it would make the gates part
of the recurrent state, and the modules keep ``torch.nn.LSTM``'s state ``(h, c)``.

Peepholes follow Gers, Schraudolph & Schmidhuber (2002): diagonal weights (vectors, one per
unit) ``weight_ci``, ``weight_cf``, ``weight_co`` of shape ``(H,)``. ``weight_cf`` exists only
when the cell has a forget gate of its own (not with ``coupled=True`` or ``forget_gate=False``),
``weight_ci`` only with an input gate, ``weight_co`` only with an output gate.

Layout choice for a missing gate (CIFG, the 1997 cell, NIG, NOG): its rows (forget ``[H:2H]``,
input ``[0:H]``, output ``[3H:4H]``) of ``weight_ih``, ``weight_hh``, ``bias_ih`` and ``bias_hh``
are kept, so every variant has ``torch.nn.LSTM``'s shapes and gate indices (row ``H + j`` is
always unit ``j``'s forget gate). They are set to zero at initialisation and never read, so their
gradient is exactly zero and an optimiser leaves them at zero. :meth:`LSTMVariantMixin.num_used_parameters` counts only the weights in use.
"""
from __future__ import annotations


import torch
from torch import nn

from ..gate_bias import check_bias_value, set_gate_bias
from . import _checks as C


class LSTMVariantMixin:
    """Options, extra parameters and initialisation shared by :class:`LSTMCell` and :class:`LSTM`."""

    def _init_variant(self, peephole, coupled, forget_gate, output_activation, forget_bias,
                      input_gate, output_gate, input_activation, factory) -> None:
        """Validate the options and register the peephole vectors (call after the weights exist)."""
        self.peephole = C.check_bool("peephole", peephole)
        self.coupled = C.check_bool("coupled", coupled)
        self.forget_gate = C.check_bool("forget_gate", forget_gate)
        self.output_activation = C.check_bool("output_activation", output_activation)
        self.input_gate = C.check_bool("input_gate", input_gate)
        self.output_gate = C.check_bool("output_gate", output_gate)
        self.input_activation = C.check_bool("input_activation", input_activation)
        if coupled and not forget_gate:
            raise ValueError(
                "coupled=True (f = 1 - i) needs a forget gate; got forget_gate=False as well "
                "(choose one: the CIFG or the 1997 cell without a forget gate)"
            )
        if coupled and not input_gate:
            raise ValueError(
                "coupled=True (f = 1 - i) needs an input gate; got input_gate=False as well "
                "(with i = 1 the coupled cell would forget everything at every step)"
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
        for name, used in (("weight_ci", self.input_gate), ("weight_cf", self._own_forget_gate),
                           ("weight_co", self.output_gate)):
            p = nn.Parameter(torch.empty(H, **factory)) if peephole and used else None
            self.register_parameter(name, p)

    @property
    def _own_forget_gate(self) -> bool:
        """Whether ``f`` has its own weights (the standard and the peephole cell)."""
        return self.forget_gate and not self.coupled

    @property
    def _unused_blocks(self) -> list:
        """Indices (in the order i, f, g, o) of the blocks of rows that the equations never read."""
        used = (self.input_gate, self._own_forget_gate, True, self.output_gate)
        return [k for k, u in enumerate(used) if not u]

    @property
    def is_standard(self) -> bool:
        """True when the equations are ``torch.nn.LSTM``'s (``forget_bias`` is only an initialisation)."""
        return (not self.peephole and not self.coupled and self.forget_gate and self.output_activation
                and self.input_gate and self.output_gate and self.input_activation)

    def _peepholes(self) -> tuple:
        """``(w_ci, w_cf, w_co)``, each ``(H,)`` or None."""
        return self.weight_ci, self.weight_cf, self.weight_co

    def _step_options(self) -> dict:
        """The keyword options of :func:`lstm_cell_step` for this variant."""
        return {"coupled": self.coupled, "forget_gate": self.forget_gate,
                "output_activation": self.output_activation, "input_gate": self.input_gate,
                "output_gate": self.output_gate, "input_activation": self.input_activation}

    def reset_parameters(self) -> None:
        """U(−1/√H, 1/√H) everywhere, then the rows of a missing gate to zero, and the forget-gate
        bias to ``forget_bias`` when one is given."""
        super().reset_parameters()
        H = self.hidden_size
        W_ih, W_hh, b_ih, b_hh = self._weights()
        with torch.no_grad():
            for k in self._unused_blocks:
                for p in (W_ih, W_hh, b_ih, b_hh):
                    if p is not None:
                        p[k * H : (k + 1) * H] = 0.0
            if self._own_forget_gate and self.forget_bias is not None:
                set_gate_bias({"b_ih": b_ih, "b_hh": b_hh}, "f", self.forget_bias, H)

    def num_used_parameters(self) -> int:
        """The number of parameters the equations use (the rows of a missing gate are not counted)."""
        H = self.hidden_size
        n = sum(p.numel() for p in self.parameters())
        return n - len(self._unused_blocks) * (H * (self.input_size + H) + (2 * H if self.bias else 0))

    def _check_expressible(self) -> None:
        if not self.is_standard:
            options = {"peephole": True, "coupled": True, "forget_gate": False, "output_activation": False,
                       "input_gate": False, "output_gate": False, "input_activation": False}
            set_ = [f"{k}={v}" for k, v in options.items() if getattr(self, k) == v]
            raise ValueError(
                f"torch.nn.{self._torch_type.__name__} cannot express {', '.join(set_)}: weight transfer "
                "to and from torch.nn works for the standard LSTM only (the defaults; forget_bias is allowed)"
            )

    def _variant_repr(self) -> str:
        defaults = {"peephole": False, "coupled": False, "forget_gate": True,
                    "output_activation": True, "forget_bias": None, "input_gate": True,
                    "output_gate": True, "input_activation": True}
        return "".join(f", {k}={getattr(self, k)}" for k, v in defaults.items() if getattr(self, k) != v)
