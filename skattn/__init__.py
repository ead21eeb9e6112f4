"""skattn: scikit-learn estimators built on attention + MLP networks."""

from ._classifier import AttentionMLPClassifier
from ._export import SKOPS_TRUSTED_TYPES, load_model, save_model
from ._extractor import AttentionFeatureExtractor
from ._inputs import TwoInputs
from ._onnx import export_onnx
from ._regressor import AttentionMLPRegressor
from ._search import search_space

__all__ = [
    "SKOPS_TRUSTED_TYPES",
    "AttentionFeatureExtractor",
    "AttentionMLPClassifier",
    "AttentionMLPRegressor",
    "TwoInputs",
    "export_onnx",
    "load_model",
    "save_model",
    "search_space",
]

__version__ = "0.1.0"
