"""The result of a check, and the short, kind messages that explain each diagnosis."""
from __future__ import annotations

from dataclasses import dataclass, field

#: Every diagnosis a checker can give: code -> (what the checker saw, a hint). The texts are
#: ``str.format`` templates filled from the result's ``detail``.
MESSAGES = {
    # -- generic ---------------------------------------------------------------------------
    "not_implemented": ("not implemented yet.",
                        "Replace `raise NotImplementedError()` with your code, then run this cell again."),
    "raised": ("your code raised {error}.",
               "Read the last line of the traceback above the check, or call your function on small arrays "
               "and print the shape of every intermediate result."),
    "bad_return": ("{problem}", "{hint}"),
    "delegated": ("no credit: your code calls {function}, which computes the answer this "
                  "exercise asks you to write.",
                  "Write the computation yourself, with NumPy or torch operations (or your own functions from "
                  "earlier in the lab); the check runs your code with the package's answers switched off."),
    "wrong_shape": ("{quantity} has the wrong shape: expected {expected}, received {received}.",
                    "{hint}"),
    "not_finite": ("{quantity} contains NaN or inf.",
                   "Look for a division by zero or an exponential of a large number."),
    "mismatch": ("{quantity} differs from the reference (relative error {rel_err}){also}.",
                 "Compare your code with the equation for {quantity}, one term at a time, on the smallest "
                 "case (B = 1) where you can print every number."),
    "sign_error": ("{quantity} has the right size but the wrong sign.",
                   "Somewhere a minus sign is missing or extra: check each derivative's sign."),
    "param_grad": ("every gradient is right except {quantity} (relative error {rel_err}).",
                   "{hint}"),
    "transposed": ("{quantity} is the transpose of the correct matrix.",
                   "A gradient has the shape of its parameter: for W of shape (rows, cols) the gradient is "
                   "(upstream)ᵀ @ (input), of shape (rows, cols)."),
    "batch_mean": ("{quantity} is the reference divided by the batch size B.",
                   "The loss is a sum over the batch, so gradients are summed over it too: .sum(axis=0)."),
    "two_mistakes": ("two mistakes at once: your results match the reference with both of these built in.",
                     "Fix them one at a time and run the check after each."),
    "ambiguous_mistakes": ("your results match the reference with two mistakes built in, but more than one "
                           "pair of mistakes fits; the candidates:",
                           "Fix the one you recognise and run the check again: with one mistake left, the "
                           "diagnosis is exact."),
    # -- the GRU ----------------------------------------------------------------------------
    "reset_before_W_hh": ("your candidate applies the reset gate before W_hn: tanh(W_in x + W_hn (r ⊙ h_prev) + …) "
                          "(the form of Cho et al. 2014).",
                          "This course, like torch.nn.GRU and cuDNN, applies r after the product: "
                          "n = tanh(W_in x + b_in + r ⊙ (W_hn h_prev + b_hn))."),
    "reset_without_bias": ("your reset gate multiplies W_hn h_prev but not its bias b_hn.",
                           "r scales the whole recurrent term, bias included: r ⊙ (W_hn h_prev + b_hn)."),
    "update_flipped": ("your update gate works the wrong way round: h = z ⊙ n + (1 − z) ⊙ h_prev.",
                       "In torch.nn.GRU, z is the share of the *old* state kept: h = (1 − z) ⊙ n + z ⊙ h_prev."),
    "one_minus_z_sign": ("the factor on the candidate has the wrong sign: h = (z − 1) ⊙ n + z ⊙ h_prev.",
                         "The candidate's weight is 1 − z, not z − 1: h = (1 − z) ⊙ n + z ⊙ h_prev."),
    "gru_gate_order": ("your results match a GRU that reads the reset and update gates from each other's rows.",
                       "The rows of W_ih, W_hh and the biases are stacked r, z, n: 0:H reset, H:2H update, "
                       "2H:3H candidate."),
    "no_reset": ("the reset gate is missing: the candidate uses W_hn h_prev + b_hn unscaled.",
                 "n = tanh(W_in x + b_in + r ⊙ (W_hn h_prev + b_hn))."),
    "no_update_gate": ("h equals the candidate n: the update gate's interpolation is missing.",
                       "h = (1 − z) ⊙ n + z ⊙ h_prev."),
    "gru_candidate_sigmoid": ("the candidate n goes through a sigmoid instead of tanh.",
                              "n = tanh(…); only r and z use the sigmoid."),
    "dz_sign": ("dz has the wrong sign: the derivative of h with respect to z is h_prev − n, not n − h_prev.",
                "h = (1 − z) ⊙ n + z ⊙ h_prev, so ∂h/∂z = h_prev − n: the (1 − z) term contributes −n."),
    "reset_missing_in_backward": ("the gradient of W_hn h_prev + b_hn is missing the factor r.",
                                  "In the forward pass r multiplies that term, so its gradient is δa_n ⊙ r: "
                                  "it affects dh_prev, dW_hh and db_hh (not dW_ih or db_ih)."),
    "direct_path_missing": ("dh_prev is missing the direct path dh ⊙ z.",
                            "h_prev reaches h twice: through the gates and candidate (via W_hh) and directly "
                            "through z ⊙ h_prev; add dh * z."),
    "gru_tanh_grad_missing": ("the derivative of the candidate's tanh is missing.",
                              "δa_n = δn ⊙ (1 − n²)."),
    "gate_grads_missing": ("the derivatives of the gates' sigmoids are missing.",
                           "δa_r = δr ⊙ r ⊙ (1 − r) and δa_z = δz ⊙ z ⊙ (1 − z)."),
    # -- variable-length batches ------------------------------------------------------------
    "sorted_batch": ("your batch is sorted by length: the sequences are no longer in the order given.",
                     "Keep the batch in the order of the list (labels follow that order); packing with "
                     "enforce_sorted=False sorts internally and restores the order."),
    "padded_with_last": ("the padding repeats each sequence's last value instead of zeros.",
                         "Pad with zeros: x = torch.zeros(T, B, D), then copy each sequence into x[:L_b, b]."),
    "mean_over_padding": ("your mean includes the padded steps (outputs.mean(0)).",
                          "Mask the padding: mask = steps < lengths, sum outputs * mask over time, divide by lengths."),
    "sum_not_mean": ("you return the masked sum: it is not divided by the lengths.",
                     "Divide each sequence's sum by its own length."),
    "divided_by_T": ("the masked sum is divided by the padded length T', not by each sequence's length.",
                     "Divide by lengths[:, None], one length per sequence."),
    "mask_one_short": ("your mask leaves out each sequence's last valid step.",
                       "Valid steps are 0 .. lengths − 1: mask = torch.arange(T)[:, None] < lengths[None, :]."),
    "mask_one_long": ("your mask includes one padded step after each sequence.",
                      "Valid steps are 0 .. lengths − 1: use <, not <=."),
    "padded_last_step": ("your logits read output[-1], the last *padded* step: for a short sequence the "
                         "forward half has read padding and the backward half has read nothing but padding.",
                         "Pack the input (pack_padded_sequence(x, lengths, enforce_sorted=False)) and read "
                         "h_n: h_n[0] is the forward direction's final state, h_n[1] the backward one's."),
    "not_packed": ("your input is not packed: both directions also read the padding, and the backward one "
                   "starts in it.",
                   "pack_padded_sequence(x, lengths, enforce_sorted=False) before the LSTM; then h_n[0] is "
                   "each sequence's forward state at its last valid step."),
    "packed_output_last": ("your logits read the last step of the padded output: after pad_packed_sequence "
                           "it is zero for every sequence shorter than the batch.",
                           "Read the final states from h_n (h_n[0] forward, h_n[1] backward), not from the "
                           "output."),
    "last_valid_both_halves": ("both directions are read at each sequence's last valid step: that is the "
                               "backward direction's *first* step, after one symbol.",
                               "The backward direction ends at step 0: torch.cat([h_n[0], h_n[1]], dim=1)."),
    "h_n_view": ("your features are h_n.view(B, 2H): h_n is (2, B, H), so that reshape mixes the samples "
                 "of the batch.",
                 "torch.cat([h_n[0], h_n[1]], dim=1), or h_n.transpose(0, 1).reshape(B, 2 * H)."),
    "directions_swapped": ("your features put the backward direction first.",
                           "nn.LSTM's order is forward then backward: torch.cat([h_n[0], h_n[1]], dim=1)."),
    "enforce_sorted": ("packing failed: the lengths of a batch are not sorted and enforce_sorted is True.",
                       "pack_padded_sequence(x, lengths, enforce_sorted=False): PyTorch sorts and unsorts."),
    # -- truncated BPTT ---------------------------------------------------------------------
    "interleaved": ("your columns deal the stream out across the batch (reshape(L, B)): neighbouring "
                    "characters land in different columns.",
                    "Each column must be a contiguous piece of text: ids[:L * B].reshape(B, L).t()."),
    "state_not_detached": ("the state you return is still attached to this window's graph, so the next "
                           "window's backward pass reaches into it (or fails: its buffers were freed).",
                           "Return the state's values without the graph: tuple(s.detach() for s in state)."),
    "window_state_not_carried": ("every window starts from a zero state: the state is not carried from window "
                          "to window.",
                          "Pass the previous window's (detached) state to model(x, state); truncation cuts "
                          "the gradient, not the forward information."),
    "no_clipping": ("your update is the unclipped gradient step (no clipping, or clipping after the step).",
                    "Between loss.backward() and optimiser.step(): "
                    "torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)."),
    "no_zero_grad": ("the gradients are not zeroed: each window's step adds the earlier windows' gradients.",
                     "Call optimiser.zero_grad() before loss.backward()."),
    "loss_sum": ("your loss is the sum of the cross-entropies, not their mean.",
                 "F.cross_entropy(logits.reshape(-1, V), y.reshape(-1)) averages over the K × B predictions."),
    "state_reset_each_window": ("each window is evaluated from a zero state.",
                                "Carry the state across windows, as in training; only the first window starts "
                                "from None."),
    "mean_of_window_means": ("you average the windows' mean losses: the last, shorter window counts as much "
                             "as a full one.",
                             "Sum the losses of every prediction (reduction='sum') and divide by their number."),
    "grad_enabled": ("your evaluation records gradients.",
                     "Evaluate under torch.no_grad(): it saves memory and time, and nothing is learned."),
    "modifies_input": ("your function changed its input {quantity} in place.",
                       "Work on copies, or put every perturbed entry back the way you found it."),
    # -- the LSTM cell, forward ------------------------------------------------------------
    "gate_order": ("your results match an LSTM that reads the four gate blocks in the order {order}{note}.",
                   "This course, like PyTorch, stacks the rows of W_ih, W_hh and the biases as i, f, g, o: "
                   "rows 0:H input gate, H:2H forget gate, 2H:3H candidate g, 3H:4H output gate."),
    "no_tanh_cell": ("h looks like o ⊙ c: the tanh on the cell state is missing.",
                     "The output is h = o ⊙ tanh(c): squash the new cell state before the output gate."),
    "swapped_activations": ("your gates use tanh where sigmoid belongs and sigmoid where tanh belongs.",
                            "i, f and o are gates in (0, 1): sigmoid. The candidate g is a value in (−1, 1): tanh."),
    "candidate_sigmoid": ("the candidate g goes through a sigmoid instead of tanh.",
                          "g = tanh(a_g), so that the cell can also be decreased; only i, f, o use the sigmoid."),
    "forget_on_candidate": ("your cell update multiplies the candidate g by the forget gate "
                            "(c = i ⊙ c_prev + f ⊙ g).",
                            "c = f ⊙ c_prev + i ⊙ g: the forget gate scales the old cell, the input gate the "
                            "candidate. (Reading the i and f blocks in swapped order gives the same numbers.)"),
    "forget_on_whole": ("your cell update applies the forget gate to the candidate as well "
                        "(c = f ⊙ (c_prev + i ⊙ g)).",
                        "Only the old cell is forgotten: c = f ⊙ c_prev + i ⊙ g."),
    "no_forget_gate": ("your cell update has no forget gate (c = c_prev + i ⊙ g).",
                       "That is the 1997 cell; the standard LSTM multiplies c_prev by f."),
    "no_c_prev": ("your cell update ignores the previous cell state (c = i ⊙ g).",
                  "The memory is carried by c = f ⊙ c_prev + i ⊙ g: keep the f ⊙ c_prev term."),
    "h_from_c_prev": ("h is computed from the previous cell state c_prev instead of the new c.",
                      "Update the cell first, then h = o ⊙ tanh(c) with the new c."),
    "missing_bias": ("the bias {bias} is missing from the pre-activations.",
                     "PyTorch's layout has two biases; add both: a = x W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh."),
    "swapped_outputs": ("you return h and c in each other's place.",
                        "Return them in the documented order: {order}."),
    # -- the LSTM cell, backward -----------------------------------------------------------
    "dc_ignored": ("the gradient dc arriving at the cell state from the next step is not used.",
                   "Add it to the cell's total gradient: dc_total = dc + dh ⊙ o ⊙ (1 − tanh²(c))."),
    "dh_path_missing": ("the gradient of the cell state leaves out the path through h "
                        "(dc_total = dc only).",
                        "c reaches the loss twice, through h and directly: "
                        "dc_total = dc + dh ⊙ o ⊙ (1 − tanh²(c))."),
    "dc_prev_missing": ("dc_prev is zero: the gradient does not reach the previous cell state.",
                        "c = f ⊙ c_prev + i ⊙ g, so dc_prev = dc_total ⊙ f."),
    "dc_prev_no_forget": ("dc_prev equals the cell's total gradient: the factor f is missing.",
                          "c = f ⊙ c_prev + i ⊙ g, so dc_prev = dc_total ⊙ f."),
    "tanh_grad_missing": ("the derivative of tanh(c) is missing from the cell's gradient.",
                          "dc_total = dc + dh ⊙ o ⊙ (1 − tanh²(c)): tanh' = 1 − tanh²."),
    "tanh_grad_no_square": ("the derivative of tanh(c) is computed as 1 − tanh(c) instead of 1 − tanh²(c).",
                            "tanh'(c) = 1 − tanh(c)²: square the cached tanh(c)."),
    "tanh_grad_sign": ("the derivative of tanh(c) has the wrong sign (tanh² − 1).",
                       "tanh'(c) = 1 − tanh²(c), which is positive."),
    "di_dg_swapped": ("di and dg are swapped: di uses i and dg uses g.",
                      "In i ⊙ g each factor's gradient is the other factor: di = dc_total ⊙ g, dg = dc_total ⊙ i."),
    "gate_grad_missing": ("the derivatives of the gate nonlinearities are missing.",
                          "Multiply by σ' = s(1 − s) for i, f, o and by tanh' = 1 − g² for g before the "
                          "matrix products."),
    "gate_sign": ("the gradient of gate {gate} has the wrong sign.",
                  "Check the sign of every term in d{gate} and of its activation's derivative."),
    # -- sequences -------------------------------------------------------------------------
    "state_not_carried": ("every step starts from the initial state: the new h and c are not carried forward.",
                          "Inside the loop, feed the (h, c) you just computed into the next step."),
    "h_not_carried": ("every step starts from the initial hidden state: h is not carried forward.",
                      "Inside the loop, feed the h you just computed into the next step."),
    "c_not_carried": ("every step starts from the initial cell state: c is not carried forward.",
                      "Inside the loop, feed the c you just computed into the next step."),
    "hs_shifted": ("hs is shifted by one step: it holds h_0 … h_(T−1) instead of h_1 … h_T.",
                   "Store the state a step produces, after the step: hs[t] = h_(t+1)."),
    "initial_state_ignored": ("the initial state you were given is ignored (you start from zeros).",
                              "Use the zeros only when the initial state is None."),
    "hs_are_cs": ("the sequence you return holds the cell states, not the hidden states.",
                  "Return the h of every step; c only in the final state."),
    "dc_not_carried": ("the gradient of the cell state is not carried from step t to step t − 1.",
                       "Keep dc across the loop: the dc_prev of step t is the dc of step t − 1. This path is "
                       "the constant error carousel."),
    "dh_not_carried": ("the gradient reaching h from the later step is dropped.",
                       "At each step the total dh is dhs[t] plus the dh_prev of the step after it."),
    "final_grads_ignored": ("the gradients dh_n / dc_n of the final state are ignored.",
                            "Start the backward loop from them: dh = dh_n, dc = dc_n (zeros when None)."),
    "c_prev_shifted": ("at step t your backward uses c_t where c_(t−1) belongs.",
                       "c_prev of step t is cs[t − 1], and c0 at t = 0."),
    # -- the RNN ---------------------------------------------------------------------------
    "no_tanh": ("h is the pre-activation itself: the tanh is missing.",
                "h = tanh(x W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh)."),
    "wrong_activation": ("h matches an RNN that uses {used} instead of tanh.",
                         "The course's RNN, like torch.nn.RNN's default, uses tanh."),
    "W_hh_untransposed": ("your recurrence uses W_hh where its transpose belongs{where}.",
                          "With batch rows, the forward is h_prev @ W_hh.T and the backward da @ W_hh. "
                          "A square matrix never complains about its shape, so test with a non-symmetric one."),
    "no_recurrence": ("h does not depend on h_prev: the recurrence term is missing.",
                      "Add h_prev W_hhᵀ + b_hh to the pre-activation."),
    "rnn_tanh_grad_missing": ("the derivative of tanh is missing: the gradient goes straight through the "
                              "nonlinearity.",
                              "Through h = tanh(a) the gradient is da = dh ⊙ (1 − h²)."),
    "tanh_grad_from_h": ("the derivative of tanh is computed as 1 − h instead of 1 − h².",
                         "tanh'(a) = 1 − tanh(a)² = 1 − h²."),
    # -- finite differences and gradient norms ----------------------------------------------
    "forward_difference": ("your estimate matches the one-sided difference (L(x + ε) − L(x)) / ε.",
                           "The central difference (L(x + ε) − L(x − ε)) / 2ε is far more accurate: its error "
                           "is O(ε²), the one-sided one's O(ε)."),
    "missing_half": ("your estimate is twice the derivative.",
                     "Divide the central difference by 2ε: the two points are 2ε apart."),
    "gradcheck_failed": ("the gradient check fails for {quantity}: relative error {rel_err} (needs < {tol}).",
                         "{hint}"),
    "reversed": ("your result is in reverse time order.",
                 "Entry t must belong to step t; reverse the list you built backwards."),
    "shifted_derivative": ("the tanh derivative at each step uses the neighbouring step's h.",
                           "Going from h_t back to h_(t−1) multiplies by (1 − h_t²) then W_hh: "
                           "use the h of the step you are leaving."),
    "jacobian_transposed": ("your Jacobian is transposed.",
                            "J[b, j, k] = ∂h_j / ∂h_prev_k: rows are outputs, columns inputs, so "
                            "J[b] = diag(1 − h_b²) W_hh."),
    "derivative_wrong_side": ("the factor (1 − h²) scales the columns of W_hh instead of its rows.",
                              "h_j depends on its own pre-activation a_j, so row j of W_hh is scaled by "
                              "(1 − h_j²): diag(1 − h²) W_hh, i.e. (1 − h²)[:, :, None] * W_hh."),
    # -- experiments and the language model ------------------------------------------------
    "baseline_zero": ("your number is the mean of y², the error of always predicting 0.",
                      "The best constant prediction is the mean of the targets; its MSE is their variance."),
    "baseline_unbiased": ("you divide by n − 1.",
                          "The baseline is the mean squared error of one constant on these n sequences: "
                          "divide by n (torch's var(unbiased=False), NumPy's var())."),
    "baseline_std": ("you return the standard deviation, the square root of the MSE.",
                     "Return the mean squared error itself: compare it with the model's MSE loss."),
    "temperature_inverted": ("the logits are multiplied by the temperature instead of divided by it.",
                             "p = softmax(z / τ): a low temperature sharpens the distribution."),
    "temperature_ignored": ("the temperature has no effect.", "Divide the logits by τ before the softmax."),
    "wrong_axis": ("the softmax normalises over the batch instead of over the characters.",
                   "Each row is one distribution over the V characters: normalise along the last dimension."),
    "not_normalised": ("your probabilities do not sum to 1: the normalisation is missing.",
                       "Divide exp(z / τ) by its sum over the characters."),
    "softmax_overflow": ("large logits at a low temperature give NaN or inf: exp overflowed.",
                         "Subtract each row's maximum from z / τ before exp; the softmax does not change "
                         "(or use torch.softmax, which does this for you)."),
    "sample_state_not_carried": ("after the prompt, every character is predicted from a fresh zero state.",
                                 "Pass the state the model returned into the next call: "
                                 "logits, state = model(x, state)."),
    "prompt_ignored": ("only the prompt's last character is read: the rest of the prompt is ignored.",
                       "Run the model over the whole prompt first; continue from its final state."),
    "prompt_returned": ("you return the prompt followed by the new characters.",
                        "Return only the length new characters."),
    "wrong_length": ("expected {expected} new characters, received {received}.",
                     "Sample exactly length characters, one per loop iteration."),
    # -- torch modules ---------------------------------------------------------------------
    "not_module": ("{problem}", "Subclass torch.nn.Module and call super().__init__() first."),
    "missing_parameter": ("{problem}", "{hint}"),
    "detached": ("no gradient reaches {quantity}: the computation is cut from the autograd graph.",
                 "Avoid .data, .detach(), .item(), .numpy() and torch.tensor(...) on values that need "
                 "gradients; build everything from the module's parameters and the inputs."),
    "hx_none": ("calling forward without a state fails: {error}.",
                "Accept hx=None and start from zeros then, e.g. x.new_zeros(B, H) (same dtype and device as x)."),
}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    Attributes:
        name: what was checked (the student's function or class).
        passed: True when the answer matches the reference on every test case.
        code: ``"ok"`` or one diagnosis code of :data:`MESSAGES` (``"gate_order"``, ...).
        message: the text shown to the student (plain text, deterministic).
        detail: the facts behind the diagnosis (quantity, relative error, shapes, ...).
    """

    name: str
    passed: bool
    code: str
    message: str
    detail: dict = field(default_factory=dict, compare=False)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"CheckResult(name={self.name!r}, passed={self.passed}, code={self.code!r})"


def fmt_err(x: float) -> str:
    """A relative error printed with two significant digits."""
    return f"{x:.2g}"


def passed(name: str, what: str, verbose: bool = True) -> CheckResult:
    """The result of a correct answer; ``what`` says what was compared."""
    return _show(CheckResult(name, True, "ok", f"✔ {name}: correct! {what}"), verbose)


def failed(name: str, code: str, case: str = "", verbose: bool = True, **detail) -> CheckResult:
    """The result of a wrong answer: the message for ``code`` filled from ``detail``."""
    if code not in MESSAGES:
        raise ValueError(f"unknown diagnosis code {code!r}; expected one of {sorted(MESSAGES)}")
    what, hint = MESSAGES[code]
    fill = _fill(detail)
    if code == "not_implemented":
        where = detail.get("where")
        what = f"not implemented yet: it calls {where}, which still raises NotImplementedError." if where else what
        return _show(CheckResult(name, False, code, f"✘ {name}: {what} {hint}", detail), verbose)
    where = f" (test case {case})" if case else ""
    lines = [f"✘ {name}: not right yet{where}.", f"  What I see: {what.format(**fill)}",
             f"  Hint: {hint.format(**fill)}"]
    return _show(CheckResult(name, False, code, "\n".join(lines), detail), verbose)


def failed_pairs(name: str, options: list, case: str = "", verbose: bool = True) -> CheckResult:
    """The result of a wrong answer explained by two known mistakes at once.

    ``options`` lists the pairs that fit, each ``((code, detail), (code, detail))``. One pair:
    code ``"two_mistakes"``, and each mistake is explained as it would be alone. Several:
    code ``"ambiguous_mistakes"``, and every candidate pair is listed.
    """
    code = "two_mistakes" if len(options) == 1 else "ambiguous_mistakes"
    what, hint = MESSAGES[code]
    where = f" (test case {case})" if case else ""
    lines = [f"✘ {name}: not right yet{where}.", f"  What I see: {what}"]
    if len(options) == 1:
        for k, (mistake, detail) in enumerate(options[0], 1):
            m_what, m_hint = MESSAGES[mistake]
            fill = _fill(detail)
            lines += [f"  {k}. {m_what.format(**fill)}", f"     Hint: {m_hint.format(**fill)}"]
        detail = {"mistakes": options[0]}
    else:
        for k, pair in enumerate(options, 1):
            texts = [MESSAGES[mistake][0].format(**_fill(d)) for mistake, d in pair]
            lines.append(f"  {k}. {texts[0]} And: {texts[1]}")
        detail = {"options": list(options)}
    lines.append(f"  Hint: {hint}")
    return _show(CheckResult(name, False, code, "\n".join(lines), detail), verbose)


def _fill(detail: dict) -> dict:
    """The values for a message template: relative errors rounded, optional fields empty."""
    fill = {k: (fmt_err(v) if k == "rel_err" else v) for k, v in detail.items()}
    fill.setdefault("also", "")
    fill.setdefault("note", "")
    return fill


def _show(result: CheckResult, verbose: bool) -> CheckResult:
    if verbose:
        print(result.message)
    return result
