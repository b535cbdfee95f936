r"""The LSTM as a ``torch.autograd.Function`` whose backward is the book's hand-derived BPTT.

Forward runs the time loop with autograd off and keeps what backpropagation needs: the
activated gates, the cells and their tanh. Backward is the derivation of
:func:`lstm_course.numpy.lstm.lstm_step_backward`, with the hoisting of
:func:`lstm_course.numpy.fast.lstm_backward`,
arranged so that the loop over time carries only the two recurrent gradients:

.. math::

    \overline{\delta\mathbf{c}}_t &= \delta\mathbf{c}_t + \delta\mathbf{h}_t \odot
        \mathbf{o}_t \odot (1 - \tanh^2\mathbf{c}_t) \\
    \delta\mathbf{a}^i_t &= \overline{\delta\mathbf{c}}_t \odot \mathbf{g}_t \odot \mathbf{i}_t(1-\mathbf{i}_t),\quad
    \delta\mathbf{a}^f_t = \overline{\delta\mathbf{c}}_t \odot \mathbf{c}_{t-1} \odot \mathbf{f}_t(1-\mathbf{f}_t) \\
    \delta\mathbf{a}^g_t &= \overline{\delta\mathbf{c}}_t \odot \mathbf{i}_t \odot (1-\mathbf{g}_t^2),\quad
    \delta\mathbf{a}^o_t = \delta\mathbf{h}_t \odot \tanh\mathbf{c}_t \odot \mathbf{o}_t(1-\mathbf{o}_t) \\
    \delta\mathbf{c}_{t-1} &= \overline{\delta\mathbf{c}}_t \odot \mathbf{f}_t,\qquad
    \delta\mathbf{h}_{t-1} = W_{hh}^\top \delta\mathbf{a}_t + \frac{\partial L}{\partial \mathbf{h}_{t-1}}

Every factor that does not depend on the incoming gradient (``g ⊙ i(1−i)``, ``c_{t-1} ⊙ f(1−f)``,
``i ⊙ (1−g²)``, ``tanh c ⊙ o(1−o)``, ``o ⊙ (1−tanh² c)``) is computed for all steps at once
before the loop, into the buffer that then receives ``δa``. After the loop the input gradient
is one matrix product over all ``T·B`` rows, ``dxs = δA W_ih``, and so are the three parameter
gradients together: with ``Z = [X, H_{prev}, 1]``, the inputs, the previous hidden states and a
column of ones side by side, ``Zᵀ δA`` stacks ``dW_ihᵀ``, ``dW_hhᵀ`` and ``db``.

Speed, without changing the mathematics: the input projection of all steps is one matrix
product; each forward step is one ``addmm_`` and six element-wise operations on preallocated
buffers, each backward step one ``addmm_`` and four; the per-step views are made once with
``unbind``, and both loops run in ``torch.inference_mode``, which skips autograd's bookkeeping
for each of their in-place operations (the buffers were made outside it, so autograd still
tracks them). The forward computes :math:`\tanh a = 2\sigma(2a) - 1` for the candidate
(torch's CPU ``tanh`` costs several times its ``sigmoid``), so one ``sigmoid_`` activates all four
gates of a step. ``benchmarks/bench_rnn.py`` compares it with ``torch.nn.LSTM``.

Shapes: ``xs (T, B, D)``, ``h0, c0 (B, H)``, ``W_ih (4H, D)``, ``W_hh (4H, H)``, biases ``(4H,)``
or None; gate order i, f, g, o.
"""
from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable


class LSTMBPTT(torch.autograd.Function):
    """The standard LSTM over a sequence, differentiated by hand-derived BPTT (see the module docstring)."""

    @staticmethod
    def forward(ctx, xs, h0, c0, W_ih, W_hh, b_ih, b_hh):
        T, B, D = xs.shape
        H = W_hh.shape[1]
        # tanh(a) = 2σ(2a) − 1. torch's CPU tanh costs several times its sigmoid per element, so
        # the g rows of the weights are doubled (exact in floating point) and one sigmoid over the
        # contiguous (B, 4H) row activates all four gates. The g block then holds s = σ(2a^g),
        # and g = 2s − 1 enters the cell update as i ⊙ g = 2 i ⊙ s − i.
        scale = torch.ones(4 * H, 1, dtype=xs.dtype, device=xs.device)
        scale[2 * H : 3 * H] = 2.0
        # (T, B, 4H) a_t of all steps at once, then activated in place. A product and an in-place
        # add of the bias: addmm would first copy the broadcast bias into all T·B rows.
        gates = torch.mm(xs.reshape(T * B, D), (W_ih * scale).t()).view(T, B, 4 * H)
        if b_ih is not None:
            gates += (b_ih + b_hh) * scale[:, 0]
        hs, cs, tanh_cs = (torch.empty(T, B, H, dtype=xs.dtype, device=xs.device) for _ in range(3))
        W_hhT = (W_hh * scale).t()  # (H, 4H)
        # Per-step views, made once: the (B, 4H) rows, the (B, H) gate blocks and results.
        a_t = gates.unbind(0)
        i_t, f_t = gates[:, :, :H].unbind(0), gates[:, :, H : 2 * H].unbind(0)
        s_t, o_t = gates[:, :, 2 * H : 3 * H].unbind(0), gates[:, :, 3 * H :].unbind(0)
        c_t, tanh_c_t, h_t = cs.unbind(0), tanh_cs.unbind(0), hs.unbind(0)
        h, c = h0, c0
        with torch.inference_mode():
            for t in range(T):
                a = a_t[t].addmm_(h, W_hhT)  # a_t = W_ih x_t + b + W_hh h_{t-1}  (g rows doubled)
                a.sigmoid_()  # i_t, f_t, o_t = σ(a), and s_t = σ(2 a^g) in the g block
                c = torch.mul(f_t[t], c, out=c_t[t])  # c_t = f_t ⊙ c_{t-1}
                c.addcmul_(i_t[t], s_t[t], value=2.0).sub_(i_t[t])  #  + i_t ⊙ g_t,  g_t = 2 s_t − 1
                torch.tanh(c, out=tanh_c_t[t])
                h = torch.mul(o_t[t], tanh_c_t[t], out=h_t[t])  # h_t = o_t ⊙ tanh(c_t)
        # gates now holds i, f, s, o with s = σ(2a^g) = (g + 1) / 2: backward works from s
        ctx.save_for_backward(xs, h0, c0, W_ih, W_hh, gates, hs, cs, tanh_cs)
        ctx.has_bias = b_ih is not None
        return hs, hs[-1].clone(), cs[-1].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, dhs, dh_n, dc_n):
        xs, h0, c0, W_ih, W_hh, gates, hs, cs, tanh_cs = ctx.saved_tensors
        T, B, H = hs.shape
        D = xs.shape[2]
        i, f, s, o = gates.chunk(4, dim=2)  # (T, B, H) each; s = σ(2a^g), g = 2s − 1
        # The local derivatives for all steps at once, in place in the buffer that becomes δa.
        da = torch.addcmul(gates, gates, gates, value=-1.0)  # (T, B, 4H) σ' = s − s², one pass
        da_i, da_f, da_g, da_o = da.chunk(4, dim=2)
        da_i.addcmul_(da_i, s, value=-2.0).neg_()  # ∂c_t/∂a^i = g ⊙ σ' = (2s − 1) ⊙ σ'
        da_f[0].mul_(c0)  # ∂c_t/∂a^f = c_{t−1} ⊙ σ'
        da_f[1:].mul_(cs[:-1])
        # ∂c_t/∂a^g = i ⊙ (1 − g²) = 4 i ⊙ s(1 − s), since 1 − (2s − 1)² = 4s(1 − s)
        da_g.mul_(i).mul_(4.0)
        da_o.mul_(tanh_cs)  # ∂h_t/∂a^o = tanh(c_t) ⊙ σ'
        # (T, B, H) ∂h_t/∂c_t = o ⊙ (1 − tanh² c_t) = o − h_t ⊙ tanh c_t, since h_t = o ⊙ tanh c_t:
        # one pass
        dh_dc = torch.addcmul(o, hs, tanh_cs, value=-1.0)
        # δh_t accumulates in place in a copy of ∂L/∂h_t (the caller's gradient stays untouched).
        dh_all = dhs.clone()  # (T, B, H)
        # The recurrence: δh and δc flow backwards; everything else was computed above.
        da_t, da_ifg_t = da.unbind(0), da.view(T, B, 4, H)[:, :, :3].unbind(0)  # (B, 4H), (B, 3, H)
        da_o_t, f_t, dh_dc_t, dh_t = da_o.unbind(0), f.unbind(0), dh_dc.unbind(0), dh_all.unbind(0)
        dc = dc_n.clone()  # (B, H) δc_T
        dc3 = dc.unsqueeze(1)  # (B, 1, H): the same memory, broadcast over the i, f, g blocks
        with torch.inference_mode():
            dh = dh_t[T - 1].add_(dh_n)  # (B, H) δh_T: from the output and from h_n
            for t in range(T - 1, -1, -1):
                dc.addcmul_(dh, dh_dc_t[t])  # dc_total: δc̄_t = δc_t + δh_t ⊙ o_t ⊙ (1 − tanh² c_t)
                da_ifg_t[t].mul_(dc3)  # δa^i, δa^f, δa^g = δc̄_t ⊙ ∂c_t/∂a
                da_o_t[t].mul_(dh)  # δa^o = δh_t ⊙ ∂h_t/∂a^o
                dc.mul_(f_t[t])  # δc_{t−1} = δc̄_t ⊙ f_t
                if t > 0:
                    dh = dh_t[t - 1].addmm_(da_t[t], W_hh)  # δh_{t−1} = ∂L/∂h_{t−1} + δa_t W_hh
        need = ctx.needs_input_grad
        dh0 = da_t[0] @ W_hh if need[1] else None
        dc0 = dc if need[2] else None
        # The non-recurrent gradients: matrix products over all T·B rows.
        da2 = da.view(T * B, 4 * H)  # (T*B, 4H)
        dxs = (da2 @ W_ih).view(T, B, D) if need[0] else None
        dW_ih = dW_hh = db_ih = db_hh = None
        if any(need[3:]):
            # Σ_t δa_t [x_t; h_{t−1}; 1]ᵀ, all three at once: Z = [X, H_prev, 1] is (T·B, D + H + 1),
            # and one product with the long T·B dimension as its reduction is faster than three.
            h_prev = torch.cat([h0.unsqueeze(0), hs[:-1]])  # (T, B, H) h_{t−1}: h_0, then h_1 … h_{T−1}
            ones = [torch.ones(T, B, 1, dtype=xs.dtype, device=xs.device)] if ctx.has_bias else []
            Z = torch.cat([xs, h_prev, *ones], dim=2).view(T * B, -1)
            G = Z.t() @ da2  # (D + H (+ 1), 4H): dW_ihᵀ, dW_hhᵀ and db stacked
            dW_ih, dW_hh = G[:D].t(), G[D : D + H].t()
            if ctx.has_bias:
                db_ih, db_hh = G[D + H], G[D + H].clone()
        return (dxs, dh0, dc0, dW_ih if need[3] else None, dW_hh if need[4] else None,
                db_ih if need[5] else None, db_hh if need[6] else None)


def lstm_bptt(xs, h0, c0, W_ih, W_hh, b_ih=None, b_hh=None):
    """Run the standard LSTM over ``xs`` with hand-derived BPTT as its backward.

    Args:
        xs: ``(T, B, D)`` inputs, time-major. h0, c0: ``(B, H)`` initial states.
        W_ih: ``(4H, D)``. W_hh: ``(4H, H)``. b_ih, b_hh: ``(4H,)`` or both None.

    Returns:
        ``(hs, h_n, c_n)``: ``hs (T, B, H)`` every hidden state, ``h_n`` and ``c_n`` ``(B, H)``.
        Gradients flow to every argument that requires them, ``h0`` and ``c0`` included.
    """
    return LSTMBPTT.apply(xs, h0, c0, W_ih, W_hh, b_ih, b_hh)
