"""rnnlib as a package: one version everywhere, torch's keyword calls and parameter generators,
type hints on the public API, and the README's example."""

import contextlib
import inspect
import io
import re
import typing
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import rnnlib

ROOT = Path(__file__).resolve().parents[1]


def test_one_version_everywhere():
    """rnnlib.__version__ (which pyproject.toml reads) is the newest CHANGELOG entry, the
    CITATION.cff version and the release the website shows."""
    changelog = re.search(r"^## \[(\d+\.\d+\.\d+)\]", (ROOT / "CHANGELOG.md").read_text(),
                          re.MULTILINE)
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    versions = {"rnnlib.__version__": rnnlib.__version__, "CHANGELOG.md": changelog.group(1),
                "CITATION.cff version": citation["version"],
                "CITATION.cff edition": citation["preferred-citation"]["edition"],
                "_config.yml release": config["release"]}
    assert len(set(versions.values())) == 1, f"versions disagree: {versions}"
    assert 'dynamic = ["version"]' in (ROOT / "pyproject.toml").read_text()


LAYERS = [rnnlib.RNN, rnnlib.LSTM, rnnlib.GRU]
CELLS = [rnnlib.RNNCell, rnnlib.LSTMCell, rnnlib.GRUCell]
TORCH = {rnnlib.RNN: torch.nn.RNN, rnnlib.LSTM: torch.nn.LSTM, rnnlib.GRU: torch.nn.GRU,
         rnnlib.RNNCell: torch.nn.RNNCell, rnnlib.LSTMCell: torch.nn.LSTMCell,
         rnnlib.GRUCell: torch.nn.GRUCell, rnnlib.Linear: torch.nn.Linear,
         rnnlib.Embedding: torch.nn.Embedding}


def random_state(module, shape, rng):
    """A random h (or an LSTM's (h, c)) of ``shape``."""
    state = rng.standard_normal((2, *shape)).astype(module.dtype)
    return (state[0], state[1]) if module.mode == "LSTM" else state[0]


def assert_same_outputs(a, b, what):
    flat_a, flat_b = (x if isinstance(x, tuple) else (x,) for x in (a, b))
    assert len(flat_a) == len(flat_b), what
    for x, y in zip(flat_a, flat_b, strict=True):
        for u, v in zip(x if isinstance(x, tuple) else (x,), y if isinstance(y, tuple) else (y,),
                        strict=True):
            np.testing.assert_array_equal(u, v, err_msg=what)


@pytest.mark.parametrize("cls", LAYERS + CELLS, ids=lambda cls: cls.__name__)
def test_forward_takes_torchs_keywords(cls):
    """``m(input=x, hx=h)`` is ``m(x, h)``, under the names of torch's ``forward``."""
    rng = np.random.default_rng(0)
    module = cls(3, 4, seed=0)
    x = rng.standard_normal((5, 2, 3) if cls in LAYERS else (2, 3)).astype(np.float32)
    hx = random_state(module, (1, 2, 4) if cls in LAYERS else (2, 4), rng)
    assert_same_outputs(module(input=x, hx=hx), module(x, hx), f"{cls.__name__}(input=, hx=)")
    assert_same_outputs(module(x, hx=hx), module(x, hx), f"{cls.__name__}(x, hx=)")
    names = list(inspect.signature(module.forward).parameters)
    assert names == list(inspect.signature(TORCH[cls].forward).parameters)[1:], names


@pytest.mark.parametrize("cls", [rnnlib.Linear, rnnlib.Embedding], ids=lambda cls: cls.__name__)
def test_other_modules_take_torchs_keywords(cls):
    module = cls(5, 3, seed=0)
    x = np.arange(4) if cls is rnnlib.Embedding else np.ones((4, 5), np.float32)
    np.testing.assert_array_equal(module(input=x), module(x))
    names = list(inspect.signature(module.forward).parameters)
    assert names == list(inspect.signature(TORCH[cls].forward).parameters)[1:], names


@pytest.mark.parametrize("make", [
    lambda: rnnlib.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, seed=0),
    lambda: rnnlib.GRUCell(3, 4, seed=0),
    lambda: rnnlib.Linear(3, 4, seed=0),
    lambda: rnnlib.Embedding(5, 3, seed=0),
    lambda: rnnlib.InitialState(2, 4),
], ids=["LSTM", "GRUCell", "Linear", "Embedding", "InitialState"])
def test_parameters_are_generators_of_the_live_arrays(make):
    """As torch's: generators, in state_dict order, of the arrays optimizers update in place."""
    module = make()
    named, plain = module.named_parameters(), module.parameters()
    assert inspect.isgenerator(named) and inspect.isgenerator(plain)
    named = list(named)
    assert [name for name, _ in named] == list(module.state_dict())
    assert all(p is q for (_, p), q in zip(named, module.parameters(), strict=True))
    for name, p in named:
        assert p is getattr(module, name), f"{name} is not the live parameter"


def test_parameter_names_are_torchs():
    lstm = rnnlib.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    twin = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    assert [n for n, _ in lstm.named_parameters()] == [n for n, _ in twin.named_parameters()]


def test_a_frozen_embedding_yields_no_parameter():
    frozen = rnnlib.Embedding.from_pretrained(np.eye(3, dtype=np.float32))
    assert list(frozen.named_parameters()) == [] and list(frozen.parameters()) == []


# The public API that the API reference page documents. A name added to rnnlib.__all__ joins
# this list, and api.md, once it has type hints and torch-style docstrings.
# Every public name (rnnlib.__all__ without its submodules), and the public functions of those.
DOCUMENTED = [name for name in rnnlib.__all__ if not inspect.ismodule(getattr(rnnlib, name))] + [
    "init.orthogonal_", "init.eye_", "testing.check"]


def test_api_page_documents_the_listed_names():
    page = (ROOT / "api.md").read_text()
    missing = [name for name in DOCUMENTED
               if not re.search(rf"\b{re.escape(name.rsplit('.', 1)[-1])}\b", page)]
    assert not missing, f"api.md does not document {missing}"


def public_callables():
    """The documented classes and functions, and the public methods of the classes."""
    found = []
    for name in DOCUMENTED:
        obj = rnnlib
        for part in name.split("."):
            obj = getattr(obj, part)
        if inspect.ismodule(obj):
            continue
        if inspect.isclass(obj):
            methods = [m for m, f in inspect.getmembers(obj, inspect.isfunction)
                       if f.__module__.startswith("rnnlib") and not m.startswith("_")]
            found += [(f"{name}.{m}", getattr(obj, m)) for m in ["__init__", *methods]
                      if m != "__init__" or "__init__" in vars(obj)]
        else:
            found.append((name, obj))
    return found


@pytest.mark.parametrize("name, function", public_callables(), ids=lambda x: x
                         if isinstance(x, str) else "")
def test_public_api_is_annotated(name, function):
    """Every argument and every return of the public API has a type hint that resolves."""
    signature = inspect.signature(function)
    missing = [p for p, spec in signature.parameters.items()
               if p not in ("self", "cls") and spec.annotation is inspect.Parameter.empty]
    assert not missing, f"{name}: arguments without a type hint: {missing}"
    if not name.endswith("__init__"):
        assert signature.return_annotation is not inspect.Signature.empty, f"{name}: no return"
    typing.get_type_hints(function)  # every name in the hints exists


def test_package_ships_its_type_marker_and_readme():
    assert (ROOT / "rnnlib" / "py.typed").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'rnnlib = ["py.typed"]' in pyproject and 'readme = "rnnlib/README.md"' in pyproject


def test_readme_example_runs():
    """The example in rnnlib/README.md runs as written, and its own assertion holds."""
    readme = (ROOT / "rnnlib" / "README.md").read_text()
    (example,) = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, "rnnlib/README.md", "exec"), {})
    assert re.fullmatch(r"mean squared error: \S+ at the start, \S+ after 200 steps\n",
                        printed.getvalue()), printed.getvalue()
