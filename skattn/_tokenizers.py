# TEMPORARY SHIM until network-split merges.
from typing import Any

from ._network import FeatureTokenizer as _FeatureTokenizer
from ._network import InputTokens, SequenceTokenizer, sinusoidal_positions

__all__ = ["InputTokens", "SequenceTokenizer", "sinusoidal_positions"]


def FeatureTokenizer(*, numerical_embedding: Any = None, **kwargs: Any) -> Any:
    return _FeatureTokenizer(**kwargs)
