# TEMPORARY SHIM until network-split merges.
from ._network import ACTIVATIONS

__all__ = ["ACTIVATIONS"]
