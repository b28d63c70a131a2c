"""The book's readable implementation of torch.nn.RNN, LSTM and GRU: plain NumPy, one idea each.

Each function is one idea of one chapter, named in its docstring, and is short enough to read on
one screen. Together they are a complete, slow ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``:
:func:`rnn` runs every option (layers, directions, lengths, projection, dropout), and
:func:`rnn_backward` differentiates it by backpropagation through time. In float64 they equal
torch to round-off (``tests/test_reference.py``). rnnlib's modules (:class:`rnnlib.LSTM` and the
rest) compute the same numbers rearranged for speed, and ``tests/test_fast_path.py`` checks them
against these functions, forward and backward, over every option.

Conventions, as in the book's Notation appendix:

* products in row form, ``x W^T``: a batch of N rows at a time;
* ``w`` holds one layer-direction's parameters under torch's names without the suffix
  (``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``, ``weight_hr``); a cell module's
  ``state_dict()`` is already such a dict, :func:`weights` takes one out of a layer module's;
* a state ``hx`` is ``h`` (N, H_out), or for the LSTM the pair ``(h, c)``, as torch passes it;
* a sequence is time-major: ``x`` (L, N, H_in), ``x[t]`` the N rows of step t.
"""

import copy
from functools import partial

import numpy as np


def sigmoid(x):
    """σ(x) = 1 / (1 + exp(-x)), computed without overflow for any finite x (chapter 3)."""
    e = np.exp(-np.abs(x))  # in (0, 1]
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def affine(x, w, kind):
    """``x W_kind^T + b_kind`` for ``kind`` "ih" or "hh"; no bias when w has none (chapter 1)."""
    out = x @ w[f"weight_{kind}"].T  # (N, H); the LSTM's and GRU's stacked gates: (N, 4H), (N, 3H)
    return out + w[f"bias_{kind}"] if f"bias_{kind}" in w else out


def rnn_cell(x, h, w, nonlinearity="tanh"):
    """One Elman step, as ``nn.RNNCell`` (chapter 1).

    Args:
        x: (N, H_in) the input of this step.
        h: (N, H) the previous state.
        w: ``weight_ih`` (H, H_in), ``weight_hh`` (H, H), and ``bias_ih``, ``bias_hh`` (H,).
        nonlinearity: "tanh" or "relu".

    Returns:
        h' (N, H) = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh).
    """
    a = affine(x, w, "ih") + affine(h, w, "hh")  # (N, H)
    return np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)


rnn_relu_cell = partial(rnn_cell, nonlinearity="relu")


def lstm_cell(x, hx, w):
    """One LSTM step, as ``nn.LSTMCell``: gates i, f, g, o, stacked in that order (chapter 3).

    Args:
        x: (N, H_in) the input of this step.
        hx: the previous (h, c), each (N, H).
        w: ``weight_ih`` (4H, H_in), ``weight_hh`` (4H, H), ``bias_ih``, ``bias_hh`` (4H,).

    Returns:
        (h', c'), each (N, H).
    """
    h, c = hx
    i, f, g, o = np.split(affine(x, w, "ih") + affine(h, w, "hh"), 4, axis=-1)  # 4 x (N, H)
    i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
    c = f * c + i * g
    return o * np.tanh(c), c


def gru_cell(x, h, w):
    """One GRU step, as ``nn.GRUCell``: gates r, z, n, stacked in that order (chapter 4).

    The reset gate r multiplies ``h W_hn^T + b_hn``, after the product, as torch does.

    Args:
        x: (N, H_in) the input of this step.
        h: (N, H) the previous state.
        w: ``weight_ih`` (3H, H_in), ``weight_hh`` (3H, H), ``bias_ih``, ``bias_hh`` (3H,).

    Returns:
        h' (N, H) = (1 - z) n + z h.
    """
    gi_r, gi_z, gi_n = np.split(affine(x, w, "ih"), 3, axis=-1)  # the input's part, 3 x (N, H)
    gh_r, gh_z, gh_n = np.split(affine(h, w, "hh"), 3, axis=-1)  # the state's part
    r = sigmoid(gi_r + gh_r)
    z = sigmoid(gi_z + gh_z)
    n = np.tanh(gi_n + r * gh_n)
    return (1 - z) * n + z * h  # torch computes n + z * (h - n): equal up to rounding


def output(hx):
    """What a step outputs: the state h, or the h of an LSTM's (h, c) (chapter 2)."""
    return hx[0] if isinstance(hx, tuple) else hx


def each(fn, *states):
    """``fn(*states)``, or for LSTM states (h, c) the pair ``(fn(*hs), fn(*cs))`` (chapter 5)."""
    if isinstance(states[0], tuple):
        return tuple(fn(*parts) for parts in zip(*states, strict=True))
    return fn(*states)


def layer(cell, x, hx, w):
    """One layer, one direction, as ``nn.RNN`` with one layer: cell at t = 0, ..., L-1 (chapter 2).

    Args:
        cell: a step, such as :func:`rnn_cell`.
        x: (L, N, H_in) the sequence.
        hx: the initial state, h (N, H) or for the LSTM (h, c).
        w: the layer's parameters.

    Returns:
        output (L, N, H), every step's h, and the final state, in the form of ``hx``.
    """
    outputs = []
    for x_t in x:  # x_t: (N, H_in)
        hx = cell(x_t, hx, w)
        outputs.append(output(hx))  # (N, H)
    return np.stack(outputs), hx  # (L, N, H)


def pick(hx, index):
    """``hx[index]``, or for LSTM states (h, c) the pair ``(h[index], c[index])`` (chapter 5)."""
    return each(lambda s: s[index], hx)


def weights(params, layer=0, reverse=False):
    """One layer-direction's parameters from a module's state_dict, without the suffix (chapter 3).

    ``weights(params, 1, reverse=True)["weight_ih"]`` is ``params["weight_ih_l1_reverse"]``.
    """
    end = f"_l{layer}" + ("_reverse" if reverse else "")
    return {name[: -len(end)]: value for name, value in params.items() if name.endswith(end)}


def dropout_mask(shape, p, rng):
    """Zeros with probability p, else 1 / (1 - p), as ``nn.Dropout`` in training (chapter 5)."""
    if p == 1:
        return np.zeros(shape)
    return (rng.random(shape) >= p) / (1 - p)


def stack(run_layer, x, num_layers, dropout=0.0, rng=None):
    """Layers on top of each other: layer k > 0 reads layer k-1's output (chapter 5).

    Args:
        run_layer: ``run_layer(k, x)`` runs layer k over its input x (L, N, ·) and returns its
            output and a list of its final state(s).
        x: (L, N, H_in) the sequence.
        num_layers: K, the number of layers.
        dropout: the probability p of dropout on each layer's input but the first.
        rng: a NumPy Generator to draw the dropout masks in training mode; None to evaluate.

    Returns:
        The top layer's output, and every layer's final state(s) stacked in order, layer by
        layer: (K, N, ·) when each layer returns one.
    """
    finals = []
    for k in range(num_layers):
        if k > 0 and dropout > 0 and rng is not None:
            x = x * dropout_mask(x.shape, dropout, rng)
        x, states = run_layer(k, x)
        finals += states
    return x, each(lambda *s: np.stack(s), *finals)


def bidirectional_layer(cell, x, hx, w):
    """Both directions of one layer over the same x (chapter 6).

    The reverse direction is :func:`layer` over the sequence read from its last step to its
    first, its outputs put back in time order.

    Args:
        cell, x: as :func:`layer`.
        hx, w: pairs: the forward direction's, then the reverse direction's.

    Returns:
        output (L, N, 2H), the two directions' outputs side by side, forward first, and the
        pair of final states.
    """
    y_fwd, h_fwd = layer(cell, x, hx[0], w[0])
    y_rev, h_rev = layer(cell, x[::-1], hx[1], w[1])
    return np.concatenate([y_fwd, y_rev[::-1]], axis=-1), [h_fwd, h_rev]


def masked_layer(cell, x, hx, w, lengths):
    """One direction over a padded batch whose sequence b has ``lengths[b]`` steps (chapter 7).

    A sequence advances only while t < its length; after that it keeps its state, which is its
    final state, and its output rows are zeros, as in torch's padded output.

    Args:
        cell, x, hx, w: as :func:`layer`.
        lengths: (N,) integers, each in 1..L.
    """
    outputs, lengths = [], np.asarray(lengths)
    for t, x_t in enumerate(x):
        running = (t < lengths)[:, None]  # (N, 1): the sequences still running at step t
        new = cell(x_t, hx, w)
        hx = each(partial(np.where, running), new, hx)  # the others keep theirs
        outputs.append(np.where(running, output(new), 0))
    return np.stack(outputs), hx


def flip(x, lengths):
    """Each sequence's first ``lengths[b]`` steps in reverse order; padding stays (chapter 7)."""
    t, lengths = np.arange(len(x))[:, None], np.asarray(lengths)  # (L, 1), (N,)
    source = np.where(t < lengths, lengths - 1 - t, t)  # (L, N): which step lands at t
    return np.take_along_axis(x, source[:, :, None], axis=0)


def lstmp_cell(x, hx, w):
    """One step of an LSTM with a projection, as ``nn.LSTM(proj_size=P)`` (chapter 8).

    Args:
        x: (N, H_in) the input of this step.
        hx: the previous (h, c): h (N, P), c (N, H).
        w: as :func:`lstm_cell` with ``weight_hh`` (4H, P), and ``weight_hr`` (P, H).

    Returns:
        (h', c'): h' = m W_proj^T (N, P), with W_proj = ``weight_hr`` and m = o tanh(c') (N, H).
    """
    m, c = lstm_cell(x, hx, w)  # (N, H)
    return m @ w["weight_hr"].T, c  # (N, P)


CELLS = {"RNN_TANH": rnn_cell, "RNN_RELU": rnn_relu_cell, "LSTM": lstm_cell, "GRU": gru_cell}


def rnn_layer(cell, x, hx, params, k, directions, lengths):
    """Layer k of :func:`rnn`: each direction from its own row of h_0 (chapter 8).

    The reverse direction runs over each sequence read from its last step back (:func:`flip`).

    Returns:
        output (L, N, D * H_out), forward direction first, and the list of final states.
    """
    ys, finals = [], []
    for d in range(directions):
        h0 = pick(hx, k * directions + d)  # row k * D + d of h_0
        x_d = flip(x, lengths) if d else x
        y, h_n = masked_layer(cell, x_d, h0, weights(params, k, reverse=d == 1), lengths)
        ys.append(flip(y, lengths) if d else y)
        finals.append(h_n)
    return np.concatenate(ys, axis=-1), finals


def rnn(mode, x, hx, params, num_layers=1, bidirectional=False, lengths=None, dropout=0.0,
        rng=None):
    """The whole of ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` on a time-major batch (chapter 8).

    Args:
        mode: torch's name of the cell, "RNN_TANH", "RNN_RELU", "LSTM" or "GRU".
        x: (L, N, H_in) the padded sequences.
        hx: h_0 (K * D, N, H_out), or for the LSTM the pair (h_0, c_0), c_0 (K * D, N, H).
        params: the module's ``state_dict()`` as NumPy arrays.
        num_layers, bidirectional, dropout: as the module's arguments.
        lengths: (N,) the sequences' lengths; None when each has L steps.
        rng: a NumPy Generator for dropout in training mode; None to evaluate.

    Returns:
        output (L, N, D * H_out) and h_n, in the form of ``hx``.
    """
    cell = lstmp_cell if "weight_hr_l0" in params else CELLS[mode]
    lengths = np.full(x.shape[1], len(x)) if lengths is None else np.asarray(lengths)

    def run_layer(k, x):
        return rnn_layer(cell, x, hx, params, k, 1 + bidirectional, lengths)

    return stack(run_layer, x, num_layers, dropout, rng)


def linear(x, w):
    """``x W^T + b``, as ``nn.Linear``: the layer that reads a prediction from h (chapter 11).

    Args:
        x: (*, H_in) any leading dimensions.
        w: ``weight`` (out_features, H_in), and ``bias`` (out_features,) unless bias=False.
    """
    return x @ w["weight"].T + w["bias"] if "bias" in w else x @ w["weight"].T


def linear_backward(x, w, dy):
    """Backward of :func:`linear`, given dy = ∂loss/∂y (*, out_features) (chapter 11).

    Returns:
        dx (*, H_in), and the parameter gradients, summed over every leading index.
    """
    rows = x.reshape(-1, x.shape[-1])  # (·, H_in): every leading index is a row
    dy_rows = dy.reshape(-1, dy.shape[-1])  # (·, out_features)
    grads = {"weight": dy_rows.T @ rows}
    if "bias" in w:
        grads["bias"] = dy_rows.sum(axis=0)
    return dy @ w["weight"], grads


def affine_backward(x, h, w, da_ih, da_hh):
    """Gradients of ``x W_ih^T + b_ih`` and ``h W_hh^T + b_hh`` given theirs (chapter 9).

    Returns:
        dx (N, H_in), dh (N, H_out), and the parameter gradients by name.
    """
    grads = {"weight_ih": da_ih.T @ x, "weight_hh": da_hh.T @ h}  # summed over the batch
    if "bias_ih" in w:
        grads |= {"bias_ih": da_ih.sum(axis=0), "bias_hh": da_hh.sum(axis=0)}
    return da_ih @ w["weight_ih"], da_hh @ w["weight_hh"], grads


def rnn_cell_backward(x, h, w, dh, nonlinearity="tanh"):
    """Backward of :func:`rnn_cell`, given dh = ∂loss/∂h' (chapter 9).

    Returns:
        dx, dh_prev (the gradient of h) and the parameter gradients by name.
    """
    h_new = rnn_cell(x, h, w, nonlinearity)
    da = dh * (1 - h_new**2) if nonlinearity == "tanh" else dh * (h_new > 0)  # (N, H)
    return affine_backward(x, h, w, da, da)


def lstm_cell_backward(x, hx, w, dhx):
    """Backward of :func:`lstm_cell`, given dhx = (∂loss/∂h', ∂loss/∂c') (chapter 9).

    Returns:
        dx, (dh, dc) for the previous state, and the parameter gradients by name.
    """
    (h, c), (dh, dc) = hx, dhx
    i, f, g, o = np.split(affine(x, w, "ih") + affine(h, w, "hh"), 4, axis=-1)  # 4 x (N, H)
    i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
    tanh_c = np.tanh(f * c + i * g)
    dc = dc + dh * o * (1 - tanh_c**2)  # c' reaches the loss directly and through h'
    da = np.concatenate([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g**2),
                         dh * tanh_c * o * (1 - o)], axis=-1)  # (N, 4H), gates i, f, g, o
    dx, dh_prev, grads = affine_backward(x, h, w, da, da)
    return dx, (dh_prev, dc * f), grads


def gru_cell_backward(x, h, w, dh):
    """Backward of :func:`gru_cell`, given dh = ∂loss/∂h' (chapter 9).

    Returns:
        dx, dh_prev and the parameter gradients by name.
    """
    gi_r, gi_z, gi_n = np.split(affine(x, w, "ih"), 3, axis=-1)  # 3 x (N, H)
    gh_r, gh_z, gh_n = np.split(affine(h, w, "hh"), 3, axis=-1)
    r, z = sigmoid(gi_r + gh_r), sigmoid(gi_z + gh_z)
    n = np.tanh(gi_n + r * gh_n)
    dn = dh * (1 - z) * (1 - n**2)  # (N, H), of n's pre-activation
    dz = dh * (h - n) * z * (1 - z)
    dr = dn * gh_n * r * (1 - r)
    dx, dh_prev, grads = affine_backward(x, h, w, np.concatenate([dr, dz, dn], axis=-1),
                                         np.concatenate([dr, dz, dn * r], axis=-1))
    return dx, dh_prev + dh * z, grads  # h' = ... + z h: h also reaches h' directly


def lstmp_cell_backward(x, hx, w, dhx):
    """Backward of :func:`lstmp_cell`, given dhx = (∂loss/∂h', ∂loss/∂c') (chapter 9)."""
    m, _ = lstm_cell(x, hx, w)  # (N, H)
    dh, dc = dhx
    dx, dhx_prev, grads = lstm_cell_backward(x, hx, w, (dh @ w["weight_hr"], dc))
    grads["weight_hr"] = dh.T @ m
    return dx, dhx_prev, grads


BACKWARD = {rnn_cell: rnn_cell_backward, rnn_relu_cell: partial(rnn_cell_backward,
            nonlinearity="relu"), lstm_cell: lstm_cell_backward, gru_cell: gru_cell_backward,
            lstmp_cell: lstmp_cell_backward}


def layer_backward(cell, x, hx, w, dy, dhx):
    """Backpropagation through time for :func:`layer` (chapter 9).

    Args:
        cell, x, hx, w: as given to :func:`layer`.
        dy: (L, N, H_out) ∂loss/∂output.
        dhx: ∂loss/∂(final state), in the form of ``hx``.

    Returns:
        dx (L, N, H_in), the gradient of the initial state, and the parameter gradients.
    """
    states = [hx]  # the state each step starts from
    for x_t in x[:-1]:
        states.append(cell(x_t, states[-1], w))
    dx, grads = np.zeros_like(x), {name: np.zeros_like(value) for name, value in w.items()}
    for t in reversed(range(len(x))):
        dhx = (dhx[0] + dy[t], dhx[1]) if isinstance(dhx, tuple) else dhx + dy[t]  # h_t's two uses
        dx[t], dhx, step_grads = BACKWARD[cell](x[t], states[t], w, dhx)
        for name, grad in step_grads.items():
            grads[name] += grad
    return dx, dhx, grads


def masked_layer_backward(cell, x, hx, w, dy, dhx, lengths):
    """Backward of :func:`masked_layer`: each sequence alone, over its own steps (chapter 9).

    Args and returns as :func:`layer_backward`, with the ``lengths`` of the forward.
    """
    dx, dh0 = np.zeros_like(x), []
    grads = {name: np.zeros_like(value) for name, value in w.items()}
    for b, length in enumerate(lengths):
        row = slice(b, b + 1)  # sequence b, a batch of one
        dx[:length, row], dh0_b, grads_b = layer_backward(
            cell, x[:length, row], pick(hx, row), w, dy[:length, row], pick(dhx, row))
        dh0.append(dh0_b)
        for name, grad in grads_b.items():
            grads[name] += grad
    return dx, each(lambda *s: np.concatenate(s), *dh0), grads


def rnn_layer_backward(cell, x, hx, params, k, directions, lengths, dy, dhx):
    """Backward of :func:`rnn_layer`, given dy (L, N, D * H_out) and ∂loss/∂h_n (chapter 9).

    Returns:
        dx (L, N, ·), the layer's rows of the gradient of h_0, and its parameter gradients.
    """
    dx, dh0, grads = 0, [], {}
    for d, dy_d in enumerate(np.split(dy, directions, axis=-1)):
        i, order = k * directions + d, (lambda a: flip(a, lengths)) if d else (lambda a: a)
        end = f"_l{k}" + ("_reverse" if d else "")
        dx_d, dh0_d, grads_d = masked_layer_backward(
            cell, order(x), pick(hx, i), weights(params, k, reverse=d == 1), order(dy_d),
            pick(dhx, i), lengths)
        dx = dx + order(dx_d)  # both directions read x
        dh0.append(dh0_d)
        grads |= {name + end: grad for name, grad in grads_d.items()}
    return dx, dh0, grads


def rnn_backward(mode, x, hx, params, dy, dhx, num_layers=1, bidirectional=False, lengths=None,
                 dropout=0.0, rng=None):
    """Backward of :func:`rnn`: the gradients of x, of h_0 (and c_0) and of every parameter.

    Args:
        mode, x, hx, params, num_layers, bidirectional, lengths, dropout: as given to :func:`rnn`.
        dy: (L, N, D * H_out) ∂loss/∂output.
        dhx: ∂loss/∂h_n, in the form of ``hx``.
        rng: None, or a Generator in the state the forward's was in, to draw the same masks.

    Returns:
        dx (L, N, H_in), the gradient of ``hx`` in its form, and a dict by parameter name.
    """
    cell = lstmp_cell if "weight_hr_l0" in params else CELLS[mode]
    lengths = np.full(x.shape[1], len(x)) if lengths is None else np.asarray(lengths)
    replay, inputs = copy.deepcopy(rng), []  # replay draws the masks stack() draws from rng

    def run_layer(k, x):
        inputs.append(x)  # layer k's input, after dropout
        return rnn_layer(cell, x, hx, params, k, 1 + bidirectional, lengths)

    stack(run_layer, x, num_layers, dropout, rng)
    masks = [dropout_mask(dy.shape, dropout, replay) if dropout > 0 and replay is not None else 1
             for _ in range(num_layers - 1)]
    dh0, grads = [], {}
    for k in reversed(range(num_layers)):
        dy, dh0_k, grads_k = rnn_layer_backward(cell, inputs[k], hx, params, k,
                                                1 + bidirectional, lengths, dy, dhx)
        dy = dy * masks[k - 1] if k else dy  # through layer k's dropout
        dh0, grads = dh0_k + dh0, grads_k | grads
    return dy, each(lambda *s: np.stack(s), *dh0), {name: grads[name] for name in params}


# Chapter 13: embeddings.

def embedding(weight, indices):
    """Row ``indices`` of ``weight`` (V, E), as ``nn.Embedding``: indices (*) -> (*, E)."""
    return weight[indices]


def embedding_backward(weight_shape, indices, dy, padding_idx=None):
    """Backward of :func:`embedding`: each row's gradient is the sum of dy over the positions
    that read it; the ``padding_idx`` row gets none.

    Args:
        weight_shape: (V, E).
        indices: (*) integer indices, as given to the forward pass.
        dy: ∂loss/∂y (*, E).
        padding_idx: a row whose gradient stays zero, or None.
    """
    dw = np.zeros(weight_shape, dy.dtype)
    np.add.at(dw, indices.ravel(), dy.reshape(-1, weight_shape[1]))  # repeated indices add up
    if padding_idx is not None:
        dw[padding_idx] = 0
    return dw


# Chapter 13: one summary per sequence, pooled over its real steps only.

def real_steps(lengths, steps):
    """The padding mask 1[t < ℓ_b] as booleans (N, L): True at sequence b's real steps."""
    return np.arange(steps) < np.asarray(lengths)[:, None]


def masked_mean(output, lengths):
    """Mean of a padded ``output`` (N, L, D*H_out), batch first, over each sequence's real steps.

    Returns (N, D*H_out). Whatever the padded steps hold, and however many there are, they never
    enter (chapter 13).
    """
    mask = real_steps(lengths, output.shape[1])[..., None]  # (N, L, 1)
    return np.where(mask, output, 0).sum(axis=1) / np.asarray(lengths)[:, None]


def masked_mean_backward(dy, lengths, steps):
    """Backward of :func:`masked_mean`, given dy (N, D*H_out): each real step of sequence b gets
    dy[b] / ℓ_b, each padded step zero. Returns (N, L, D*H_out) with L = ``steps``."""
    mask = real_steps(lengths, steps)[..., None]  # (N, L, 1)
    return mask * dy[:, None] / np.asarray(lengths)[:, None, None]


def masked_max(output, lengths):
    """Feature by feature, the largest entry of a padded ``output`` (N, L, D*H_out), batch first,
    over each sequence's real steps: (N, D*H_out). Padding never wins (chapter 13)."""
    mask = real_steps(lengths, output.shape[1])[..., None]  # (N, L, 1)
    return np.where(mask, output, -np.inf).max(axis=1)


def masked_max_backward(output, lengths, dy):
    """Backward of :func:`masked_max`, given dy (N, D*H_out): each entry's gradient goes to the
    real step that held its maximum, shared equally between ties, as ``torch.amax`` does.
    Returns (N, L, D*H_out)."""
    mask = real_steps(lengths, output.shape[1])[..., None]  # (N, L, 1)
    winners = mask & (output == masked_max(output, lengths)[:, None])  # (N, L, D*H_out)
    return winners * dy[:, None] / winners.sum(axis=1, keepdims=True)


# Chapter 14: attention.

def attend(scores, value, mask=None):
    """Softmax of ``scores`` (N, L_q, L_k) over the keys, and the average of ``value`` it weighs.

    Args:
        scores: (N, L_q, L_k), one score per query and key.
        value: (N, L_k, H_v), what each key's position contributes.
        mask: None, or booleans broadcastable to (N, L_q, L_k): True where the key takes part,
            as torch's ``scaled_dot_product_attention`` reads a boolean ``attn_mask``.

    Returns:
        context (N, L_q, H_v) and weights (N, L_q, L_k). A masked-out key gets weight 0; a query
        with no key at all gets zero weights and a zero context, as torch returns (chapter 14).
    """
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)  # exp(-inf) = 0
    top = scores.max(axis=-1, keepdims=True)  # subtracted against overflow; -inf: no key
    weights = np.exp(scores - np.where(np.isneginf(top), 0, top))
    total = weights.sum(axis=-1, keepdims=True)
    weights = weights / np.where(total > 0, total, 1)  # rows sum to 1, or stay 0
    return weights @ value, weights


def attend_backward(weights, value, dcontext):
    """Backward of :func:`attend`, given dcontext (N, L_q, H_v) = ∂loss/∂context (chapter 14).

    Returns:
        dscores (N, L_q, L_k) and dvalue (N, L_k, H_v). The softmax's Jacobian gives
        dscore = w ⊙ (dw - Σ_k w dw) along each row: zero where a key had weight 0.
    """
    dweights = dcontext @ value.swapaxes(-1, -2)  # (N, L_q, L_k)
    dscores = weights * (dweights - (weights * dweights).sum(axis=-1, keepdims=True))
    return dscores, weights.swapaxes(-1, -2) @ dcontext


def dot_attention(query, key, value, mask=None, scale=1.0):
    """Luong's dot attention: query t scores key s by ``scale * query[t] · key[s]`` (chapter 14).

    Args:
        query: (N, L_q, H_k). key: (N, L_k, H_k). value: (N, L_k, H_v). mask: as in :func:`attend`.
        scale: 1 in Luong's; 1/sqrt(H_k) is torch's ``scaled_dot_product_attention`` default.

    Returns:
        context (N, L_q, H_v) and weights (N, L_q, L_k).
    """
    return attend(scale * query @ key.swapaxes(-1, -2), value, mask)


def dot_attention_backward(query, key, value, mask, dcontext, scale=1.0):
    """Backward of :func:`dot_attention`: (dquery, dkey, dvalue), given dcontext (chapter 14)."""
    _, weights = dot_attention(query, key, value, mask, scale)
    dscores, dvalue = attend_backward(weights, value, dcontext)
    return scale * dscores @ key, scale * dscores.swapaxes(-1, -2) @ query, dvalue


def additive_scores(query, key, w):
    """Bahdanau's score ``tanh(query W_query^T + key W_key^T) w_score^T``, every query and key.

    Args:
        query: (N, L_q, H_q). key: (N, L_k, H_k).
        w: ``q_proj_weight`` (H_att, H_q), ``k_proj_weight`` (H_att, H_k), ``score_weight``
            (1, H_att), as :class:`rnnlib.AdditiveAttention` names them.

    Returns:
        scores (N, L_q, L_k), and the hidden layer (N, L_q, L_k, H_att) (chapter 14).
    """
    hidden = np.tanh((query @ w["q_proj_weight"].T)[:, :, None]  # (N, L_q, 1, H_att)
                     + (key @ w["k_proj_weight"].T)[:, None])  # (N, 1, L_k, H_att)
    return hidden @ w["score_weight"][0], hidden


def additive_attention(query, key, value, w, mask=None):
    """Bahdanau's additive attention: context (N, L_q, H_v) and weights (N, L_q, L_k).

    Args as :func:`additive_scores`, with value (N, L_k, H_v) and a mask as in :func:`attend`
    (chapter 14).
    """
    return attend(additive_scores(query, key, w)[0], value, mask)


def additive_attention_backward(query, key, value, w, mask, dcontext):
    """Backward of :func:`additive_attention`, given dcontext (N, L_q, H_v) (chapter 14).

    Returns:
        dquery, dkey, dvalue and the parameter gradients by name.
    """
    scores, hidden = additive_scores(query, key, w)
    dscores, dvalue = attend_backward(attend(scores, value, mask)[1], value, dcontext)
    da = dscores[..., None] * w["score_weight"][0] * (1 - hidden**2)  # (N, L_q, L_k, H_att)
    da_query, da_key = da.sum(axis=2), da.sum(axis=1)  # each query's and each key's share
    grads = {"q_proj_weight": np.einsum("nqa,nqh->ah", da_query, query),
             "k_proj_weight": np.einsum("nka,nkh->ah", da_key, key),
             "score_weight": np.einsum("nqk,nqka->a", dscores, hidden)[None]}
    return da_query @ w["q_proj_weight"], da_key @ w["k_proj_weight"], dvalue, grads


# Chapter 16: regularisation.

def locked_dropout(x, mask, time_axis=0):
    """``x`` times the same dropout mask at every step: variational (locked) dropout (chapter 16).

    Args:
        x: (L, N, H) a sequence (time_axis=1: (N, L, H)).
        mask: (N, H), drawn once by :func:`dropout_mask`, where ``nn.Dropout`` draws (L, N, H).
    """
    return x * np.expand_dims(mask, time_axis)  # the mask repeated along the time axis


def variational_lstm_cell(x, hx, w, mask):
    """:func:`lstm_cell` with h dropped where it enters ``weight_hh``, by mask (N, H) (chapter 16).

    The same mask at every step drops the same units of the state all along the sequence. Only
    the product h W_hh^T sees it: c, and the h this step returns, are not dropped.
    """
    h, c = hx
    return lstm_cell(x, (h * mask, c), w)


def variational_lstm_cell_backward(x, hx, w, dhx, mask):
    """Backward of :func:`variational_lstm_cell`, given dhx = (∂loss/∂h', ∂loss/∂c')."""
    h, c = hx
    dx, (dh, dc), grads = lstm_cell_backward(x, (h * mask, c), w, dhx)
    return dx, (dh * mask, dc), grads


def zoneout_lstm_cell(x, hx, w, keep):
    """:func:`lstm_cell` in which some units keep their previous value: zoneout (chapter 16).

    Args:
        keep: (κ_h, κ_c), each (N, H): in training 1 with probability ζ_h (ζ_c), else 0, drawn
            anew at every step; in evaluation the constants ζ_h and ζ_c, the masks' means.
    """
    (h, c), (keep_h, keep_c) = hx, keep
    new_h, new_c = lstm_cell(x, hx, w)  # h'_t, c'_t
    return keep_h * h + (1 - keep_h) * new_h, keep_c * c + (1 - keep_c) * new_c


def zoneout_lstm_cell_backward(x, hx, w, dhx, keep):
    """Backward of :func:`zoneout_lstm_cell`: a kept unit passes its gradient straight back."""
    (keep_h, keep_c), (dh, dc) = keep, dhx
    dx, (dh_prev, dc_prev), grads = lstm_cell_backward(
        x, hx, w, ((1 - keep_h) * dh, (1 - keep_c) * dc))
    return dx, (dh_prev + keep_h * dh, dc_prev + keep_c * dc), grads


MASKED_BACKWARD = {variational_lstm_cell: variational_lstm_cell_backward,
                   zoneout_lstm_cell: zoneout_lstm_cell_backward}


def masked_layer_steps(cell, x, hx, w, masks):
    """:func:`layer` for an LSTM cell that takes ``masks[t]`` at step t (chapter 16).

    ``[mask] * L`` gives every step the same mask (variational dropout); a list of L masks
    gives each step its own (zoneout).

    Returns:
        output (L, N, H) and the final (h, c).
    """
    outputs = []
    for x_t, mask_t in zip(x, masks, strict=True):
        hx = cell(x_t, hx, w, mask_t)
        outputs.append(hx[0])  # (N, H)
    return np.stack(outputs), hx


def masked_layer_steps_backward(cell, x, hx, w, masks, dy, dhx):
    """Backpropagation through time for :func:`masked_layer_steps` (chapter 16).

    As :func:`layer_backward`, with ``masks[t]`` given to step t's backward.
    """
    states = [hx]  # the state each step starts from
    for x_t, mask_t in zip(x[:-1], masks, strict=False):
        states.append(cell(x_t, states[-1], w, mask_t))
    dx, grads = np.zeros_like(x), {name: np.zeros_like(value) for name, value in w.items()}
    for t in reversed(range(len(x))):
        dhx = (dhx[0] + dy[t], dhx[1])  # h_t feeds the output and the next step
        dx[t], dhx, step_grads = MASKED_BACKWARD[cell](x[t], states[t], w, dhx, masks[t])
        for name, grad in step_grads.items():
            grads[name] += grad
    return dx, dhx, grads


def weight_drop(w, name, mask):
    """``w`` with ``w[name]`` times a dropout mask of its shape: DropConnect (chapter 16).

    AWD-LSTM drops ``weight_hh`` so: one mask per call, shared by every step and sequence.
    The raw weight's gradient is the dropped weight's times the same mask.
    """
    return w | {name: w[name] * mask}


def embedding_dropout(weight, indices, mask):
    """:func:`embedding` of ``weight`` (V, E) with whole rows dropped by mask (V, 1) (chapter 16).

    A dropped token reads zeros at every position of the batch. Backward:
    ``embedding_backward(...) * mask``.
    """
    return embedding(weight * mask, indices)


# Chapter 15: forecasting.

def forecast_windows(series, length, horizon):
    """Every window of ``length`` values of a series, and the ``horizon`` values after it
    (chapter 15).

    Args:
        series: the values, one per step, 1-D.
        length: L, the values each window reads.
        horizon: S, the values after a window that are its targets.

    Returns:
        inputs (R, L) and targets (R, S): row i is ``series[i : i + L]`` and the S values after
        it, for each of the R = len(series) - L - S + 1 starts at which both fit.
    """
    if not all(isinstance(n, (int, np.integer)) for n in (length, horizon)):
        raise TypeError(f"forecast_windows: Expected length and horizon as ints (numbers of "
                        f"values), got {length!r} and {horizon!r}")
    series = np.asarray(series)
    if series.ndim != 1 or min(length, horizon) < 1 or len(series) < length + horizon:
        raise ValueError(f"forecast_windows: Expected a 1-D series of at least length + horizon "
                         f"values (length, horizon >= 1) to cut one window, got a series of "
                         f"shape {series.shape}, length={length}, horizon={horizon}")
    start = np.arange(len(series) - length - horizon + 1)[:, None]  # (R, 1)
    return series[start + np.arange(length)], series[start + length + np.arange(horizon)]


def recursive_forecast(step, x, steps):
    """Forecast ``steps`` values ahead with a one-step model, reading each forecast as the newest
    value of the window it forecasts from next (chapter 15).

    Args:
        step: the one-step model: windows (N, L) -> the next value after each, (N,).
        x: (N, L) the last L values before the forecast origin, oldest first.
        steps: S, how many values ahead to forecast.

    Returns:
        (N, S): column j is the forecast j + 1 steps ahead.
    """
    x = np.asarray(x)
    if x.ndim != 2 or steps < 1:
        raise ValueError(f"recursive_forecast: Expected windows x of shape (N, L) and steps >= 1, "
                         f"got x of shape {x.shape} and steps={steps}")
    forecasts = []
    for _ in range(steps):
        forecasts.append(np.asarray(step(x)))
        if forecasts[-1].shape != (len(x),):
            raise ValueError(f"recursive_forecast: Expected step to return one value per window, "
                             f"shape ({len(x)},), got shape {forecasts[-1].shape}")
        x = np.concatenate([x[:, 1:], forecasts[-1][:, None]], axis=1)  # drop the oldest value
    return np.stack(forecasts, axis=1)  # (N, S)
