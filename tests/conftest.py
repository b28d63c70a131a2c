"""Shared helpers for the forward-pass conformance tests: rnnlib against torch.nn.

Every comparison builds a torch module and its rnnlib twin from the *same* parameters: each
parameter is drawn from a seeded NumPy generator, U(-0.5, 0.5) (so biases are non-zero and the
test does not depend on torch's initialisation), loaded into torch, and torch's state_dict is then
loaded into rnnlib, so both hold bit-identical values in the module dtype.
"""

import os
import re
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from torch.nn.utils import rnn as torch_rnn_utils

import rnnlib
from rnnlib import testing

# --------------------------------------------------------------------------- hypothesis profiles
# `ci` (the default): deterministic, so a run is reproducible and never flaky; modest example counts
# keep the whole forward suite within a few minutes on 2 cores. `dev`: more, random examples.
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=300,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# --------------------------------------------------------------------------- dtypes and tolerances
DTYPES = (np.float64, np.float32)
TORCH_DTYPE = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}
# (rtol, atol) for rnnlib vs torch with identical parameters and inputs: the book's tolerances.
TOLERANCE = {np.dtype(np.float64): tuple(testing.FLOAT64),
             np.dtype(np.float32): tuple(testing.FLOAT32)}
# rtol and atol for rnnlib's hand-written gradients against torch autograd, float64.
BACKWARD_TOL = testing.GRADIENT.atol
assert testing.GRADIENT.rtol == BACKWARD_TOL

# --------------------------------------------------------------------------- module kinds
# kind -> (torch class, rnnlib class, extra constructor kwargs)
MODULE_KINDS = {
    "rnn_tanh": (torch.nn.RNN, rnnlib.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (torch.nn.RNN, rnnlib.RNN, {"nonlinearity": "relu"}),
    "lstm": (torch.nn.LSTM, rnnlib.LSTM, {}),
    "gru": (torch.nn.GRU, rnnlib.GRU, {}),
}
CELL_KINDS = {
    "rnn_tanh": (torch.nn.RNNCell, rnnlib.RNNCell, {"nonlinearity": "tanh"}),
    "rnn_relu": (torch.nn.RNNCell, rnnlib.RNNCell, {"nonlinearity": "relu"}),
    "lstm": (torch.nn.LSTMCell, rnnlib.LSTMCell, {}),
    "gru": (torch.nn.GRUCell, rnnlib.GRUCell, {}),
}


def is_lstm(kind):
    return kind == "lstm"


# --------------------------------------------------------------------------- configurations
# The option space the module tests draw from. "lstm_proj" is an LSTM with proj_size > 0.
KINDS = ("rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "gru")
FORMS = ("unbatched", "batched", "packed_sorted", "packed_unsorted")


@dataclass
class Config:
    """One module configuration and one input form, as drawn by :func:`configs`."""

    kind: str  # a MODULE_KINDS key
    input_size: int
    hidden_size: int
    proj_size: int
    num_layers: int
    bias: bool
    batch_first: bool
    bidirectional: bool
    form: str  # one of FORMS
    seq_len: int  # L, the padded length
    batch: int  # N
    lengths: list  # per-sequence lengths for the packed forms, else []
    with_state: bool  # pass a random initial state, or leave it to default to zeros
    seed: int
    dtype: type = np.float64
    dropout: float = 0.0

    @property
    def module_kwargs(self):
        kwargs = dict(num_layers=self.num_layers, bias=self.bias, batch_first=self.batch_first,
                      bidirectional=self.bidirectional, dropout=self.dropout)
        if self.proj_size:
            kwargs["proj_size"] = self.proj_size
        return kwargs

    @property
    def directions(self):
        return 2 if self.bidirectional else 1

    @property
    def state_lead(self):
        """The leading dimension of h_0 and h_n: num_layers * D."""
        return self.num_layers * self.directions

    @property
    def h_out(self):
        return self.proj_size or self.hidden_size

    @property
    def packed(self):
        return self.form.startswith("packed")

    @property
    def state_batch(self):
        """The state's batch dimension, None when unbatched."""
        return None if self.form == "unbatched" else self.batch


@st.composite
def configs(draw, kinds=KINDS, forms=FORMS, dtypes=DTYPES):
    """Random configurations: sizes H_in, H and L in 1..5, N in 1..4, 1-3 layers, every flag.

    ``packed_sorted`` lengths are non-increasing; ``packed_unsorted`` lengths are genuinely out
    of order (the first sequence is shorter than a later one), so there is something to sort.
    dropout is 0 or 0.3 with more than one layer (it only acts in training mode).
    """
    kind = draw(st.sampled_from(kinds))
    proj_size = 0
    if kind == "lstm_proj":
        kind = "lstm"
        hidden_size = draw(st.integers(2, 5))
        proj_size = draw(st.integers(1, hidden_size - 1))
    else:
        hidden_size = draw(st.integers(1, 5))
    num_layers = draw(st.integers(1, 3))
    form = draw(st.sampled_from(forms))
    unsorted = form == "packed_unsorted"
    seq_len = draw(st.integers(2 if unsorted else 1, 5))
    batch = draw(st.integers(2 if unsorted else 1, 4))
    lengths = []
    if form == "packed_sorted":
        lengths = sorted(draw(st.lists(st.integers(1, seq_len), min_size=batch, max_size=batch)),
                         reverse=True)
        lengths[0] = seq_len
    elif unsorted:
        lengths = draw(st.lists(st.integers(1, seq_len), min_size=batch, max_size=batch))
        lengths[0] = draw(st.integers(1, seq_len - 1))
        lengths[draw(st.integers(1, batch - 1))] = seq_len
    return Config(
        kind=kind, input_size=draw(st.integers(1, 5)), hidden_size=hidden_size,
        proj_size=proj_size, num_layers=num_layers, bias=draw(st.booleans()),
        batch_first=draw(st.booleans()), bidirectional=draw(st.booleans()), form=form,
        seq_len=seq_len, batch=batch, lengths=lengths, with_state=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)), dtype=draw(st.sampled_from(dtypes)),
        dropout=draw(st.sampled_from([0.0, 0.3])) if num_layers > 1 else 0.0)


# --------------------------------------------------------------------------- conversions
def to_torch(value):
    """NumPy array (or tuple/list of them, or None) -> CPU tensor(s) of the same dtype."""
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        return type(value)(to_torch(v) for v in value)
    return torch.from_numpy(np.array(value, copy=True))


def to_numpy(value):
    """Tensor (or tuple/list of them, or None) -> NumPy array(s) of the same dtype."""
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        return type(value)(to_numpy(v) for v in value)
    return value.detach().cpu().numpy().copy()


# --------------------------------------------------------------------------- twins
def random_parameters(torch_module, rng):
    """Overwrite every parameter of ``torch_module`` with U(-0.5, 0.5) draws from ``rng``."""
    with torch.no_grad():
        for _, p in torch_module.named_parameters():
            values = rng.uniform(-0.5, 0.5, size=tuple(p.shape))
            p.copy_(torch.from_numpy(values).to(p.dtype))
    return torch_module


def numpy_state_dict(torch_module):
    """torch's state_dict as an ordered dict of NumPy copies (same dtype)."""
    return {k: to_numpy(v) for k, v in torch_module.state_dict().items()}


def _twins(table, kind, input_size, hidden_size, dtype, seed, kwargs):
    """(torch, rnnlib) instances of ``table[kind]`` with identical random parameters, in eval."""
    torch_cls, lib_cls, extra = table[kind]
    dtype = np.dtype(dtype)
    t = torch_cls(input_size, hidden_size, dtype=TORCH_DTYPE[dtype], **extra, **kwargs)
    random_parameters(t, np.random.default_rng(seed))
    m = lib_cls(input_size, hidden_size, dtype=dtype, seed=seed, **extra, **kwargs)
    m.load_state_dict(numpy_state_dict(t))
    return t.eval(), m.eval()


def make_module_twins(kind, input_size, hidden_size, *, dtype=np.float64, seed=0, **kwargs):
    """(torch module, rnnlib module) of ``kind`` with identical random parameters, both in eval.

    kwargs are passed to both constructors (num_layers, bias, batch_first, bidirectional,
    proj_size, dropout).
    """
    return _twins(MODULE_KINDS, kind, input_size, hidden_size, dtype, seed, kwargs)


def make_cell_twins(kind, input_size, hidden_size, *, dtype=np.float64, seed=0, bias=True):
    """(torch cell, rnnlib cell) of ``kind`` with identical random parameters."""
    return _twins(CELL_KINDS, kind, input_size, hidden_size, dtype, seed, {"bias": bias})


def random_array(rng, shape, dtype, low=-1.0, high=1.0):
    """U(low, high) array of ``shape`` in ``dtype`` (drawn in float64, then cast)."""
    return rng.uniform(low, high, size=shape).astype(dtype)


def random_state(rng, kind, lead, batch, hidden_size, dtype, out_size=None):
    """A random non-zero initial state: h (or (h, c) for LSTM) with shape (lead, [batch,] H).

    ``lead`` is num_layers*D for modules, None for cells (no leading dimension); ``batch`` None
    means unbatched. ``out_size`` is the size of h when it differs from c's (LSTM proj_size).
    """
    prefix = () if lead is None else (lead,)
    mid = () if batch is None else (batch,)
    h_size = hidden_size if out_size is None else out_size
    h = random_array(rng, prefix + mid + (h_size,), dtype, -0.5, 0.5)
    if not is_lstm(kind):
        return h
    c = random_array(rng, prefix + mid + (hidden_size,), dtype, -0.5, 0.5)
    return (h, c)


# --------------------------------------------------------------------------- packing
def torch_pack(padded, lengths, batch_first, enforce_sorted):
    return torch_rnn_utils.pack_padded_sequence(
        to_torch(padded), torch.as_tensor(np.asarray(lengths), dtype=torch.int64),
        batch_first=batch_first, enforce_sorted=enforce_sorted)


def lib_pack(padded, lengths, batch_first, enforce_sorted):
    return rnnlib.pack_padded_sequence(
        padded, np.asarray(lengths, dtype=np.int64), batch_first=batch_first,
        enforce_sorted=enforce_sorted)


# --------------------------------------------------------------------------- assertions
def _describe(value):
    if isinstance(value, np.ndarray):
        return f"{value.dtype} {value.shape}\n{np.array2string(value, precision=17)}"
    return repr(value)


def assert_close(actual, expected, rtol=None, atol=None, what="value"):
    """Assert rnnlib's ``actual`` matches torch's ``expected`` (NumPy) within tolerance.

    Shapes and dtypes must match exactly; rtol/atol default to TOLERANCE[expected.dtype].
    The failure message names ``what`` and prints both sides in full precision.
    """
    assert isinstance(actual, np.ndarray), (
        f"{what}: expected a NumPy array from rnnlib, got {type(actual).__name__}: {actual!r}")
    expected = np.asarray(expected)
    default_rtol, default_atol = TOLERANCE[expected.dtype]
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    np.testing.assert_allclose(
        actual, expected, rtol=rtol, atol=atol, strict=True,
        err_msg=(f"{what} (rtol={rtol}, atol={atol})\n"
                 f"rnnlib (actual): {_describe(actual)}\n"
                 f"torch (expected): {_describe(expected)}"))


def assert_same(actual, expected, what="value"):
    """Exact equality (values, shape and dtype), e.g. for integer index arrays; None == None."""
    if expected is None:
        assert actual is None, f"{what}: expected None (as torch), got {_describe(actual)}"
        return
    assert isinstance(actual, np.ndarray), (
        f"{what}: expected a NumPy array from rnnlib, got {type(actual).__name__}: {actual!r}")
    expected = np.asarray(expected)
    np.testing.assert_array_equal(
        actual, expected, strict=True,
        err_msg=(f"{what}\nrnnlib (actual): {_describe(actual)}\n"
                 f"torch (expected): {_describe(expected)}"))


def assert_refuses(call, error, fragments):
    """``call()`` raises ``error`` with a message that matches every regex in ``fragments``
    (what was expected, what was received, why)."""
    with pytest.raises(error) as info:
        call()
    for fragment in fragments:
        assert re.search(fragment, str(info.value)), (
            f"{type(info.value).__name__} message {str(info.value)!r} does not match {fragment!r}")


def assert_grad_close(actual, expected, what):
    """A gradient of rnnlib's against torch autograd's, within BACKWARD_TOL (float64)."""
    assert_close(actual, expected, rtol=BACKWARD_TOL, atol=BACKWARD_TOL, what=what)


def assert_state_dict_like_torch(module, torch_module, what):
    """``module.state_dict()`` has torch's keys in torch's order and shapes, in the module dtype,
    as NumPy arrays equal to the attributes of the same names."""
    expected = [(k, tuple(v.shape)) for k, v in torch_module.state_dict().items()]
    sd = module.state_dict()
    actual = [(k, np.shape(v)) for k, v in sd.items()]
    assert actual == expected, f"{what}: state_dict\nrnnlib {actual}\ntorch  {expected}"
    for key, value in sd.items():
        assert isinstance(value, np.ndarray), f"{what}: {key} is a {type(value).__name__}"
        assert value.dtype == module.dtype, f"{what}: {key} {value.dtype}, module {module.dtype}"
        assert_same(getattr(module, key), value, f"{what}: attribute {key} vs state_dict()")


def assert_seeded_uniform_init(build, hidden_size, seed, what):
    """``build(seed)`` makes a module with the default init: float32 U(-1/sqrt(H), 1/sqrt(H)),
    identical for the same seed and different for another."""
    bound = np.float32(1.0 / np.sqrt(hidden_size))
    a, b, c = (build(s).state_dict() for s in (seed, seed, seed + 1))
    for key, value in a.items():
        assert value.dtype == np.float32, f"{what} {key}: default dtype {value.dtype}, not float32"
        assert np.all(np.abs(value) <= bound), (
            f"{what} {key}: outside U(-{bound}, {bound}): min {value.min()}, max {value.max()}")
        assert_same(b[key], value, f"{what} {key}: the same seed {seed} must give the same values")
    flat_a = np.concatenate([v.ravel() for v in a.values()])
    flat_c = np.concatenate([v.ravel() for v in c.values()])
    assert not np.array_equal(flat_a, flat_c), f"{what}: seeds {seed}, {seed + 1} gave equal values"


def assert_state_close(actual, expected, what):
    """Compare h (array) or (h, c) tuples field by field."""
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected), (
            f"{what}: expected a tuple of {len(expected)} arrays, got {type(actual).__name__}")
        for name, a, e in zip(("h", "c"), actual, expected, strict=True):
            assert_close(a, e, what=f"{what}[{name}]")
    else:
        assert_close(actual, expected, what=what)


def assert_packed_equal(actual, expected, what, close=True):
    """rnnlib PackedSequence vs torch PackedSequence field by field.

    data is compared with assert_close (``close=True``) or exactly; batch_sizes exactly. Where
    the lengths are distinct, the two index arrays must equal torch's (int64, None where torch
    has None) and so must data row for row. Where lengths tie, torch's order among the tied
    sequences is unspecified (its sort is not stable), so each sequence's rows are compared
    instead, found through each side's own ``sorted_indices``.
    """
    assert isinstance(actual, rnnlib.PackedSequence), (
        f"{what}: expected rnnlib.PackedSequence, got {type(actual).__name__}")
    compare = assert_close if close else assert_same
    assert_same(actual.batch_sizes, to_numpy(expected.batch_sizes), f"{what}.batch_sizes")
    lengths = (np.arange(actual.batch_sizes[0])[:, None] < actual.batch_sizes).sum(axis=1)
    if expected.sorted_indices is not None and len(set(lengths)) < len(lengths):
        order = np.argsort(actual.unsorted_indices)  # rnnlib's sorted_indices, checked below
        assert_same(actual.sorted_indices, order, f"{what}.sorted_indices (inverse of unsorted)")
        torch_rows = _rows_by_sequence(to_numpy(expected.data), actual.batch_sizes,
                                       to_numpy(expected.sorted_indices))
        compare(_rows_by_sequence(actual.data, actual.batch_sizes, actual.sorted_indices),
                torch_rows, what=f"{what}.data by sequence")
        return
    compare(actual.data, to_numpy(expected.data), what=f"{what}.data")
    assert_same(actual.sorted_indices, to_numpy(expected.sorted_indices), f"{what}.sorted_indices")
    assert_same(actual.unsorted_indices, to_numpy(expected.unsorted_indices),
                f"{what}.unsorted_indices")


def _rows_by_sequence(data, batch_sizes, sorted_indices):
    """Packed rows (T, ...) reordered by (sequence in the caller's order, step)."""
    keys = [(sorted_indices[j], t) for t, n in enumerate(batch_sizes) for j in range(n)]
    return data[sorted(range(len(keys)), key=keys.__getitem__)]


def scaled_settings(factor):
    """Hypothesis settings with ``factor`` times the loaded profile's max_examples.

    For the tests whose search space is large (many configuration axes at once).
    """
    return settings(max_examples=factor * settings.default.max_examples)


def torch_twin(module, torch_cls, *args, **kwargs):
    """A torch module built with ``args``/``kwargs`` holding ``module``'s (rnnlib's) parameters.

    The dtype is taken from rnnlib's parameters; the twin is in eval mode.
    """
    sd = module.state_dict()
    dtype = next(iter(sd.values())).dtype
    t = torch_cls(*args, dtype=TORCH_DTYPE[dtype], **kwargs)
    t.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    return t.eval()


# The browser and JupyterLab tests need Chromium and a built book: `make test` runs them in a step
# of their own (`pytest tests/browser`), so the default collection (testpaths) leaves them out;
# likewise the PDF's (tests/pdf), which `make pdf` runs once it has printed the book.
collect_ignore = ["browser", "pdf"]
