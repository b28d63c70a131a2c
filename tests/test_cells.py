"""Forward conformance of rnnlib's cells (RNNCell, LSTMCell, GRUCell) with torch.nn's."""

import numpy as np
import pytest
import torch
from conftest import (
    CELL_KINDS,
    DTYPES,
    TORCH_DTYPE,
    assert_same,
    assert_seeded_uniform_init,
    assert_state_close,
    assert_state_dict_like_torch,
    is_lstm,
    make_cell_twins,
    random_array,
    random_state,
    scaled_settings,
    to_numpy,
    to_torch,
)
from hypothesis import given
from hypothesis import strategies as st

SIZES = st.integers(0, 6)  # torch's cells accept zero sizes: hidden_size=0 gives (N, 0) states
SEEDS = st.integers(0, 2**32 - 1)


def _copy(value):
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(v.copy() for v in value)
    return value.copy()


def _assert_unchanged(before, after, what):
    if before is None:
        return
    if isinstance(before, tuple):
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            assert_same(a, b, f"{what}[{i}] must not be modified by the call")
    else:
        assert_same(after, before, f"{what} must not be modified by the call")


@given(
    kind=st.sampled_from(sorted(CELL_KINDS)),
    input_size=SIZES,
    hidden_size=SIZES,
    batch=st.one_of(st.none(), st.integers(0, 4)),
    bias=st.booleans(),
    with_state=st.booleans(),
    steps=st.integers(1, 3),
    dtype=st.sampled_from(DTYPES),
    seed=SEEDS,
)
@scaled_settings(5)
def test_cell_forward_matches_torch(kind, input_size, hidden_size, batch, bias, with_state, steps,
                                    dtype, seed):
    """A few steps of a cell, batched (N, H_in) or unbatched (H_in,), equal torch's."""
    t, m = make_cell_twins(kind, input_size, hidden_size, dtype=dtype, seed=seed, bias=bias)
    rng = np.random.default_rng(seed ^ 0x5EED)
    x_shape = (input_size,) if batch is None else (batch, input_size)
    state = random_state(rng, kind, None, batch, hidden_size, dtype) if with_state else None
    torch_state = to_torch(state)
    for step in range(steps):
        x = random_array(rng, x_shape, dtype)
        x_before, state_before = x.copy(), _copy(state)
        expected = to_numpy(t(to_torch(x), torch_state))
        actual = m(x) if state is None else m(x, state)
        what = (f"{kind} cell (bias={bias}, {np.dtype(dtype).name}, x {x_shape}, "
                f"initial state given={with_state}) step {step}")
        assert_state_close(actual, expected, what)
        _assert_unchanged(x_before, x, f"{what}: input")
        _assert_unchanged(state_before, state, f"{what}: state")
        # Feed both the same (torch's) next state so errors do not compound across steps.
        state, torch_state = expected, to_torch(expected)


@given(
    kind=st.sampled_from(sorted(CELL_KINDS)),
    input_size=SIZES,
    hidden_size=SIZES,
    bias=st.booleans(),
    dtype=st.sampled_from(DTYPES),
)
def test_cell_state_dict_keys_and_shapes_equal_torch(kind, input_size, hidden_size, bias, dtype):
    torch_cls, lib_cls, extra = CELL_KINDS[kind]
    t = torch_cls(input_size, hidden_size, bias=bias, dtype=TORCH_DTYPE[np.dtype(dtype)], **extra)
    m = lib_cls(input_size, hidden_size, bias=bias, dtype=dtype, seed=0, **extra)
    assert_state_dict_like_torch(m, t, f"{kind} cell({input_size}, {hidden_size}, bias={bias})")


@given(
    kind=st.sampled_from(sorted(CELL_KINDS)),
    input_size=SIZES,
    hidden_size=st.integers(1, 40),
    bias=st.booleans(),
    seed=SEEDS,
)
def test_cell_default_init_is_seeded_uniform(kind, input_size, hidden_size, bias, seed):
    """U(-1/sqrt(H), 1/sqrt(H)); the same seed gives the same parameters, another seed others."""
    _, lib_cls, extra = CELL_KINDS[kind]
    assert_seeded_uniform_init(
        lambda s: lib_cls(input_size, hidden_size, bias=bias, seed=s, **extra), hidden_size, seed,
        f"{kind} cell({input_size}, {hidden_size}, bias={bias})")


@pytest.mark.parametrize("kind", sorted(CELL_KINDS))
def test_cell_default_init_fills_the_whole_range(kind):
    """With many values, the draws cover U(-1/sqrt(H), 1/sqrt(H)) (not a narrower law)."""
    _, lib_cls, extra = CELL_KINDS[kind]
    hidden_size = 49
    bound = 1.0 / 7.0
    values = np.concatenate(
        [v.ravel() for v in lib_cls(30, hidden_size, seed=3, **extra).state_dict().values()])
    assert values.min() >= -bound and values.max() <= bound
    assert values.min() < -0.99 * bound, values.min()
    assert values.max() > 0.99 * bound, values.max()
    # U(-b, b): mean 0 (sd b/sqrt(3)), mean |v| = b/2 (sd b/sqrt(12)); with n >= 3969 values the
    # tolerances below are more than 6 standard errors.
    assert abs(values.mean()) < 0.06 * bound, values.mean()
    assert abs(np.abs(values).mean() - bound / 2) < 0.03 * bound, np.abs(values).mean()


@pytest.mark.parametrize("kind", sorted(CELL_KINDS))
def test_cell_zero_state_default_equals_explicit_zeros(kind):
    t, m = make_cell_twins(kind, 3, 4, dtype=np.float64, seed=7)
    x = random_array(np.random.default_rng(0), (2, 3), np.float64)
    zeros = np.zeros((2, 4))
    explicit = m(x, (zeros, zeros.copy()) if is_lstm(kind) else zeros)
    assert_state_close(m(x), explicit, f"{kind} cell: hx=None vs explicit zeros")
    assert_state_close(m(x, None), explicit, f"{kind} cell: explicit None vs explicit zeros")
    assert_state_close(m(x), to_numpy(t(torch.from_numpy(x))), f"{kind} cell: hx=None vs torch")
