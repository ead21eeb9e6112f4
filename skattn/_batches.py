# TEMPORARY SHIM until network-split merges.
from ._engine import TensorDataset

__all__ = ["TensorDataset"]
