"""state_dict / load_state_dict of rnnlib's modules against torch.nn's."""

import numpy as np
import pytest
import torch
from conftest import (
    DTYPES,
    MODULE_KINDS,
    TORCH_DTYPE,
    assert_same,
    assert_seeded_uniform_init,
    assert_state_dict_like_torch,
    configs,
    random_array,
    random_parameters,
    scaled_settings,
    to_numpy,
    to_torch,
)
from hypothesis import given
from hypothesis import strategies as st

SPECS = configs(forms=("batched",))  # every constructor option; the input form does not matter


def build(cfg, dtype, seed=0):
    """A (torch, rnnlib) pair of ``cfg``'s configuration in ``dtype``, each with its own init."""
    torch_cls, lib_cls, extra = MODULE_KINDS[cfg.kind]
    kwargs = dict(cfg.module_kwargs, dropout=0.0)  # new modules train: keep their outputs exact
    t = torch_cls(cfg.input_size, cfg.hidden_size, dtype=TORCH_DTYPE[np.dtype(dtype)], **extra,
                  **kwargs)
    m = lib_cls(cfg.input_size, cfg.hidden_size, dtype=dtype, seed=seed, **extra, **kwargs)
    return t, m


@given(cfg=SPECS)
@scaled_settings(3)
def test_state_dict_keys_order_shapes_dtypes_equal_torch(cfg):
    t, m = build(cfg, cfg.dtype)
    assert_state_dict_like_torch(m, t, repr(cfg))


@given(cfg=SPECS)
def test_state_dict_returns_copies(cfg):
    _, m = build(cfg, np.float64, cfg.seed)
    sd = m.state_dict()
    before = {k: v.copy() for k, v in sd.items()}
    for value in sd.values():
        value[...] = 123.0
    for key, value in m.state_dict().items():
        assert_same(value, before[key], f"{key} changed after editing a state_dict() copy")


@given(cfg=SPECS)
def test_default_init_is_seeded_uniform(cfg):
    _, lib_cls, extra = MODULE_KINDS[cfg.kind]
    assert_seeded_uniform_init(  # no dtype argument: the default must be float32
        lambda seed: lib_cls(cfg.input_size, cfg.hidden_size, seed=seed, **extra,
                             **cfg.module_kwargs),
        cfg.hidden_size, cfg.seed, repr(cfg))


@given(cfg=SPECS)
@scaled_settings(2)
@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_round_trip_through_rnnlib_reproduces_torch_exactly(cfg):
    """torch -> rnnlib.load_state_dict (CPU tensors) -> rnnlib.state_dict -> torch: same outputs."""
    spec, dtype = repr(cfg), cfg.dtype
    rng = np.random.default_rng(cfg.seed)
    t1, m = build(cfg, dtype, cfg.seed)
    random_parameters(t1, rng)
    m.load_state_dict(t1.state_dict())  # torch tensors, not NumPy arrays
    sd = m.state_dict()
    for key, value in t1.state_dict().items():
        assert_same(sd[key], to_numpy(value), f"{spec}: {key} after loading torch's tensors")

    t2, _ = build(cfg, dtype, cfg.seed)
    t2.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    shape = (2, 3, cfg.input_size)
    x = to_torch(random_array(rng, shape, dtype))
    with torch.no_grad():
        out1, state1 = t1(x)
        out2, state2 = t2(x)
    assert torch.equal(out1, out2), f"{spec}: torch output changed after the round trip"
    state1 = state1 if isinstance(state1, tuple) else (state1,)
    state2 = state2 if isinstance(state2, tuple) else (state2,)
    for s1, s2 in zip(state1, state2, strict=True):
        assert torch.equal(s1, s2), f"{spec}: torch final state changed after the round trip"


@given(cfg=SPECS, target=st.sampled_from(DTYPES), as_tensor=st.booleans())
def test_load_state_dict_casts_to_module_dtype(cfg, target, as_tensor):
    spec, source = repr(cfg), cfg.dtype
    t, _ = build(cfg, source, cfg.seed)
    random_parameters(t, np.random.default_rng(cfg.seed))
    _, m = build(cfg, target, cfg.seed)
    src = {k: (v if as_tensor else to_numpy(v)) for k, v in t.state_dict().items()}
    m.load_state_dict(src)
    for key, value in m.state_dict().items():
        expected = to_numpy(t.state_dict()[key]).astype(target)
        assert_same(value, expected,
                    f"{spec}: {key} loaded from {np.dtype(source).name} "
                    f"{'tensor' if as_tensor else 'array'} into a {np.dtype(target).name} module")
