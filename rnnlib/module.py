"""The base of every rnnlib module: parameters by torch's names, their gradients, training mode."""

import numpy as np

from .checks import float_dtype
from .parameters import initialise


class Module:
    """Holds named parameters (NumPy arrays), their accumulated gradients, and a training flag.

    Parameters are read as attributes (``m.weight_ih_l0``) or with :meth:`state_dict`; the
    generator that initialised them (``m.generator``, from ``seed``) later draws dropout masks.
    """

    def __init__(self, shapes, hidden_size, dtype, seed):
        self.dtype = float_dtype(dtype)
        self.generator = np.random.default_rng(seed)
        self._params = initialise(shapes, hidden_size, self.dtype, self.generator)
        self.training = True
        self._tape = None
        self._differentiated = False  # whether backward consumed the latest forward's tape
        self.zero_grad()

    def __getattr__(self, name):
        params = self.__dict__.get("_params", {})
        if name in params:
            return params[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def named_parameters(self):
        """(name, array) pairs of the live parameters, in torch's order; optimizers update these."""
        return self._params.items()

    def state_dict(self):
        """A copy of every parameter, under torch's keys and in torch's order."""
        return {name: value.copy() for name, value in self._params.items()}

    def load_state_dict(self, state_dict):
        """Copy parameters in by torch's keys; values may be NumPy arrays or CPU tensors.

        Values are cast to the module's dtype. Missing, unexpected or mis-shaped keys are refused.
        """
        missing = [name for name in self._params if name not in state_dict]
        unexpected = [name for name in state_dict if name not in self._params]
        if missing or unexpected:
            raise ValueError(f"Error loading state_dict into {type(self).__name__}: "
                             f"missing keys {missing}, unexpected keys {unexpected}")
        values = {name: np.asarray(state_dict[name]) for name in self._params}
        for name, value in values.items():
            if value.shape != self._params[name].shape:
                raise ValueError(f"Size mismatch for {name}: expected shape "
                                 f"{self._params[name].shape}, got {value.shape}")
            if value.dtype.kind not in "fiu":
                raise TypeError(f"{name} must hold numbers, got dtype {value.dtype}")
        for name, value in values.items():
            self._params[name][...] = value  # in place, like torch: references stay valid

    def zero_grad(self):
        """Reset every gradient in ``grads`` to zeros."""
        self.grads = {name: np.zeros_like(value) for name, value in self._params.items()}

    def train(self, mode=True):
        """Set training mode (dropout on) or, with ``mode=False``, evaluation mode."""
        self.training = mode
        return self

    def eval(self):
        """Set evaluation mode: no dropout."""
        return self.train(False)

    def _accumulate(self, grads, suffix=""):
        """Add one layer-direction's parameter gradients into ``grads``."""
        for name, grad in grads.items():
            self.grads[name + suffix] += grad

    def _recorded(self):
        """The latest forward pass's tape; backward consumes it once it has checked its input."""
        if self._tape is None:
            who = f"{type(self).__name__}.backward()"
            if self._differentiated:
                raise RuntimeError(
                    f"{who} was already called for the latest forward call: backward() consumes "
                    "what forward() recorded, so call forward() again before differentiating "
                    "again (torch's error: Trying to backward through the graph a second time)")
            raise RuntimeError(f"{who} needs a forward call first: it differentiates the latest "
                               "forward call")
        return self._tape

    def _consume(self):
        """Drop the tape once backward has used it: each forward call is differentiated once."""
        self._tape = None
        self._differentiated = True


def as_modules(modules, who):
    """``modules`` (one Module, or a list or tuple of them) as a tuple of Modules.

    Optimizers and clipping act on every parameter of every module given, as torch's act on
    ``list(lstm.parameters()) + list(linear.parameters())``.
    """
    if isinstance(modules, Module):
        return (modules,)
    found = tuple(modules) if isinstance(modules, (list, tuple)) else ()
    if not found or not all(isinstance(m, Module) for m in found):
        raise TypeError(f"{who} expects an rnnlib module or a non-empty list or tuple of rnnlib "
                        f"modules (whose parameters it updates), got {modules!r}")
    if len({id(m) for m in found}) != len(found):
        raise ValueError(f"{who} got the same module more than once in {modules!r}; each would "
                         "be updated (or clipped) once per appearance")
    return found
