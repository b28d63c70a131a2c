"""benchmarks/run.py: its products-alone and pointwise-alone schedules, and an OS without
Linux's /proc or os.getloadavg (macOS, Windows)."""

import importlib.util
import os
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from rnnlib import concurrency


@pytest.fixture
def bench():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
    spec = importlib.util.spec_from_file_location("bench_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_load_average_without_getloadavg(bench, monkeypatch):
    monkeypatch.delattr(os, "getloadavg", raising=False)
    assert bench.load_average() == "n/a"


def test_memory_without_proc_shows_the_traced_peak_only(bench, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(bench, "PROC_STATUS", tmp_path / "absent")
    monkeypatch.setattr(bench, "CONFIGS", {"tiny": bench.CONFIGS["LSTM 8->32 tiny, N=1, L=100"]})
    monkeypatch.setattr(bench, "child", lambda *args: pytest.fail("a child process was started"))
    bench.run_memory()
    row = capsys.readouterr().out.splitlines()[-1].split()
    assert row[1:4] == ["n/a"] * 3 and float(row[4]) > 0


@pytest.mark.parametrize("bidirectional", [False, True], ids=["wavefront", "directions"])
def test_the_schedules_run_what_rnnlib_runs_at_once(bench, monkeypatch, bidirectional):
    """parts() on a small two-layer shape, with two BLAS threads and no size threshold, so that
    its forward runs as rnnlib's wavefront (or its directions at once): each function runs, and
    its product count matches forward_flops (asserted inside parts)."""
    monkeypatch.setattr(bench, "CONFIGS", {"small": ("LSTM", 3, 4, 2, bidirectional, 6, 2, True)})
    monkeypatch.setattr(concurrency, "DIRECTIONS_MIN_WORK", 0)
    monkeypatch.setattr(concurrency, "WAVEFRONT_MIN_WORK", 0)
    with threadpool_limits(2, user_api="blas"):
        runs = bench.parts("small")
        assert sorted(runs) == ["pointwise fwd", "pointwise fwd+bwd", "products fwd",
                                "products fwd+bwd"]
        for run in runs.values():
            run()
