r"""A small causal Transformer with ``torch.nn.LSTM``'s layer contract, the comparison's non-recurrent contender.

.. math::
    \vu_t = W_{in} \vx_t + \vp_t, \qquad
    (\vh_0, \dots, \vh_{T-1}) = \operatorname{TransformerEncoder}(\vu_0, \dots, \vu_{T-1};
    \text{mask } s > t)

with sinusoidal positions :math:`\vp_t` (Vaswani et al. 2017) and a causal mask, so that
:math:`\vh_t` depends on :math:`\vx_0 .. \vx_t` only, as an RNN's state does. Every
:math:`\vh_t` is computed at once: :math:`O(1)` sequential depth per layer, :math:`O(T^2)`
attention scores.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import check_size


def sinusoidal_positions(T: int, d: int) -> torch.Tensor:
    r"""``(T, d)``: :math:`p_{t, 2j} = \sin(t / 10000^{2j/d})`, :math:`p_{t, 2j+1} = \cos(\cdot)`."""
    T, d = check_size("T", T), check_size("d", d)
    t = torch.arange(T, dtype=torch.float64)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, d, 2, dtype=torch.float64) / d)
    p = torch.zeros(T, d, dtype=torch.float64)
    p[:, 0::2] = torch.sin(t * freq)
    p[:, 1::2] = torch.cos(t * freq)[:, : d // 2]
    return p


class CausalTransformer(nn.Module):
    """``num_layers`` pre-norm ``nn.TransformerEncoderLayer``s over a linear embedding, causally masked.

    Args:
        input_size: ``D``. hidden_size: ``d_model`` (``H``, a multiple of ``nhead``).
        nhead: attention heads. num_layers: encoder layers (``num_layers`` here is the
            encoder's depth; the layer counts as one recurrent layer for ``from_layer``).
        dim_feedforward: the feed-forward width (default ``2H``). Dropout is 0.
    """

    def __init__(self, input_size: int, hidden_size: int, nhead: int = 2, num_layers: int = 1,
                 dim_feedforward: int | None = None):
        super().__init__()
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = H = check_size("hidden_size", hidden_size)
        nhead, depth = check_size("nhead", nhead), check_size("num_layers", num_layers)
        if H % nhead:
            raise ValueError(f"hidden_size must be a multiple of nhead={nhead}; got {H}")
        ff = 2 * H if dim_feedforward is None else check_size("dim_feedforward", dim_feedforward)
        self.depth, self.batch_first, self.bidirectional = depth, False, False
        self.embed = nn.Linear(self.input_size, H)
        layer = nn.TransformerEncoderLayer(H, nhead, ff, dropout=0.0, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)

    @property
    def num_layers(self) -> int:  # one "layer" in nn.LSTM's sense, for SequenceModel.from_layer
        return 1

    def forward(self, x: torch.Tensor, hx=None):
        """``x (T, B, D)`` -> ``(output (T, B, H), output[-1:] (1, B, H))``."""
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[2] != self.input_size:
            got = f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must be a tensor of shape (T, B, {self.input_size}); got {got}")
        if hx is not None:
            raise ValueError(f"CausalTransformer has no state to start from: hx must be None; got {type(hx).__name__}")
        T = x.shape[0]
        u = self.embed(x) + sinusoidal_positions(T, self.hidden_size).to(x.dtype)[:, None, :]  # (T, B, H)
        mask = nn.Transformer.generate_square_subsequent_mask(T, dtype=x.dtype)  # -inf above the diagonal
        out = self.encoder(u, mask=mask, is_causal=True)  # (T, B, H)
        return out, out[-1:]
