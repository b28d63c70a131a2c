"""rnnlib's modules, the fast path, against rnnlib.reference, the book's readable implementation.

The modules rearrange the reference's arithmetic for speed (the Performance chapter shows how).
This is the test that ties the two together: over every option hypothesis draws (cell, sizes,
layers, directions, bias, projection, batch_first, unbatched and packed input, lengths, initial
state, dropout in training mode), the outputs and every gradient must equal the reference's to
float64 round-off.
"""

import contextlib
import threading
from unittest import mock

import numpy as np
import pytest
from conftest import (
    CELL_KINDS,
    FORMS,
    KINDS,
    MODULE_KINDS,
    assert_close,
    assert_grad_close,
    assert_same,
    configs,
    is_lstm,
    make_cell_twins,
    make_module_twins,
    random_array,
    random_state,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from test_backward import draw_case, lib_backward, lib_input, state_parts
from test_reference import MODES, STEPS, padded_output_grad, reference_case
from threadpoolctl import threadpool_limits

import rnnlib
from rnnlib import concurrency, reference

F64 = np.float64


@contextlib.contextmanager
def parts_at_once(enabled=True):
    """Two BLAS threads, and no threshold on a step's size: a module then runs the directions of
    a bidirectional layer, or the layers of a one-direction stack (the wavefront), at once
    (rnnlib.concurrency), whatever the test's shapes. The Makefile's one thread runs them one
    after the other."""
    if not enabled:
        yield
        return
    with threadpool_limits(2, user_api="blas"), \
            mock.patch.object(concurrency, "DIRECTIONS_MIN_WORK", 0), \
            mock.patch.object(concurrency, "WAVEFRONT_MIN_WORK", 0):
        assert concurrency.blas_threads() == 2, "BLAS did not take the thread limit"
        yield


def to_caller_form(cfg, padded):
    """A time-major padded (L, N, ·) array in the form the module returns for ``cfg``."""
    if cfg.form == "unbatched":
        return padded[:, 0]
    return padded.swapaxes(0, 1) if cfg.batch_first else padded


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data(), train=st.booleans(), at_once=st.booleans())
@settings(max_examples=settings.default.max_examples // 2)
def test_module_equals_the_reference_forward_and_backward(kind, form, data, train, at_once):
    """Training mode draws dropout masks; the reference draws the same ones from the module's
    generator state, for every form whose rows are the padded batch's (not packed). With
    ``at_once``, the module runs its independent parts at once (see :func:`parts_at_once`)."""
    cfg = data.draw(configs(kinds=(kind,), forms=(form,), dtypes=(F64,)), label="cfg")
    _, m = make_module_twins(cfg.kind, cfg.input_size, cfg.hidden_size, seed=cfg.seed,
                             **cfg.module_kwargs)
    train = train and not cfg.packed
    m.train(train)
    case = draw_case(cfg, np.random.default_rng(cfg.seed ^ 0xFA57))
    params, what = m.state_dict(), f"{cfg!r}, train={train}"
    start = m.generator.bit_generator.state

    def generator():
        """The module's generator as it was before the forward call, or None to evaluate."""
        if not train:
            return None
        rng = np.random.default_rng()
        rng.bit_generator.state = start
        return rng

    with parts_at_once(at_once):
        out, h_n = m(lib_input(cfg, case.x), case.state)
    x, hx, lengths = reference_case(cfg, case)
    options = dict(num_layers=cfg.num_layers, bidirectional=cfg.bidirectional, lengths=lengths,
                   dropout=cfg.dropout)
    y, h_n_ref = reference.rnn(MODES[cfg.kind], x, hx, params, rng=generator(), **options)
    if cfg.packed:
        out, _ = rnnlib.pad_packed_sequence(out, batch_first=cfg.batch_first,
                                            total_length=cfg.seq_len)
    assert_close(out, to_caller_form(cfg, y), what=f"output of {what}")
    for a, e in zip(state_parts(cfg.kind, h_n), state_parts(cfg.kind, h_n_ref), strict=True):
        if e is not None:
            assert_close(a, e[:, 0] if cfg.form == "unbatched" else e, what=f"h_n of {what}")

    m.zero_grad()
    m.generator.bit_generator.state = start  # the same masks in lib_backward's forward
    with parts_at_once(at_once):
        grad_x, grad_state, _ = lib_backward(m, cfg, case)
    dhx = case.g_state
    if cfg.form == "unbatched":
        dhx = reference.each(lambda s: s[:, None], dhx)
    dx, dh0, grads = reference.rnn_backward(MODES[cfg.kind], x, hx, params,
                                            padded_output_grad(cfg, case), dhx,
                                            rng=generator(), **options)
    assert_grad_close(grad_x, to_caller_form(cfg, dx), f"dx of {what}")
    for a, e in zip(grad_state, state_parts(cfg.kind, dh0), strict=True):
        if e is not None:
            assert_grad_close(a, e[:, 0] if cfg.form == "unbatched" else e, f"dh0 of {what}")
    assert list(m.grads) == list(grads), what
    for name, e in grads.items():
        assert_grad_close(m.grads[name], e, f"d{name} of {what}")


@given(kind=st.sampled_from(sorted(CELL_KINDS)), input_size=st.integers(1, 5),
       hidden_size=st.integers(1, 5), batch=st.integers(1, 4), bias=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_cell_module_equals_the_reference_step(kind, input_size, hidden_size, batch, bias, seed):
    _, m = make_cell_twins(kind, input_size, hidden_size, seed=seed, bias=bias)
    rng = np.random.default_rng(seed)
    x = random_array(rng, (batch, input_size), F64)
    hx = random_state(rng, kind, None, batch, hidden_size, F64)
    dhx = random_state(rng, kind, None, batch, hidden_size, F64)
    step, w, what = STEPS[kind], m.state_dict(), f"{kind} cell, seed={seed}"
    for a, e in zip(state_parts(kind, m(x, hx)), state_parts(kind, step(x, hx, w)),
                    strict=True):
        if e is not None:
            assert_close(a, e, what=f"forward of {what}")
    grad_x, grad_state = m.backward(dhx)
    dx, dh, grads = reference.BACKWARD[step](x, hx, w, dhx)
    assert_grad_close(grad_x, dx, f"dx of {what}")
    for a, e in zip(grad_state if is_lstm(kind) else (grad_state,),
                    dh if is_lstm(kind) else (dh,), strict=True):
        assert_grad_close(a, e, f"d(state) of {what}")
    for name, e in grads.items():
        assert_grad_close(m.grads[name], e, f"d{name} of {what}")


@given(shape=st.lists(st.integers(1, 3), min_size=0, max_size=2), in_features=st.integers(1, 5),
       out_features=st.integers(1, 5), bias=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_linear_module_equals_the_reference(shape, in_features, out_features, bias, seed):
    m = rnnlib.Linear(in_features, out_features, bias=bias, dtype=F64, seed=seed)
    rng = np.random.default_rng(seed)
    x = random_array(rng, (*shape, in_features), F64)
    dy = random_array(rng, (*shape, out_features), F64)
    w = m.state_dict()
    assert_close(m(x), reference.linear(x, w), what="Linear forward")
    dx, grads = reference.linear_backward(x, w, dy)
    assert_grad_close(m.backward(dy), dx, "Linear dx")
    for name, e in grads.items():
        assert_grad_close(m.grads[name], e, f"Linear d{name}")


STACKS = {"bidirectional": dict(num_layers=2, bidirectional=True),
          "wavefront": dict(num_layers=3, dropout=0.5)}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("kind, extra", [(kind, {}) for kind in MODULE_KINDS]
                         + [("lstm", {"proj_size": 2})], ids=[*MODULE_KINDS, "lstm_proj"])
@pytest.mark.parametrize("packed", [False, True])
def test_parts_at_once_compute_what_one_after_the_other_does(stack, kind, extra, packed):
    """Run at once (:func:`parts_at_once`: the directions of a bidirectional stack, or the
    layers of a one-direction stack as a wavefront, in training mode so that dropout masks sit
    between them), outputs, states and every gradient must equal the run with one BLAS thread,
    where the parts run one after the other: bit for bit for the directions, whose products
    are the same calls; to float64 round-off for the wavefront, whose input products and input
    gradients are made a chunk of steps at a time."""
    lengths = [6, 4, 4, 1]
    x = np.random.default_rng(7).standard_normal((6, 4, 3))  # (L, N, H_in)
    runs, threads = [], []
    real = rnnlib.recurrence.forward

    def forward(*args, **kwargs):  # records which thread ran each layer-direction
        threads.append(threading.current_thread() is not threading.main_thread())
        return real(*args, **kwargs)

    for at_once in (False, True):
        threads.clear()
        _, m = make_module_twins(kind, 3, 5, seed=3, **STACKS[stack], **extra)
        m.train(stack == "wavefront")
        width = m.num_directions * (m.proj_size or m.hidden_size)
        dy = np.random.default_rng(8).standard_normal((6, 4, width))
        dy *= (np.arange(6)[:, None] < np.array(lengths))[..., None]  # none at padded steps
        with parts_at_once(at_once), mock.patch.object(rnnlib.recurrence, "forward", forward):
            inputs = rnnlib.pack_padded_sequence(x, lengths) if packed else x
            output, state = m(inputs)
            grad = rnnlib.pack_padded_sequence(dy, lengths) if packed else dy
            grad_input, grad_state = m.backward(grad)
        assert any(threads) == at_once, f"{stack}: layer-directions on a worker thread: " \
            f"{threads}, expected {'some' if at_once else 'none'}"
        states = [a for v in (state, grad_state) for a in (v if isinstance(v, tuple) else (v,))]
        runs.append([output.data if packed else output, grad_input.data if packed else grad_input,
                     *states, *m.grads.values()])
    for index, (one, two) in enumerate(zip(*runs, strict=True)):
        what = f"{stack} {kind}, packed={packed}, result {index}: at once (actual) against one " \
               "after the other"
        if stack == "bidirectional":
            assert_same(two, one, what=what)
        else:
            assert_grad_close(two, one, what)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("failing", [0, 1, 2])
def test_a_failing_layer_of_a_wavefront_raises_its_error_and_stops_the_others(failing):
    """A layer that raises must not leave the layers that wait for it waiting forever."""
    m = rnnlib.GRU(3, 5, num_layers=3, dtype=np.float64, seed=0)
    real = rnnlib.recurrence.forward

    def forward(*args, **kwargs):  # args[5]: the layer's parameters
        if args[5]["weight_ih"] is m._params[f"weight_ih_l{failing}"]:
            raise MemoryError(f"layer {failing} fails")
        return real(*args, **kwargs)

    with parts_at_once(), mock.patch.object(rnnlib.recurrence, "forward", forward), \
            pytest.raises(MemoryError, match=f"layer {failing} fails"):
        m(np.zeros((6, 2, 3)))
    with parts_at_once():
        out, _ = m(np.zeros((6, 2, 3)))  # and the next call works
    assert out.shape == (6, 2, 5)
