"""rnnlib: torch.nn's recurrent modules written from scratch in NumPy, forward and backward."""

__version__ = "3.0.0"  # the book's edition (CHANGELOG.md); pyproject.toml reads it from here

from . import init, reference, testing  # initialisers, the readable implementation, checks
from .attention import AdditiveAttention, DotAttention
from .cellmodules import GRUCell, LSTMCell, RNNCell
from .clip import clip_grad_norm_
from .embedding import Embedding
from .embedding_dropout import EmbeddingDropout
from .gradcheck import gradcheck
from .layers import GRU, LSTM, RNN
from .linear import Linear
from .locked_dropout import LockedDropout
from .loss import cross_entropy, log_softmax
from .lstm_loop import LSTMLoop
from .optim import SGD, Adam
from .packing import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
)
from .state import InitialState
from .weight_drop import WeightDrop

__all__ = [
    "InitialState",
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    "PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence",
    "pad_sequence", "SGD", "Adam", "clip_grad_norm_", "gradcheck", "reference",
    "testing", "init",
    "Linear", "cross_entropy", "log_softmax",
    "Embedding",
    "DotAttention", "AdditiveAttention",
    "LockedDropout", "LSTMLoop", "WeightDrop", "EmbeddingDropout",
]
