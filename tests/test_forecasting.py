"""rnnlib.reference's forecasting helpers (chapter 15) against torch, and what they refuse.

``forecast_windows`` against ``Tensor.unfold``, which cuts the same sliding windows; and
``recursive_forecast`` driving an rnnlib LSTM and Linear against the same forecast written in
torch (``nn.LSTM``, ``nn.Linear``, ``torch.cat``), in float64, with random non-zero parameters.
"""

import numpy as np
import pytest
import torch
from conftest import (
    assert_close,
    assert_refuses,
    assert_same,
    make_module_twins,
    random_array,
    random_parameters,
    to_numpy,
)
from hypothesis import given
from hypothesis import strategies as st

import rnnlib
from rnnlib import reference

F64 = np.float64


@given(extra=st.integers(0, 20), length=st.integers(1, 8), horizon=st.integers(1, 8),
       seed=st.integers(0, 2**32 - 1))
def test_windows_are_torch_unfold_split_in_two(extra, length, horizon, seed):
    series = random_array(np.random.default_rng(seed), (length + horizon + extra,), F64)
    inputs, targets = reference.forecast_windows(series, length, horizon)
    both = torch.from_numpy(series).unfold(0, length + horizon, 1)  # (R, length + horizon)
    what = f"windows of {length} + {horizon} from a series of {len(series)}"
    assert_same(inputs, to_numpy(both[:, :length]), f"inputs, {what}")
    assert_same(targets, to_numpy(both[:, length:]), f"targets, {what}")


def torch_recursive(lstm, lin, x, steps):
    """The recursive forecast written in torch: x (N, L) -> (N, steps)."""
    forecasts = []
    with torch.no_grad():
        for _ in range(steps):
            out, _ = lstm(x[..., None])  # (N, L, H)
            forecasts.append(lin(out[:, -1])[:, 0])  # (N,)
            x = torch.cat([x[:, 1:], forecasts[-1][:, None]], dim=1)
    return torch.stack(forecasts, dim=1)


@given(hidden=st.integers(1, 6), length=st.integers(1, 6), steps=st.integers(1, 8),
       batch=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_recursive_forecast_of_an_lstm_matches_torch(hidden, length, steps, batch, seed):
    t_lstm, r_lstm = make_module_twins("lstm", 1, hidden, seed=seed, batch_first=True)
    t_lin = random_parameters(torch.nn.Linear(hidden, 1, dtype=torch.float64),
                              np.random.default_rng(seed + 1))
    r_lin = rnnlib.Linear(hidden, 1, dtype=F64)
    r_lin.load_state_dict(t_lin.state_dict())
    x = random_array(np.random.default_rng(seed + 2), (batch, length), F64)

    def step(windows):  # (N, L) -> (N,)
        return r_lin(r_lstm(windows[..., None])[0][:, -1])[:, 0]

    assert_close(reference.recursive_forecast(step, x, steps),
                 to_numpy(torch_recursive(t_lstm, t_lin, torch.from_numpy(x), steps)),
                 what=f"recursive forecast, H={hidden}, L={length}, {steps} steps, N={batch}")


def test_recursive_forecast_feeds_back_exactly_its_own_forecasts():
    # A step that forecasts the window's sum: the values are exact in float64 integers.
    x = np.array([[1.0, 2.0, 3.0]])
    assert_same(reference.recursive_forecast(lambda w: w.sum(axis=1), x, 3),
                np.array([[6.0, 11.0, 20.0]]), "a sum forecaster fed its own forecasts")


@pytest.mark.parametrize("call, error, fragments", [
    (lambda: reference.forecast_windows(np.arange(5.0), 3, 3), ValueError,
     ("at least length \\+ horizon", r"shape \(5,\)", "length=3", "horizon=3")),
    (lambda: reference.forecast_windows(np.zeros((6, 2)), 2, 1), ValueError,
     ("1-D series", r"shape \(6, 2\)")),
    (lambda: reference.forecast_windows(np.arange(9.0), 0, 2), ValueError,
     (">= 1", "length=0")),
    (lambda: reference.forecast_windows(np.arange(9.0), 2.5, 2), TypeError,
     ("ints", "2.5")),
    (lambda: reference.recursive_forecast(lambda w: w[:, -1], np.zeros(4), 2), ValueError,
     (r"\(N, L\)", r"shape \(4,\)")),
    (lambda: reference.recursive_forecast(lambda w: w[:, -1], np.zeros((2, 3)), 0), ValueError,
     (">= 1", "steps=0")),
    (lambda: reference.recursive_forecast(lambda w: w[:, -1:], np.zeros((2, 3)), 2), ValueError,
     (r"one value per window, shape \(2,\)", r"got shape \(2, 1\)")),
], ids=["series_too_short", "series_2d", "length_0", "length_float", "windows_1d", "steps_0",
        "step_returns_a_column"])
def test_refusals_name_what_was_expected_and_received(call, error, fragments):
    assert_refuses(call, error, fragments)
