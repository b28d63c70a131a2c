"""Multi-layer, optionally bidirectional recurrent modules RNN, LSTM and GRU, mirroring torch.nn."""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import recurrence
from .checks import as_array, check_shape, flag, positive_int, probability, read_state
from .concurrency import Pipe, Stage, at_once, chunk_steps, each_direction, wavefront_allowed
from .kernels import KERNELS
from .layout import read_input
from .module import Module
from .packing import PackedSequence
from .parameters import select, stack_shapes, suffix
from .workspace import Workspace


class RNNBase(Module):
    """What :class:`~rnnlib.RNN`, :class:`~rnnlib.LSTM` and :class:`~rnnlib.GRU` share: a stack
    of ``num_layers`` recurrent layers, each in one or two directions.

    Layer k > 0 reads the concatenated outputs of layer k - 1 (forward direction first), passed
    through dropout in training mode. ``h_n`` stacks each layer's final states layer-major and
    direction-minor: row ``k * D + d`` is layer k, direction d (0 forward, 1 reverse).
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, *, dtype=np.float32, seed=None):
        self.mode = mode
        self.input_size = positive_int(input_size, "input_size")
        self.hidden_size = positive_int(hidden_size, "hidden_size")
        self.num_layers = positive_int(num_layers, "num_layers")
        self.bias = flag(bias, "bias")
        self.batch_first = flag(batch_first, "batch_first")
        self.dropout = probability(dropout, "dropout")
        self.bidirectional = flag(bidirectional, "bidirectional")
        self.proj_size = positive_int(proj_size, "proj_size", minimum=0)
        if self.proj_size and mode != "LSTM":
            raise ValueError(f"proj_size is only supported for LSTM, not {type(self).__name__}; "
                             f"got proj_size={proj_size}, expected 0")
        if self.proj_size >= self.hidden_size:
            raise ValueError(f"proj_size has to be smaller than hidden_size, got proj_size="
                             f"{proj_size} and hidden_size={hidden_size}")
        if self.dropout and self.num_layers == 1:
            warnings.warn("dropout adds dropout after all but the last recurrent layer, so a "
                          f"non-zero dropout expects num_layers > 1, got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=3)
        self.cell = KERNELS[mode]
        # the forward's buffers, reused by the next forward, per layer and direction (layers and
        # directions may run at once); the backward's scratch, per direction, reused by each layer
        self._tape_buffers = {}  # (layer, direction): Workspace
        self._grad_buffers = (Workspace(), Workspace())
        super().__init__(stack_shapes(self.cell.gates, self.input_size, self.hidden_size,
                                      self.num_layers, self.bias, self.bidirectional,
                                      self.proj_size), self.hidden_size, dtype, seed)

    @property
    def num_directions(self):
        """D: 2 when bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def _state_names(self):
        return ("h_0", "c_0") if self.mode == "LSTM" else ("h_0",)

    def _state_shapes(self, layout):
        """Shapes of h (and c) in the caller's form: (num_layers*D, N, H_out) and (..., H)."""
        count = self.num_layers * self.num_directions
        sizes = (self.proj_size or self.hidden_size, self.hidden_size)
        return [layout.state_shape(count, size) for size in sizes[: len(self._state_names)]]

    def _state_axes(self, layout):
        """What each dimension of h (and c) counts, to explain a refused state's shape."""
        rows = ("rows", "num_layers * num_directions")
        h_features = ("features", "proj_size") if self.proj_size else ("features", "hidden_size")
        batch = () if layout.unbatched else (None,)  # the batch axis is explained by the input's
        return [(rows, *batch, features)
                for features in (h_features, ("features", "hidden_size"))[: len(self._state_names)]]

    def _pack_state(self, states):
        """(h,) or (h, c) as the caller receives it: h alone, or the tuple (h, c)."""
        return states if self.mode == "LSTM" else states[0]

    def forward(
        self,
        input: ArrayLike | PackedSequence,
        hx: ArrayLike | tuple[ArrayLike, ArrayLike] | None = None,
    ) -> tuple[np.ndarray | PackedSequence, np.ndarray | tuple[np.ndarray, np.ndarray]]:
        """Run the stack over a sequence, as torch's ``forward(input, hx=None)``.

        Args:
            input: the sequence, padded or packed.
            hx: ``h_0``, or for the LSTM the tuple ``(h_0, c_0)``. Default: None (zeros)

        Returns:
            ``output, h_n``, or for the LSTM ``output, (h_n, c_n)``; the class's docstring gives
            every shape.
        """
        who = type(self).__name__
        rows, layout = read_input(input, self.dtype, self.input_size, self.batch_first, who)
        states = read_state(hx, self._state_shapes(layout), self.dtype, self._state_names, who,
                            form=layout.form, axes=self._state_axes(layout))
        h0, c0 = ([layout.sort_state(s) for s in states] + [None])[:2]  # c0 is None but for LSTM
        self._tape = None  # its buffers are about to be reused
        for buffers in self._tape_buffers.values():
            buffers.restart()
        between = (rows.shape[0], self.num_directions * (self.proj_size or self.hidden_size))
        masks = [self._dropout_mask(between) if layer and self.training and self.dropout
                 else None for layer in range(self.num_layers)]  # drawn first, in layer order

        def run(layer, direction, rows, stage=None):
            k = layer * self.num_directions + direction
            buffers = self._tape_buffers.setdefault((layer, direction), Workspace())
            return recurrence.forward(
                self.cell, rows, layout.batch_sizes, h0[k], None if c0 is None else c0[k],
                select(self._params, suffix(layer, direction)), reverse=direction == 1,
                empty=buffers.empty, stage=stage)

        if self._wavefront(layout):
            results = self._forward_wavefront(run, rows, masks,
                                              chunk_steps(len(layout.batch_sizes)))
        else:
            results = []
            for layer, mask in enumerate(masks):
                if layer:  # (T, D*H_out), forward first
                    rows = np.concatenate([y for y, *_ in results[-1]], axis=1)
                layer_rows = rows if mask is None else rows * mask
                results.append(each_direction(partial(run, layer, rows=layer_rows),
                                              self.num_directions, self._step_work(layout)))
        # a copy, as the caller may keep it (the RNN's y is a buffer the next call reuses)
        rows = np.concatenate([y for y, *_ in results[-1]], axis=1)
        self._tape = (layout, [(mask, [tape for *_, tape in layer_results])
                               for mask, layer_results in zip(masks, results, strict=True)])
        final = [layout.unsort_state(np.stack(s))  # (num_layers*D, N, ·) each
                 for s in zip(*[(h_n, c_n) for layer_results in results
                                for _, h_n, c_n, _ in layer_results], strict=True)
                 if s[0] is not None]
        return layout.from_rows(rows), self._pack_state(tuple(final))

    def _step_work(self, layout):
        """Multiply-adds of a full step's recurrent product, N x H_out x G*H."""
        return int(layout.batch_sizes[0]) * self._params["weight_hh_l0"].size

    def _wavefront(self, layout):
        """Whether this call runs its layers as a wavefront (:mod:`rnnlib.concurrency`)."""
        return wavefront_allowed(self.num_layers, self.bidirectional, self._step_work(layout))

    def _forward_wavefront(self, run, rows, masks, chunk):
        """Every layer at once, each a chunk of steps behind the one below it; per layer, the
        list ``[(y, h_n, c_n, tape)]`` of its one direction. If a layer fails, the layers that
        wait for it stop waiting."""
        pipes = [Pipe() for _ in masks[1:]]  # pipes[k - 1]: layer k - 1's y, read by layer k
        width = self.proj_size or self.hidden_size

        def masked(pipe, mask):  # rows of the layer below, times the dropout mask, as they come
            scaled, done = np.empty((rows.shape[0], width), self.dtype), [0]

            def take(edge):
                new = slice(done[0], edge)
                np.multiply(pipe.take(edge)[new], mask[new], out=scaled[new])
                done[0] = edge
                return scaled

            return take

        def stage(layer):
            take = ((lambda edge: rows) if layer == 0 else pipes[layer - 1].take
                    if masks[layer] is None else masked(pipes[layer - 1], masks[layer]))
            give = pipes[layer].give if layer < len(pipes) else (lambda y, edge: None)
            try:
                return [run(layer, 0, None, Stage(take, give, chunk))]
            except BaseException:
                for pipe in pipes:
                    pipe.break_()
                raise

        return at_once([partial(stage, layer) for layer in range(self.num_layers)])

    def _dropout_mask(self, shape):
        """Zero each element with probability ``dropout``, scaling the rest by 1 / (1 - dropout)."""
        if self.dropout == 1:
            return np.zeros(shape, self.dtype)
        keep = self.generator.random(shape) >= self.dropout
        return keep.astype(self.dtype) / self.dtype.type(1 - self.dropout)

    def backward(
        self,
        grad_output: ArrayLike | PackedSequence | None = None,
        grad_hx: ArrayLike | tuple[ArrayLike | None, ArrayLike | None] | None = None,
    ) -> tuple[np.ndarray | PackedSequence, np.ndarray | tuple[np.ndarray, np.ndarray]]:
        """Backpropagate through time from the most recent forward call.

        Args:
            grad_output: gradient of ``output``, in the form of ``output`` (for packed input, a
                PackedSequence or its ``data``). Default: None (zeros)
            grad_hx: gradient of ``h_n`` (for the LSTM, of the tuple ``(h_n, c_n)``, where
                either entry may be None). Default: None (zeros)

        Returns:
            ``grad_input, grad_h0``, or for the LSTM ``grad_input, (grad_h0, grad_c0)``, shaped
            like the forward's input and state. Parameter gradients are added to ``grads``.
        """
        layout, layers = self._recorded()
        who = f"{type(self).__name__}.backward"
        width = self.num_directions * (self.proj_size or self.hidden_size)
        grad_rows = self._grad_rows(grad_output, layout, width, who)
        names = tuple(f"grad_{name[0]}_n" for name in self._state_names)
        states = read_state(grad_hx, self._state_shapes(layout), self.dtype, names, who,
                            optional_entries=True)
        dh, dc = ([layout.sort_state(s) for s in states] + [None])[:2]
        self._consume()
        dh0, dc0 = np.empty_like(dh), None if dc is None else np.empty_like(dc)
        size = grad_rows.shape[1] // self.num_directions
        for layer in reversed(range(self.num_layers)):
            mask, tapes = layers[layer]

            def run(direction, layer=layer, tapes=tapes, grad_rows=grad_rows):
                k = layer * self.num_directions + direction
                buffers = self._grad_buffers[direction]
                buffers.restart()  # this direction's previous layer's are consumed
                return recurrence.backward(
                    self.cell, tapes[direction], select(self._params, suffix(layer, direction)),
                    grad_rows[:, direction * size:(direction + 1) * size], dh[k],
                    None if dc is None else dc[k], empty=buffers.empty)

            grad_in = 0
            for direction, (dx, dh0_k, dc0_k, grads) in enumerate(
                    each_direction(run, self.num_directions, self._step_work(layout))):
                k = layer * self.num_directions + direction
                dh0[k] = dh0_k
                if dc0 is not None:  # an LSTM's
                    dc0[k] = dc0_k
                self._accumulate(grads, suffix(layer, direction))
                grad_in = grad_in + dx
            grad_rows = grad_in if mask is None else grad_in * mask
        grad_state = tuple(layout.unsort_state(s) for s in (dh0, dc0) if s is not None)
        return layout.from_rows(grad_rows), self._pack_state(grad_state)

    def _grad_rows(self, grad_output, layout, width, who):
        """The output gradient as packed rows (T, D*H_out), checked against the output's shape."""
        if grad_output is None:
            return np.zeros((int(layout.batch_sizes.sum()), width), self.dtype)
        if isinstance(grad_output, PackedSequence):
            grad_output = grad_output.data
        grad_output = as_array(grad_output, self.dtype, "grad_output")
        check_shape(grad_output, layout.shape(width), f"grad_output in {who}")
        return layout.to_rows(grad_output)

    def extra_repr(self) -> str:
        """The constructor arguments that differ from their defaults, as torch prints them."""
        text = f"{self.input_size}, {self.hidden_size}"
        defaults = [("proj_size", 0), ("num_layers", 1), ("bias", True), ("batch_first", False),
                    ("dropout", 0.0), ("bidirectional", False)]
        for name, default in defaults:
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text


_SHAPES = """
    Inputs: input, {state}
        * **input**: (L, N, H_in), or (N, L, H_in) with ``batch_first=True``, or unbatched
          (L, H_in), or a :class:`~rnnlib.PackedSequence` of (T, H_in) rows.
{state_doc}

    Outputs: output, {final}
        * **output**: (L, N, D * H_out) (or (N, L, D * H_out) with ``batch_first``, or
          (L, D * H_out) unbatched): the top layer's h_t for every t, forward direction first;
          a PackedSequence for packed input.
{final_doc}

    where N is the batch size, L the sequence length, D = 2 if bidirectional else 1,
    H_in = input_size, H = hidden_size and H_out = proj_size if proj_size > 0 else hidden_size.
"""

_H_DOC = """        * **h_0**: (num_layers * D, N, H_out), or (num_layers * D, H_out) unbatched;
          zeros when omitted. For packed input, in the caller's batch order."""
_HN_DOC = """        * **h_n**: (num_layers * D, N, H_out): each layer-direction's final state, row
          k * D + d for layer k, direction d. In reverse, the final state is the one at t = 0."""
_C_DOC = """        * **c_0**: (num_layers * D, N, H), the initial cell states, laid out as h_0."""
_CN_DOC = """        * **c_n**: (num_layers * D, N, H), the final cell states, laid out as h_n."""

_ARGS = """        bias: if False, the layers have no ``bias_ih_l[k]`` and ``bias_hh_l[k]``.
            Default: True
        batch_first: if True, the input and output are (N, L, ...) instead of (L, N, ...);
            the states are not affected. Default: False
        dropout: in training mode, zero each output of every layer but the last with this
            probability (and scale the rest by 1 / (1 - dropout)). Default: 0.0
        bidirectional: if True, each layer runs in both directions. Default: False"""
_TYPE_ARGS = """        dtype: the parameters' dtype, float32 or float64. Default: float32
        seed: seeds the initialisation and the dropout masks. Default: None (fresh entropy)"""


class RNN(RNNBase):
    r"""Multi-layer Elman RNN, as ``torch.nn.RNN``.

    .. math::
        h_t = \tanh(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh})

    with ReLU instead of tanh when ``nonlinearity='relu'``.

    Args:
        input_size: H_in, the number of features of each step's input.
        hidden_size: H, the number of features of the state h.
        num_layers: the number of stacked layers. Default: 1
        nonlinearity: ``'tanh'`` or ``'relu'``. Default: ``'tanh'``
{args}
        proj_size: must be 0: torch's RNN accepts it only to refuse any other value, since
            projections belong to the LSTM. Default: 0
{type_args}

    Attributes:
        weight_ih_l[k]: (H, H_in) for k = 0, else (H, D * H).
        weight_hh_l[k]: (H, H).
        bias_ih_l[k]: (H,).
        bias_hh_l[k]: (H,).

    Every parameter is drawn from U(-1/sqrt(H), 1/sqrt(H)); the reverse direction's carry the
    suffix ``_reverse``.
    {shapes}
    Example:
        >>> rnn = RNN(5, 7)
        >>> out, h_n = rnn(np.zeros((3, 2, 5), np.float32))
        >>> out.shape, h_n.shape
        ((3, 2, 7), (1, 2, 7))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0, *,
                 dtype: DTypeLike = np.float32, seed: int | None = None):
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if nonlinearity not in modes:
            raise ValueError(f"Unknown nonlinearity {nonlinearity!r}, expected 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__(modes[nonlinearity], input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, proj_size, dtype=dtype, seed=seed)


class LSTM(RNNBase):
    r"""Multi-layer long short-term memory, as ``torch.nn.LSTM``.

    .. math::
        \begin{array}{ll}
        i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
        f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t = f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t = o_t \odot \tanh(c_t)
        \end{array}

    and, when ``proj_size > 0``, :math:`h_t = (o_t \odot \tanh(c_t)) W_{\mathrm{proj}}^T`, with
    :math:`W_{\mathrm{proj}}` the parameter ``weight_hr_l[k]`` (torch's documentation writes
    :math:`W_{hr}`).

    Args:
        input_size: H_in, the number of features of each step's input.
        hidden_size: H, the number of features of the cell state c.
        num_layers: the number of stacked layers. Default: 1
{args}
        proj_size: if > 0, each layer projects its h_t to this size H_out (< H). Default: 0
{type_args}

    Attributes:
        weight_ih_l[k]: (4H, H_in) for k = 0, else (4H, D * H_out), stacked as
            W_ii|W_if|W_ig|W_io.
        weight_hh_l[k]: (4H, H_out), stacked as W_hi|W_hf|W_hg|W_ho.
        bias_ih_l[k]: (4H,).
        bias_hh_l[k]: (4H,).
        weight_hr_l[k]: (H_out, H), only when ``proj_size > 0``.

    Every parameter is drawn from U(-1/sqrt(H), 1/sqrt(H)); the reverse direction's carry the
    suffix ``_reverse``.
    {shapes}
    Example:
        >>> lstm = LSTM(10, 20, 2)
        >>> out, (h_n, c_n) = lstm(np.zeros((5, 3, 10), np.float32))
        >>> out.shape, h_n.shape, c_n.shape
        ((5, 3, 20), (2, 3, 20), (2, 3, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, *, dtype: DTypeLike = np.float32, seed: int | None = None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, dtype=dtype, seed=seed)


class GRU(RNNBase):
    r"""Multi-layer gated recurrent unit, as ``torch.nn.GRU``.

    .. math::
        \begin{array}{ll}
        r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{array}

    The reset gate multiplies :math:`W_{hn} h_{t-1} + b_{hn}`, after the matrix product, as
    torch, cuDNN and arXiv v1 of Cho et al. do; their v3 (the EMNLP paper) multiplies
    :math:`h_{t-1}` before it.

    Args:
        input_size: H_in, the number of features of each step's input.
        hidden_size: H, the number of features of the state h.
        num_layers: the number of stacked layers. Default: 1
{args}
        proj_size: must be 0, as for :class:`RNN`. Default: 0
{type_args}

    Attributes:
        weight_ih_l[k]: (3H, H_in) for k = 0, else (3H, D * H), stacked as W_ir|W_iz|W_in.
        weight_hh_l[k]: (3H, H), stacked as W_hr|W_hz|W_hn.
        bias_ih_l[k]: (3H,).
        bias_hh_l[k]: (3H,).

    Every parameter is drawn from U(-1/sqrt(H), 1/sqrt(H)); the reverse direction's carry the
    suffix ``_reverse``.
    {shapes}
    Example:
        >>> gru = GRU(1, 2, num_layers=2, bidirectional=True)
        >>> out, h_n = gru(np.zeros((2, 1, 1), np.float32))
        >>> out.shape, h_n.shape
        ((2, 1, 4), (4, 1, 2))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, *, dtype: DTypeLike = np.float32, seed: int | None = None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, dtype=dtype, seed=seed)


def _document(cls, state, state_doc, final, final_doc):
    """Fill the placeholders the three docstrings share."""
    for placeholder, text in [("{args}", _ARGS), ("{type_args}", _TYPE_ARGS),
                              ("{shapes}", _SHAPES.format(state=state, state_doc=state_doc,
                                                         final=final, final_doc=final_doc))]:
        cls.__doc__ = cls.__doc__.replace(placeholder, text)


_document(RNN, "h_0", _H_DOC, "h_n", _HN_DOC)
_document(GRU, "h_0", _H_DOC, "h_n", _HN_DOC)
_document(LSTM, "(h_0, c_0)", _H_DOC + "\n" + _C_DOC, "(h_n, c_n)", _HN_DOC + "\n" + _CN_DOC)
