"""rnnlib.gradcheck: the hand-written backward against central differences, not torch.

Small float64 cases for every module kind and input form pass with a maximum relative error
below GRADCHECK_TOL; and gradcheck is a real check: it reports a large error when a module's
backward is deliberately corrupted (the cell derivative, one parameter's gradient, the input's
gradient, the initial state's gradient).
"""

import numpy as np
import pytest
from conftest import CELL_KINDS, MODULE_KINDS

import rnnlib

GRADCHECK_TOL = 1e-6  # typically ~1e-9 with eps=1e-6
CORRUPT_MIN = 1e-2  # what a corrupted backward must at least report
F64 = np.float64

# kind -> (rnnlib class, extra constructor kwargs): the rnnlib side of conftest's tables.
MODULES = {kind: (lib_cls, extra) for kind, (_, lib_cls, extra) in MODULE_KINDS.items()}
CELLS = {kind: (lib_cls, extra) for kind, (_, lib_cls, extra) in CELL_KINDS.items()}
H_IN, H, L, N = 2, 3, 3, 2


def build_module(kind, seed=0, **kwargs):
    cls, extra = MODULES[kind]
    return cls(H_IN, H, dtype=F64, seed=seed, **extra, **kwargs)


def module_inputs(m, form="batched", with_state=True, lengths=(2, 3), seed=1):
    """(x, hx) for module ``m``: x batched / batch_first / unbatched / packed, hx random or None."""
    rng = np.random.default_rng(seed)
    d = 2 if m.bidirectional else 1
    h_out = m.proj_size or m.hidden_size
    mid = () if form == "unbatched" else (N,)
    if form == "unbatched":
        x = rng.uniform(-1, 1, (L, H_IN))
    elif m.batch_first:
        x = rng.uniform(-1, 1, (N, L, H_IN))
    else:
        x = rng.uniform(-1, 1, (L, N, H_IN))
    if form.startswith("packed"):
        lengths = np.asarray(sorted(lengths, reverse=True) if form == "packed_sorted" else lengths)
        x = rnnlib.pack_padded_sequence(x, lengths, batch_first=m.batch_first,
                                        enforce_sorted=form == "packed_sorted")
    if not with_state:
        return x, None
    h0 = rng.uniform(-0.5, 0.5, (m.num_layers * d, *mid, h_out))
    if m.mode != "LSTM":
        return x, h0
    return x, (h0, rng.uniform(-0.5, 0.5, (m.num_layers * d, *mid, m.hidden_size)))


MODULE_CASES = [
    # (kind, module kwargs, form, with_state)
    ("rnn_tanh", {}, "batched", True),
    ("rnn_tanh", {"num_layers": 2, "bidirectional": True, "batch_first": True}, "batched", False),
    ("rnn_tanh", {"bidirectional": True}, "packed_sorted", True),
    ("rnn_relu", {}, "batched", True),
    ("rnn_relu", {"num_layers": 2, "bidirectional": True}, "batched", True),
    ("rnn_relu", {"num_layers": 2}, "packed_unsorted", True),
    ("lstm", {}, "batched", True),
    ("lstm", {}, "batched", False),
    ("lstm", {"proj_size": 2}, "batched", True),
    ("lstm", {"num_layers": 2, "bidirectional": True}, "batched", True),
    ("lstm", {"num_layers": 2, "bidirectional": True, "proj_size": 1}, "batched", True),
    ("lstm", {"bidirectional": True, "proj_size": 2}, "packed_sorted", True),
    ("lstm", {"num_layers": 2, "batch_first": True}, "packed_unsorted", True),
    ("lstm", {"bias": False, "proj_size": 1}, "unbatched", True),
    ("gru", {}, "batched", True),
    ("gru", {"num_layers": 2, "bidirectional": True}, "batched", True),
    ("gru", {"bidirectional": True}, "packed_unsorted", True),
    ("gru", {"num_layers": 2, "bias": False}, "packed_sorted", False),
    ("gru", {"bidirectional": True}, "unbatched", True),
    ("rnn_tanh", {"bias": False}, "unbatched", False),
]


def _case_id(case):
    kind, kwargs, form, with_state = case
    extra = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{kind}[{extra}]-{form}-{'state' if with_state else 'nostate'}"


@pytest.mark.parametrize("case", MODULE_CASES, ids=[_case_id(c) for c in MODULE_CASES])
def test_gradcheck_passes_for_modules(case):
    kind, kwargs, form, with_state = case
    m = build_module(kind, **kwargs).eval()
    x, hx = module_inputs(m, form, with_state)
    error = rnnlib.gradcheck(m, x, hx)
    assert error < GRADCHECK_TOL, (
        f"gradcheck error {error:.3e} for {m!r}, {form}, with_state={with_state}")


CELL_CASES = [(kind, batched, bias, with_state) for kind in sorted(CELLS)
              for batched, bias, with_state in [(True, True, True), (False, True, True),
                                                (True, False, False), (False, False, False)]]


@pytest.mark.parametrize(("kind", "batched", "bias", "with_state"), CELL_CASES)
def test_gradcheck_passes_for_cells(kind, batched, bias, with_state):
    cls, extra = CELLS[kind]
    m = cls(H_IN, H, bias=bias, dtype=F64, seed=2, **extra)
    rng = np.random.default_rng(3)
    mid = (N,) if batched else ()
    x = rng.uniform(-1, 1, mid + (H_IN,))
    hx = None
    if with_state:
        hx = rng.uniform(-0.5, 0.5, mid + (H,))
        if kind == "lstm":
            hx = (hx, rng.uniform(-0.5, 0.5, mid + (H,)))
    error = rnnlib.gradcheck(m, x, hx)
    assert error < GRADCHECK_TOL, f"gradcheck error {error:.3e} for {m!r}, input {x.shape}"


def test_gradcheck_leaves_parameters_inputs_and_states_unchanged():
    m = build_module("lstm", num_layers=2, bidirectional=True, proj_size=1)
    x, hx = module_inputs(m, "packed_unsorted")
    before = (m.state_dict(), x.data.copy(), hx[0].copy(), hx[1].copy())
    rnnlib.gradcheck(m, x, hx)
    for name, value in m.state_dict().items():
        np.testing.assert_array_equal(value, before[0][name], err_msg=name, strict=True)
    for now, then in zip((x.data, *hx), before[1:], strict=True):
        np.testing.assert_array_equal(now, then, strict=True)


def test_gradcheck_refuses_float32_modules():
    m = rnnlib.GRU(H_IN, H, dtype=np.float32, seed=0)
    with pytest.raises(TypeError, match="float64"):
        rnnlib.gradcheck(m, np.zeros((L, N, H_IN), np.float32))


# --------------------------------------------------------------------------- gradcheck can fail
def _scaled_cell(cell, factor=1.5):
    """The same cell kind with a step backward that gives ``factor`` times the true derivative
    (its outputs are written in place: see rnnlib.kernels)."""
    def backward(dh, dc, kept, saved, h_prev, dgi, dgh, tmp):
        direct = cell.backward(dh, dc, kept, saved, h_prev, dgi, dgh, tmp)
        for out in {id(a): a for a in (dgi, dgh, dc, direct) if a is not None}.values():
            out *= factor
        return direct
    return cell._replace(backward=backward)


@pytest.mark.parametrize("kind", sorted(MODULES))
@pytest.mark.parametrize("what", ["module", "cell"])
def test_gradcheck_detects_a_corrupted_cell_derivative(kind, what, monkeypatch):
    if what == "module":
        m = build_module(kind, num_layers=2, bidirectional=True)
        x, hx = module_inputs(m)
    else:
        cls, extra = CELLS[kind]
        m = cls(H_IN, H, dtype=F64, seed=4, **extra)
        x = np.random.default_rng(5).uniform(-1, 1, (N, H_IN))
        hx = None
    assert rnnlib.gradcheck(m, x, hx) < GRADCHECK_TOL  # sound before the corruption
    monkeypatch.setattr(m, "cell", _scaled_cell(m.cell))
    error = rnnlib.gradcheck(m, x, hx)
    assert error > CORRUPT_MIN, f"gradcheck reported only {error:.3e} for a 1.5x cell derivative"


def _corrupting_backward(m, corrupt):
    """Wrap ``m.backward`` so that ``corrupt(grad_x, grad_state)`` edits its result."""
    original = m.backward

    def backward(*args):
        grad_x, grad_state = original(*args)
        return corrupt(grad_x, grad_state)

    return backward


CORRUPT_MODULE = dict(num_layers=2, bidirectional=True, proj_size=1)
CORRUPT_PARAMS = list(build_module("lstm", **CORRUPT_MODULE).state_dict())


@pytest.mark.parametrize("name", CORRUPT_PARAMS)
def test_gradcheck_checks_every_parameter(name, monkeypatch):
    m = build_module("lstm", **CORRUPT_MODULE)
    x, hx = module_inputs(m)

    def corrupt(grad_x, grad_state):
        m.grads[name] += 0.5
        return grad_x, grad_state

    monkeypatch.setattr(m, "backward", _corrupting_backward(m, corrupt))
    error = rnnlib.gradcheck(m, x, hx)
    assert error > CORRUPT_MIN, f"gradcheck missed a wrong gradient of {name}: {error:.3e}"


@pytest.mark.parametrize("target", ["input", "packed input", "h_0", "c_0"])
def test_gradcheck_checks_the_input_and_state_gradients(target, monkeypatch):
    m = build_module("lstm", **CORRUPT_MODULE)
    x, hx = module_inputs(m, "packed_unsorted" if target == "packed input" else "batched")

    def corrupt(grad_x, grad_state):
        grad_h, grad_c = grad_state
        if target == "input":
            grad_x = grad_x + 0.5
        elif target == "packed input":
            grad_x = grad_x._replace(data=grad_x.data + 0.5)
        elif target == "h_0":
            grad_h = grad_h + 0.5
        else:
            grad_c = grad_c + 0.5
        return grad_x, (grad_h, grad_c)

    monkeypatch.setattr(m, "backward", _corrupting_backward(m, corrupt))
    error = rnnlib.gradcheck(m, x, hx)
    assert error > CORRUPT_MIN, f"gradcheck missed a wrong gradient of the {target}: {error:.3e}"
