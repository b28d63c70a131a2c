"""SGD (with momentum) and Adam, which update modules' parameters from their ``grads``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .module import Module, as_modules, distinct_parameters


class Optimizer:
    """What SGD and Adam share: the modules they update, and their gradients' reset."""

    def __init__(self, modules: Module | Sequence[Module]):
        self.modules = as_modules(modules, type(self).__name__)

    def zero_grad(self) -> None:
        """Reset the gradients of every module."""
        for module in self.modules:
            module.zero_grad()

    def _parameters(self):
        """((module index, name), parameter, gradient) for every parameter of every module; a
        parameter shared by modules (tied weights) once, with the sum of their gradients."""
        return distinct_parameters(self.modules)


class SGD(Optimizer):
    """Stochastic gradient descent with torch.optim.SGD's semantics.

    For each parameter p with gradient g::

        g = g + weight_decay * p
        b = g (first step), else momentum * b + (1 - dampening) * g
        g = g + momentum * b if nesterov else b            (when momentum != 0)
        p = p - lr * g

    Args:
        modules: one module, or a list of modules trained together (``[lstm, linear]``), where
            torch takes their parameters (``list(lstm.parameters()) + ...``).
        lr: the learning rate.
        momentum: the momentum factor. Default: 0.0
        dampening: the dampening of the momentum. Default: 0.0
        weight_decay: the L2 penalty's factor. Default: 0.0
        nesterov: whether to use Nesterov momentum. Default: False

    Example:
        >>> from rnnlib import LSTM, Linear
        >>> lstm, linear = LSTM(3, 4, seed=0), Linear(4, 1, seed=0)
        >>> opt = SGD([lstm, linear], lr=0.1, momentum=0.9)
        >>> output, _ = lstm(np.ones((5, 2, 3), np.float32))  # (L, N, H)
        >>> y = linear(output[-1])  # (N, 1); the loss is mean(y ** 2)
        >>> opt.zero_grad()
        >>> grad_output = np.zeros_like(output)
        >>> grad_output[-1] = linear.backward(2 * y / y.size)
        >>> _ = lstm.backward(grad_output)
        >>> before = linear.weight.copy()
        >>> opt.step()  # both modules' parameters move against their gradients
        >>> bool(np.all(linear.weight != before))
        True
    """

    def __init__(self, modules: Module | Sequence[Module], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"lr, momentum and weight_decay must be >= 0, got lr={lr}, "
                             f"momentum={momentum}, weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"Nesterov momentum requires momentum > 0 and dampening = 0, got "
                             f"momentum={momentum}, dampening={dampening}")
        super().__init__(modules)
        self.lr, self.momentum = lr, momentum
        self.dampening, self.weight_decay, self.nesterov = dampening, weight_decay, nesterov
        self.buffers: dict[tuple[int, str], np.ndarray] = {}

    def step(self) -> None:
        """Update every parameter in place."""
        for key, p, grad in self._parameters():
            g = grad + self.weight_decay * p
            if self.momentum:
                b = self.buffers.get(key)
                b = g.copy() if b is None else self.momentum * b + (1 - self.dampening) * g
                self.buffers[key] = b
                g = g + self.momentum * b if self.nesterov else b
            p -= self.lr * g


class Adam(Optimizer):
    """Adam with torch.optim.Adam's semantics (bias-corrected moments; optional AMSGrad).

    For each parameter p with gradient g, at step t::

        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
        v_max = max(v_max, v) with amsgrad, else v_max = v
        p = p - lr / (1 - beta1^t) * m / (sqrt(v_max) / sqrt(1 - beta2^t) + eps)

    Args:
        modules: one module, or a list of modules trained together (``[lstm, linear]``), where
            torch takes their parameters (``list(lstm.parameters()) + ...``).
        lr: the learning rate. Default: 1e-3
        betas: the decay rates of the moments m and v. Default: (0.9, 0.999)
        eps: added to the denominator, for numerical stability. Default: 1e-8
        weight_decay: the L2 penalty's factor. Default: 0.0
        amsgrad: whether to use the AMSGrad variant (the largest v so far). Default: False

    Example:
        >>> from rnnlib import GRU
        >>> gru = GRU(2, 3, seed=0)
        >>> opt = Adam(gru, lr=0.01)
        >>> output, h_n = gru(np.ones((4, 1, 2), np.float32))
        >>> _ = gru.backward(np.ones_like(output))  # the loss is sum(output)
        >>> before = gru.weight_hh_l0.copy()
        >>> opt.step()  # the first step moves each weight with a gradient by about lr
        >>> round(float(np.abs(gru.weight_hh_l0 - before).max()), 6)
        0.01
    """

    def __init__(self, modules: Module | Sequence[Module], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        if lr < 0 or eps < 0 or weight_decay < 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Expected lr, eps, weight_decay >= 0 and betas in [0, 1), got "
                             f"lr={lr}, eps={eps}, weight_decay={weight_decay}, betas={betas}")
        super().__init__(modules)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.amsgrad = weight_decay, amsgrad
        self.t = 0
        self.moments: dict[tuple[int, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def step(self) -> None:
        """Update every parameter in place."""
        self.t += 1
        beta1, beta2 = self.betas
        for key, p, grad in self._parameters():
            g = grad + self.weight_decay * p
            m, v, v_max = self.moments.get(key, (np.zeros_like(p),) * 3)
            m = m + (1 - beta1) * (g - m)  # torch's lerp form of beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            v_max = np.maximum(v_max, v) if self.amsgrad else v
            self.moments[key] = (m, v, v_max)
            denom = np.sqrt(v_max) / np.sqrt(1 - beta2**self.t) + self.eps
            p -= self.lr / (1 - beta1**self.t) * m / denom
