"""benchmarks/run.py on an OS without Linux's /proc or os.getloadavg (macOS, Windows)."""

import importlib.util
import os
from pathlib import Path

import pytest


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
