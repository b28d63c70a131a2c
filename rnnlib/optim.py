"""SGD (with momentum) and Adam, which update modules' parameters from their ``grads``."""

import numpy as np

from .module import as_modules


class Optimizer:
    """What SGD and Adam share: the modules they update, and their gradients' reset."""

    def __init__(self, modules):
        self.modules = as_modules(modules, type(self).__name__)

    def zero_grad(self):
        """Reset the gradients of every module."""
        for module in self.modules:
            module.zero_grad()

    def _parameters(self):
        """((module index, name), parameter, gradient) for every parameter of every module."""
        for i, module in enumerate(self.modules):
            for name, p in module.named_parameters():
                yield (i, name), p, module.grads[name]


class SGD(Optimizer):
    """Stochastic gradient descent with torch.optim.SGD's semantics.

    For each parameter p with gradient g::

        g = g + weight_decay * p
        b = g (first step), else momentum * b + (1 - dampening) * g
        g = g + momentum * b if nesterov else b            (when momentum != 0)
        p = p - lr * g

    Args:
        modules: one module, or a list of modules trained together (``[lstm, linear]``).

    Example:
        >>> opt = SGD([lstm, linear], lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); ...forward, loss, backward of both...; opt.step()
    """

    def __init__(self, modules, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"lr, momentum and weight_decay must be >= 0, got lr={lr}, "
                             f"momentum={momentum}, weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"Nesterov momentum requires momentum > 0 and dampening = 0, got "
                             f"momentum={momentum}, dampening={dampening}")
        super().__init__(modules)
        self.lr, self.momentum = lr, momentum
        self.dampening, self.weight_decay, self.nesterov = dampening, weight_decay, nesterov
        self.buffers = {}

    def step(self):
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
        modules: one module, or a list of modules trained together (``[lstm, linear]``).
    """

    def __init__(self, modules, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False):
        if lr < 0 or eps < 0 or weight_decay < 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Expected lr, eps, weight_decay >= 0 and betas in [0, 1), got "
                             f"lr={lr}, eps={eps}, weight_decay={weight_decay}, betas={betas}")
        super().__init__(modules)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.amsgrad = weight_decay, amsgrad
        self.t = 0
        self.moments = {}

    def step(self):
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
