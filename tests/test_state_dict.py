"""state_dict / load_state_dict of rnnlib's modules against torch.nn's."""

import numpy as np
import pytest
import torch
from conftest import (
    DTYPES,
    MODULE_KINDS,
    TORCH_DTYPE,
    assert_same,
    random_array,
    random_parameters,
    scaled_settings,
    to_numpy,
    to_torch,
)
from hypothesis import given
from hypothesis import strategies as st


@st.composite
def module_specs(draw):
    """(kind, input_size, hidden_size, constructor kwargs) over every configuration axis."""
    kind = draw(st.sampled_from(["rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "gru"]))
    kwargs = dict(num_layers=draw(st.integers(1, 3)), bias=draw(st.booleans()),
                  batch_first=draw(st.booleans()), bidirectional=draw(st.booleans()))
    if kind == "lstm_proj":
        kind = "lstm"
        hidden_size = draw(st.integers(2, 6))
        kwargs["proj_size"] = draw(st.integers(1, hidden_size - 1))
    else:
        hidden_size = draw(st.integers(1, 6))
    return kind, draw(st.integers(1, 6)), hidden_size, kwargs


def build(kind, input_size, hidden_size, kwargs, dtype, seed=0):
    """A (torch, rnnlib) pair of one configuration, each with its own default init."""
    torch_cls, lib_cls, extra = MODULE_KINDS[kind]
    t = torch_cls(input_size, hidden_size, dtype=TORCH_DTYPE[np.dtype(dtype)], **extra, **kwargs)
    m = lib_cls(input_size, hidden_size, dtype=dtype, seed=seed, **extra, **kwargs)
    return t, m


@given(spec=module_specs(), dtype=st.sampled_from(DTYPES))
@scaled_settings(3)
def test_state_dict_keys_order_shapes_dtypes_equal_torch(spec, dtype):
    kind, input_size, hidden_size, kwargs = spec
    t, m = build(kind, input_size, hidden_size, kwargs, dtype)
    expected = [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    sd = m.state_dict()
    assert isinstance(sd, dict)
    actual = [(k, np.shape(v)) for k, v in sd.items()]
    assert actual == expected, f"{spec}: rnnlib {actual}\n torch {expected}"
    for key, value in sd.items():
        assert isinstance(value, np.ndarray), f"{key}: {type(value).__name__}"
        assert value.dtype == np.dtype(dtype), f"{key}: dtype {value.dtype}, module {dtype}"
        assert_same(getattr(m, key), value, f"{spec}: attribute {key} vs state_dict()[{key!r}]")


@given(spec=module_specs(), seed=st.integers(0, 2**32 - 1))
def test_state_dict_returns_copies(spec, seed):
    kind, input_size, hidden_size, kwargs = spec
    _, m = build(kind, input_size, hidden_size, kwargs, np.float64, seed)
    sd = m.state_dict()
    before = {k: v.copy() for k, v in sd.items()}
    for value in sd.values():
        value[...] = 123.0
    for key, value in m.state_dict().items():
        assert_same(value, before[key], f"{key} changed after editing a state_dict() copy")


@given(spec=module_specs(), seed=st.integers(0, 2**32 - 1))
def test_default_init_is_seeded_uniform(spec, seed):
    kind, input_size, hidden_size, kwargs = spec
    _, lib_cls, extra = MODULE_KINDS[kind]
    bound = np.float32(1.0 / np.sqrt(hidden_size))
    a = lib_cls(input_size, hidden_size, seed=seed, **extra, **kwargs).state_dict()
    b = lib_cls(input_size, hidden_size, seed=seed, **extra, **kwargs).state_dict()
    c = lib_cls(input_size, hidden_size, seed=seed + 1, **extra, **kwargs).state_dict()
    for key, value in a.items():
        assert value.dtype == np.float32, f"{key}: default dtype must be float32, got {value.dtype}"
        assert np.all(np.abs(value) <= bound), (
            f"{spec} {key}: outside U(-{bound}, {bound}): min {value.min()}, max {value.max()}")
        assert_same(b[key], value, f"{spec} {key}: same seed {seed} must give same values")
    flat_a = np.concatenate([v.ravel() for v in a.values()])
    flat_c = np.concatenate([v.ravel() for v in c.values()])
    assert not np.array_equal(flat_a, flat_c), f"seeds {seed} and {seed + 1} gave equal parameters"


@given(spec=module_specs(), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**32 - 1))
@scaled_settings(2)
@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_round_trip_through_rnnlib_reproduces_torch_exactly(spec, dtype, seed):
    """torch -> rnnlib.load_state_dict (CPU tensors) -> rnnlib.state_dict -> torch: same outputs."""
    kind, input_size, hidden_size, kwargs = spec
    rng = np.random.default_rng(seed)
    t1, m = build(kind, input_size, hidden_size, kwargs, dtype, seed)
    random_parameters(t1, rng)
    m.load_state_dict(t1.state_dict())  # torch tensors, not NumPy arrays
    sd = m.state_dict()
    for key, value in t1.state_dict().items():
        assert_same(sd[key], to_numpy(value), f"{spec}: {key} after loading torch's tensors")

    t2, _ = build(kind, input_size, hidden_size, kwargs, dtype, seed)
    t2.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    shape = (2, 3, input_size)
    x = to_torch(random_array(rng, shape, dtype))
    with torch.no_grad():
        out1, state1 = t1(x)
        out2, state2 = t2(x)
    assert torch.equal(out1, out2), f"{spec}: torch output changed after the round trip"
    state1 = state1 if isinstance(state1, tuple) else (state1,)
    state2 = state2 if isinstance(state2, tuple) else (state2,)
    for s1, s2 in zip(state1, state2, strict=True):
        assert torch.equal(s1, s2), f"{spec}: torch final state changed after the round trip"


@given(spec=module_specs(), source=st.sampled_from(DTYPES), target=st.sampled_from(DTYPES),
       as_tensor=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_load_state_dict_casts_to_module_dtype(spec, source, target, as_tensor, seed):
    kind, input_size, hidden_size, kwargs = spec
    t, _ = build(kind, input_size, hidden_size, kwargs, source, seed)
    random_parameters(t, np.random.default_rng(seed))
    _, m = build(kind, input_size, hidden_size, kwargs, target, seed)
    src = {k: (v if as_tensor else to_numpy(v)) for k, v in t.state_dict().items()}
    m.load_state_dict(src)
    for key, value in m.state_dict().items():
        expected = to_numpy(t.state_dict()[key]).astype(target)
        assert_same(value, expected,
                    f"{spec}: {key} loaded from {np.dtype(source).name} "
                    f"{'tensor' if as_tensor else 'array'} into a {np.dtype(target).name} module")
