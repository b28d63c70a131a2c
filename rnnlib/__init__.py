"""rnnlib: torch.nn's recurrent modules written from scratch in NumPy, forward and backward."""

from . import init, reference, testing  # initialisers, the readable implementation, checks
from .cellmodules import GRUCell, LSTMCell, RNNCell
from .clip import clip_grad_norm_
from .embedding import Embedding
from .gradcheck import gradcheck
from .layers import GRU, LSTM, RNN
from .linear import Linear
from .loss import cross_entropy, log_softmax
from .optim import SGD, Adam
from .packing import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
)
from .state import InitialState

__all__ = [
    "InitialState",
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    "PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence",
    "pad_sequence", "SGD", "Adam", "clip_grad_norm_", "gradcheck", "reference",
    "testing", "init",
    "Linear", "cross_entropy", "log_softmax",
    "Embedding",
]
