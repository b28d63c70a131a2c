"""Finite-difference check of a module's hand-written gradients."""

from __future__ import annotations

import numpy as np

from .layers import RNNBase
from .module import Module
from .packing import PackedSequence


def _arrays(tree):
    """The arrays in an output: an array, a PackedSequence's data, or a tuple of those."""
    if isinstance(tree, PackedSequence):
        return [tree.data]
    if isinstance(tree, tuple):
        return [a for item in tree for a in _arrays(item)]
    return [tree]


def gradcheck(module: Module, input: np.ndarray | PackedSequence,
              hx: np.ndarray | tuple[np.ndarray, np.ndarray] | None = None, eps: float = 1e-6,
              seed: int = 0) -> float:
    """Compare ``module.backward`` with central differences of a random linear loss.

    The loss is ``sum(w * y)`` over every output y (the sequence output and the final states),
    with fixed random weights w. Each element of the input, of the initial state (when given)
    and of every parameter is nudged by ±eps. Dropout masks are held fixed by replaying the
    module's generator before every forward call, so training mode can be checked too.

    Args:
        module: a float64 rnnlib module.
        input: its forward input (a NumPy array, or a PackedSequence); an Embedding's integer
            indices are not nudged.
        hx: its initial state, or None to leave it out of the call. Default: None
        eps: the step of the central differences. Default: 1e-6
        seed: seeds the loss weights w. Default: 0

    Returns:
        The largest relative error ``abs(analytic - numeric) / max(1, abs(numeric))``.

    Example:
        >>> from rnnlib import GRU, testing
        >>> gru = GRU(2, 3, dtype=np.float64, seed=0)
        >>> bool(gradcheck(gru, np.ones((4, 1, 2))) < testing.FINITE_DIFFERENCE.atol)
        True
    """
    if module.dtype != np.float64:
        raise TypeError(f"gradcheck needs a float64 module, got {module.dtype}")
    start = module.generator.bit_generator.state
    rng = np.random.default_rng(seed)

    def run():
        module.generator.bit_generator.state = start
        return module(input) if hx is None else module(input, hx)

    weights = [rng.normal(size=a.shape) for a in _arrays(run())]

    def loss():
        return sum(float(np.sum(w * a)) for w, a in zip(weights, _arrays(run()), strict=True))

    structured = _restructure(run(), weights)
    module.zero_grad()
    grads = (module.backward(*structured) if isinstance(module, RNNBase)
             else module.backward(structured))
    grad_input, grad_state = grads if isinstance(grads, tuple) else (grads, None)
    checks = [(p, module.grads[name].copy()) for name, p in module.named_parameters()]
    if grad_input is not None:  # None for integer inputs (an Embedding's indices)
        checks += list(zip(_arrays(input), _arrays(grad_input), strict=True))
    if hx is not None:
        checks += list(zip(_arrays(hx), _arrays(grad_state), strict=True))
    worst = 0.0
    for value, analytic in checks:
        for index in np.ndindex(value.shape):
            saved = value[index]
            value[index] = saved + eps
            up = loss()
            value[index] = saved - eps
            down = loss()
            value[index] = saved
            numeric = (up - down) / (2 * eps)
            worst = max(worst, abs(analytic[index] - numeric) / max(1.0, abs(numeric)))
    return worst


def _restructure(output, weights):
    """The loss weights shaped like the module's outputs, to hand to ``backward``."""
    flat = iter(weights)

    def rebuild(tree):
        if isinstance(tree, tuple) and not isinstance(tree, PackedSequence):
            return tuple(rebuild(item) for item in tree)
        return next(flat)

    return rebuild(output)
