"""skattn: scikit-learn estimators built on attention + MLP networks."""

from ._classifier import AttentionMLPClassifier
from ._extractor import AttentionFeatureExtractor
from ._inputs import TwoInputs
from ._regressor import AttentionMLPRegressor

__all__ = [
    "AttentionFeatureExtractor",
    "AttentionMLPClassifier",
    "AttentionMLPRegressor",
    "TwoInputs",
]

__version__ = "0.1.0"
