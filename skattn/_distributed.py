# TEMPORARY SHIM until network-split merges.
from ._engine import broadcast_seeds, check_same_data, join_process_group

__all__ = ["broadcast_seeds", "check_same_data", "join_process_group"]
